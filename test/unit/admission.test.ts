// Admission: work refused at once when the queue ahead would finish it past its deadline or past the queue bound,
// the speed measured from finished batches (busy time only), and bulk turns in arrival order (a driven clock); then
// the same through a real Embedder and SimilarityService.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { Admission } from '../../src/engine/admission.js';
import { Embedder } from '../../src/engine/embedder.js';
import { SimilarityService } from '../../src/service/service.js';
import { makeTinyModelDir } from '../fixtures/tiny-bert.js';
import { ThroughputMeter } from '../../src/engine/throughput-meter.js';
import { OverloadedError } from '../../src/util/errors.js';

function clocked(options: { maxQueueTokens?: number; bulkLimit?: number } = {}) {
  let t = 0;
  const admission = new Admission({ maxQueueTokens: options.maxQueueTokens ?? 0, bulkLimit: options.bulkLimit ?? 1, now: () => t });
  const take = (tokens: number, deadlineMs?: number) => admission.take(tokens, deadlineMs);
  return { admission, take, advance: (ms: number) => (t += ms) };
}

/** Runs `tokens` through at `perMs` tokens a millisecond in batches of `batch`, so the speed gets measured. */
function measure(c: ReturnType<typeof clocked>, tokens: number, perMs: number, batch = 500) {
  const ticket = c.take(tokens);
  ticket.settle(tokens, true);
  for (let done = 0; done < tokens; done += batch) {
    c.advance(batch / perMs);
    ticket.done(batch);
  }
  ticket.release();
}

const refusal = (fn: () => unknown): OverloadedError => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(OverloadedError);
    return err as OverloadedError;
  }
  throw new Error('expected an OverloadedError');
};

describe('ThroughputMeter', () => {
  test('tokens per busy millisecond; idle time does not count; unknown before any busy time', () => {
    const m = new ThroughputMeter();
    expect(m.rate).toBeUndefined();
    m.busy(0);
    m.record(1000, 100);
    m.record(1000, 200);
    expect(m.rate).toBeCloseTo(10, 1);
    m.idle(200);
    m.busy(60_000); // a minute idle
    m.record(1000, 60_100);
    expect(m.rate).toBeCloseTo(10, 1);
  });

  test('follows a slowdown within a few time constants', () => {
    const m = new ThroughputMeter();
    m.busy(0);
    let t = 0;
    for (let i = 0; i < 100; i++) m.record(100, (t += 10)); // 10 tokens/ms
    for (let i = 0; i < 300; i++) m.record(100, (t += 100)); // 1 token/ms for 30 s
    expect(m.rate!).toBeGreaterThan(0.9);
    expect(m.rate!).toBeLessThan(1.3);
  });
});

describe('Admission', () => {
  test('an idle queue takes any call, deadline or not', () => {
    const c = clocked();
    expect(() => c.take(1_000_000, 1)).not.toThrow();
  });

  test('refuses a call the queue ahead would finish past its deadline, with the wait until it fits', () => {
    const c = clocked();
    measure(c, 10_000, 10); // 10 tokens/ms
    expect(c.admission.stats().tokensPerSecond).toBeCloseTo(10_000, -2);
    c.take(50_000, 30_000); // queued: 5 s of work
    expect(c.admission.stats().predictedWaitMs).toBeCloseTo(5_000, -2);
    // 5 s + 5 s fits 30 s × 0.5 (half the deadline is kept for a model that slows down) …
    expect(() => c.take(50_000, 30_000)).not.toThrow();
    // … 10 s + 10 s does not, and the wait is the excess: 20 s − 15 s.
    const err = refusal(() => c.take(100_000, 30_000));
    expect(err.code).toBe('ERR_OVERLOADED');
    expect(err.retryAfterMs).toBeGreaterThan(4_500);
    expect(err.retryAfterMs).toBeLessThan(5_500);
    expect(err.message).toMatch(/deadline.*retry in 5 s/);
    expect(c.admission.stats().refused).toBe(1);
    // A shorter deadline is refused earlier; no deadline is never refused for time.
    refusal(() => c.take(1_000, 5_000));
    expect(() => c.take(1_000_000)).not.toThrow();
  });

  test('queries alone ahead never refuse a call with a deadline for time, however big; a second one is held to it', () => {
    const c = clocked({ bulkLimit: 2 });
    measure(c, 10_000, 10); // 10 tokens/ms
    c.take(500).settle(500, false); // queries in the queue, as 8 query callers keep it
    // 200 k tokens: 20 s alone, past half of 30 s, yet nothing with a deadline is ahead of it: taken.
    expect(() => c.take(200_000, 30_000)).not.toThrow();
    expect(refusal(() => c.take(1_000, 30_000)).message).toMatch(/work queued ahead \(200500 tokens/);
  });

  test('time with queries alone does not count against the bulk speed; time beside bulk work does', () => {
    const c = clocked();
    measure(c, 10_000, 10);
    const query = c.take(50);
    query.settle(50, false);
    for (let i = 0; i < 100; i++) {
      c.advance(100); // 10 s of queries, nothing else running
      query.done(1);
    }
    query.release();
    expect(c.admission.stats().tokensPerSecond).toBeCloseTo(10_000, -2);
    // Queries that take half the time beside a bulk call halve what bulk work gets.
    const bulk = c.take(20_000);
    bulk.settle(20_000, true);
    for (let i = 0; i < 40; i++) {
      c.advance(100);
      bulk.done(500);
    }
    bulk.release();
    expect(c.admission.stats().tokensPerSecond).toBeLessThan(7_000);
  });

  test("refusals in a row are told to come back one call's time apart, so retries do not arrive together", () => {
    const c = clocked({ bulkLimit: 2 });
    measure(c, 10_000, 10); // 10 tokens/ms
    c.take(150_000, 30_000); // 15 s queued: nothing more fits half of 30 s
    const waits = [0, 1, 2, 3].map(() => refusal(() => c.take(20_000, 30_000)).retryAfterMs);
    // 2 s past the half deadline, then each one more call's time (2 s) over the 2 calls that progress at once.
    expect(waits[0]).toBeCloseTo(2_000, -2);
    for (let i = 1; i < waits.length; i++) expect(waits[i] - waits[i - 1]).toBeCloseTo(1_000, -2);
    // The spread never goes past the deadline itself.
    for (let i = 0; i < 100; i++) refusal(() => c.take(20_000, 30_000));
    expect(refusal(() => c.take(20_000, 30_000)).retryAfterMs).toBe(2_000 + 30_000);
  });

  test('the queue bound refuses past maxQueueTokens; finished work makes room again', () => {
    const c = clocked({ maxQueueTokens: 10_000 });
    const first = c.take(8_000);
    const err = refusal(() => c.take(4_000));
    expect(err.message).toMatch(/maxQueueTokens/);
    c.advance(100);
    first.done(5_000);
    expect(c.admission.stats().queuedTokens).toBe(3_000);
    expect(() => c.take(4_000)).not.toThrow();
  });

  test('an estimate settles to the exact tokens; queries (not bulk) take time but do not count as speed', () => {
    const c = clocked();
    expect(c.admission.estimate(['a'.repeat(400), 'short'], 128)).toBe(102 + 4);
    c.admission.learn(1_000, 500); // this tokenizer: a token every 2 characters
    expect(c.admission.estimate(['a'.repeat(400)], 128)).toBeGreaterThan(102);
    const t = c.take(1_000);
    t.settle(600, false);
    expect(c.admission.stats().queuedTokens).toBe(600);
    for (let i = 0; i < 6; i++) {
      c.advance(100);
      t.done(100);
    }
    t.release();
    expect(c.admission.stats()).toMatchObject({ queuedTokens: 0, tokensPerSecond: undefined });
  });

  test('release returns what was not reported done (an aborted call), once', () => {
    const c = clocked();
    const t = c.take(5_000);
    t.done(2_000);
    t.release();
    t.release();
    t.done(1_000);
    expect(c.admission.stats().queuedTokens).toBe(0);
  });

  test('unmeasured: calls with a deadline are taken only while they can all progress, counted from take()', () => {
    const c = clocked({ bulkLimit: 2 });
    c.take(1_000, 30_000);
    const second = c.take(1_000, 30_000); // neither has its bulk turn yet (still tokenising)
    const err = refusal(() => c.take(1_000, 30_000));
    expect(err.retryAfterMs).toBe(1_000);
    expect(() => c.take(1_000), 'no deadline: not refused for time').not.toThrow();
    second.release();
    second.release(); // twice counts once
    expect(() => c.take(1_000, 30_000)).not.toThrow();
    refusal(() => c.take(1_000, 30_000));
  });

  test('bulk turns: at most bulkLimit at once, the rest in arrival order; an abort leaves the line', async () => {
    const c = clocked({ bulkLimit: 2 });
    const order: string[] = [];
    const a = await c.admission.enterBulk();
    const b = await c.admission.enterBulk();
    const abort = new AbortController();
    const waiting = ['c', 'd', 'e'].map((name) =>
      c.admission.enterBulk(name === 'd' ? abort.signal : undefined).then(
        (leave) => {
          order.push(name);
          return leave;
        },
        (err: Error) => {
          order.push(`${name}: ${err.name}`);
          return () => {};
        },
      ),
    );
    abort.abort();
    await Promise.resolve();
    a();
    b();
    const leaves = await Promise.all(waiting);
    expect(order).toEqual(['d: AbortError', 'c', 'e']);
    leaves.forEach((leave) => leave());
    // Every turn was handed back: two can enter at once again.
    await c.admission.enterBulk();
    await c.admission.enterBulk();
  });
});

describe('admission through the Embedder and the service', () => {
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fe-admission-'));
  const modelPath = makeTinyModelDir({ hidden: 16 });
  const texts = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `${tag} text number ${i} about queues and deadlines`);
  afterAll(() => fs.rmSync(cacheDir, { recursive: true, force: true }));

  test('Embedder: past maxQueueTokens a call is refused at once with OverloadedError; the first is served whole', async () => {
    const e = await Embedder.create({ modelPath, cacheDir, maxQueueTokens: 300 });
    try {
      const first = e.embed(texts(40, 'first'));
      const second = e.embed(texts(40, 'second'));
      await expect(second).rejects.toMatchObject({ name: 'OverloadedError', code: 'ERR_OVERLOADED' });
      const err = (await second.catch((x: unknown) => x)) as OverloadedError;
      expect(err.retryAfterMs).toBeGreaterThanOrEqual(100);
      expect(err.message).toMatch(/maxQueueTokens.*retry in \d+ s/);
      expect(await first).toHaveLength(40);
      expect(e.load).toMatchObject({ queuedTokens: 0, refused: 1 });
      expect(await e.embed(texts(40, 'third'))).toHaveLength(40); // room again
      await expect(e.embed(['x'], { deadlineMs: -1 })).rejects.toThrow(/deadlineMs must be a positive number/);
    } finally {
      await e.close();
    }
  });

  test('SimilarityService: a refusal is an OverloadedError, not the fallback, and health stays healthy', async () => {
    const service = await SimilarityService.create({ modelPath, cacheDir, fallback: true, maxQueueTokens: 300, enableCache: false });
    try {
      const first = service.computeBatchEmbeddings(texts(80, 'first'));
      const second = service.computeBatchEmbeddings(texts(80, 'second'));
      await expect(second).rejects.toMatchObject({ name: 'OverloadedError' });
      expect(await first).toHaveLength(80);
      const stats = service.getStats();
      expect(stats).toMatchObject({ status: 'healthy', fallbackCount: 0, errors: 0 });
      expect(stats.queue).toMatchObject({ queuedTokens: 0, refused: 1 });
      await expect(service.computeBatchEmbeddings(['a'], { timeoutMs: 0 })).rejects.toThrow(/timeoutMs must be a positive number/);
    } finally {
      await service.close();
    }
  });
});
