import { expect, test } from 'vitest';
import { MicroBatcher } from '../../src/engine/micro-batcher.js';

/** An embed function whose calls finish when the test says so; records each call's texts. */
function controlledEmbed() {
  const calls: Array<{ texts: string[]; deadlineMs?: number; finish: () => void }> = [];
  const embed = (texts: string[], _signal?: AbortSignal, deadlineMs?: number) =>
    new Promise<Float32Array[]>((resolve) => calls.push({ texts, deadlineMs, finish: () => resolve(texts.map((t) => Float32Array.of(t.length))) }));
  return { calls, embed };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('while the model is busy, texts gather and go as one batch the moment the running one finishes', async () => {
  const { calls, embed } = controlledEmbed();
  const batcher = new MicroBatcher(embed, { windowMs: 2, maxTexts: 64, concurrency: 1 });
  const first = batcher.embed('a');
  await sleep(20);
  expect(calls.map((c) => c.texts)).toEqual([['a']]); // flushed after the window
  const later = ['bb', 'ccc', 'dddd'].map((t) => batcher.embed(t));
  await sleep(30); // far past the window: still one call, the model is busy
  expect(calls).toHaveLength(1);
  calls[0].finish();
  expect((await first)[0]).toBe(1);
  await sleep(0);
  expect(calls.map((c) => c.texts)).toEqual([['a'], ['bb', 'ccc', 'dddd']]);
  calls[1].finish();
  expect((await Promise.all(later)).map((v) => v[0])).toEqual([2, 3, 4]);
  expect(batcher.stats()).toEqual({ batches: 2, requests: 4 });
});

test('with free sessions, a text goes after the window without waiting for running batches; a full batch goes at once', async () => {
  const { calls, embed } = controlledEmbed();
  const batcher = new MicroBatcher(embed, { windowMs: 2, maxTexts: 3, concurrency: 2 });
  const a = batcher.embed('a');
  await sleep(20);
  const b = batcher.embed('b');
  await sleep(20);
  expect(calls.map((c) => c.texts)).toEqual([['a'], ['b']]); // two sessions: both run
  const full = ['x', 'y', 'z'].map((t) => batcher.embed(t)); // both busy, but three texts fill a batch
  expect(calls.map((c) => c.texts)).toEqual([['a'], ['b'], ['x', 'y', 'z']]);
  for (const c of calls) c.finish();
  await Promise.all([a, b, ...full]);
});

test('window 0 (the default): an idle model takes the texts of one event-loop turn at once, without a timer', async () => {
  const { calls, embed } = controlledEmbed();
  const batcher = new MicroBatcher(embed, { windowMs: 0, maxTexts: 64, concurrency: 1 });
  const together = ['a', 'bb', 'ccc'].map((t) => batcher.embed(t)); // one turn: one batch
  expect(calls).toHaveLength(0);
  await new Promise((r) => setImmediate(r));
  expect(calls.map((c) => c.texts)).toEqual([['a', 'bb', 'ccc']]);
  const next = batcher.embed('dddd'); // the model is busy: it waits for the running batch, however long
  await sleep(20);
  expect(calls).toHaveLength(1);
  calls[0].finish();
  await Promise.all(together);
  await sleep(0);
  expect(calls.map((c) => c.texts)).toEqual([['a', 'bb', 'ccc'], ['dddd']]);
  calls[1].finish();
  expect((await next)[0]).toBe(4);
  batcher.embed('e');
  batcher.flush(); // an explicit flush cancels the scheduled one: one batch, not an empty second
  await new Promise((r) => setImmediate(r));
  expect(calls.map((c) => c.texts).slice(2)).toEqual([['e']]);
  expect(batcher.stats()).toEqual({ batches: 3, requests: 5 });
});

test('a request that fills a batch by itself, in texts or in characters, is a call of its own with its deadline', async () => {
  const { calls, embed } = controlledEmbed();
  const batcher = new MicroBatcher(embed, { windowMs: 0, maxTexts: 4, maxChars: 10, concurrency: 1 });
  const query = batcher.embed('q');
  const long = batcher.embedMany(['aaaaa', 'bbbbb'], undefined, 500); // 10 characters: a batch of work
  const many = batcher.embedMany(['1', '2', '3', '4'], undefined, 700); // 4 texts: a full batch
  const small = batcher.embedMany(['cc', 'ddd'], undefined, 900); // joins the query's micro-batch, no deadline
  expect(calls.map((c) => [c.texts, c.deadlineMs])).toEqual([
    [['aaaaa', 'bbbbb'], 500],
    [['1', '2', '3', '4'], 700],
  ]);
  expect([batcher.ownCall(['aaaaa', 'bbbb']), batcher.ownCall(['aaaaa', 'bbbbb']), batcher.ownCall(['x', 'x', 'x', 'x'])]).toEqual([false, true, true]);
  await new Promise((r) => setImmediate(r));
  expect(calls.map((c) => [c.texts, c.deadlineMs]).slice(2)).toEqual([[['q', 'cc', 'ddd'], undefined]]);
  for (const c of calls) c.finish();
  expect((await Promise.all([query, long, many, small])).map((v) => (Array.isArray(v) ? v.map((x) => x[0]) : v[0]))).toEqual([1, [5, 5], [1, 1, 1, 1], [2, 3]]);
});
