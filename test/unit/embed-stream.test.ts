// embedStream: order across concurrent chunks, the bound on records in flight (counted, not timed), ids, abort, a
// failing source, early exit and bad arguments, on a real (tiny, random-weight) model.
import { Readable } from 'node:stream';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Embedder } from '../../src/engine/embedder.js';
import { embedStream, type EmbedStreamChunk, type EmbedStreamInput } from '../../src/engine/embed-stream.js';
import { ClosedError } from '../../src/util/errors.js';
import { sentences } from '../fixtures/shared.js';
import { makeTinyModelDir } from '../fixtures/tiny-bert.js';

let embedder: Embedder;
// Real sentences with repeats (dedup inside a chunk) and a few empty strings.
const texts = [...sentences(60), ...sentences(20), '', 'x', ''].map((t, i) => (i % 17 === 0 ? `${t} ${i}` : t));

beforeAll(async () => {
  embedder = await Embedder.create({ modelPath: makeTinyModelDir({ hidden: 16 }), poolSize: 2, threads: 1 });
});
afterAll(() => embedder.close());

async function collect(stream: AsyncIterable<EmbedStreamChunk>): Promise<EmbedStreamChunk[]> {
  const out: EmbedStreamChunk[] = [];
  for await (const chunk of stream) out.push(chunk);
  return out;
}

function expectClose(a: Float32Array, b: Float32Array): void {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  expect(worst).toBeLessThan(1e-5);
}

describe('embedStream', () => {
  test('yields every text once, in input order, with the vectors embed() gives', async () => {
    const expected = await embedder.embed(texts);
    const chunks = await collect(embedder.embedStream(texts, { chunkSize: 7, maxInFlight: 21 }));
    expect(chunks.map((c) => c.startIndex)).toEqual(Array.from({ length: Math.ceil(texts.length / 7) }, (_, i) => i * 7));
    expect(chunks.flatMap((c) => c.texts)).toEqual(texts);
    const vectors = chunks.flatMap((c) => c.vectors);
    expect(vectors).toHaveLength(texts.length);
    vectors.forEach((v, i) => expectClose(v, expected[i]));
    for (const c of chunks) {
      expect(c.ids).toBeUndefined();
      expect(c.data.length).toBe(c.rows * c.dim);
      expect(c.dim).toBe(16);
    }
  });

  test('reads at most maxInFlight records ahead of what it yielded, and does read ahead', async () => {
    let pulled = 0;
    function* counted(): Generator<string> {
      for (const t of [...texts, ...texts, ...texts]) {
        pulled++;
        yield t;
      }
    }
    let yielded = 0;
    let most = 0;
    const progress: number[] = [];
    for await (const chunk of embedStream(embedder, counted(), { chunkSize: 8, maxInFlight: 24, onProgress: (p) => progress.push(p.done) })) {
      yielded += chunk.rows;
      most = Math.max(most, pulled - yielded);
      expect(pulled - yielded).toBeLessThanOrEqual(24);
    }
    expect(yielded).toBe(3 * texts.length);
    // More than one chunk was read ahead, i.e. chunks really ran concurrently with the consumer.
    expect(most).toBeGreaterThan(8);
    expect(progress.at(-1)).toBe(3 * texts.length);
  });

  test('records from an object-mode Readable keep their ids; records without one get their index', async () => {
    const records: EmbedStreamInput[] = texts.slice(0, 20).map((text, i) => (i === 3 ? { text } : { id: `doc-${i}`, text }));
    const chunks = await collect(embedder.embedStream(Readable.from(records), { chunkSize: 6 }));
    expect(chunks.flatMap((c) => c.ids)).toEqual(records.map((_, i) => (i === 3 ? 3 : `doc-${i}`)));
    const withPrefix = await collect(embedder.embedStream(['a b'], { prefix: 'query: ' }));
    expectClose(withPrefix[0].vectors[0], (await embedder.embed(['query: a b']))[0]);
  });

  test('concurrency: at most that many chunks in embedMatrix at once (default 1), in input order', async () => {
    // The real embedder, its embedMatrix counted on the way through.
    let running = 0;
    let most = 0;
    const counted = new Proxy(embedder, {
      get(target, prop) {
        if (prop === 'embedMatrix') {
          return async (...args: Parameters<Embedder['embedMatrix']>) => {
            most = Math.max(most, ++running);
            try {
              return await target.embedMatrix(...args);
            } finally {
              running--;
            }
          };
        }
        const value = Reflect.get(target, prop, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const expected = await embedder.embed(texts);
    for (const concurrency of [undefined, 2, 3]) {
      most = 0;
      const chunks = await collect(embedStream(counted, texts, { chunkSize: 5, concurrency }));
      expect(most).toBe(concurrency ?? 1);
      chunks.flatMap((c) => c.vectors).forEach((v, i) => expectClose(v, expected[i]));
    }
  });

  test('the first chunks are small, so the first rows come early, then they grow to chunkSize', async () => {
    const many = Array.from({ length: 700 }, (_, i) => texts[i % texts.length]);
    const chunks = await collect(embedder.embedStream(many, { chunkSize: 200 }));
    expect(chunks.map((c) => c.rows)).toEqual([64, 128, 200, 200, 108]);
  });

  test('an empty source yields nothing', async () => {
    expect(await collect(embedder.embedStream([]))).toEqual([]);
    expect(await collect(embedder.embedStream(Readable.from([])))).toEqual([]);
  });

  test('abort mid-stream rejects with AbortError, closes the source, and the embedder goes on', async () => {
    let closed = false;
    async function* endless(): AsyncGenerator<string> {
      try {
        for (let i = 0; ; i++) yield texts[i % texts.length];
      } finally {
        closed = true;
      }
    }
    const controller = new AbortController();
    const stream = embedder.embedStream(endless(), { chunkSize: 5, signal: controller.signal });
    let seen = 0;
    await expect(
      (async () => {
        for await (const chunk of stream) {
          seen += chunk.rows;
          if (seen >= 10) controller.abort();
        }
      })(),
    ).rejects.toMatchObject({ name: 'AbortError' });
    expect(seen).toBe(10);
    expect(closed).toBe(true);
    expect(await embedder.embed(['still works'])).toHaveLength(1);
    // Already aborted: refused before anything is read.
    expect(() => embedder.embedStream(texts, { signal: controller.signal })).toThrow(/aborted/);
  });

  test('a consumer that stops early closes the source', async () => {
    let closed = false;
    function* source(): Generator<string> {
      try {
        for (let i = 0; i < 1000; i++) yield `text ${i}`;
      } finally {
        closed = true;
      }
    }
    for await (const chunk of embedder.embedStream(source(), { chunkSize: 4 })) {
      expect(chunk.startIndex).toBe(0);
      break;
    }
    expect(closed).toBe(true);
  });

  test('a source that throws: the chunks before it are yielded, then its error with the position', async () => {
    async function* failing(): AsyncGenerator<string> {
      for (let i = 0; i < 10; i++) yield `text ${i}`;
      throw new Error('disk gone');
    }
    const got: number[] = [];
    const err = await (async () => {
      try {
        for await (const chunk of embedder.embedStream(failing(), { chunkSize: 5 })) got.push(chunk.startIndex);
      } catch (e) {
        return e as Error;
      }
    })();
    expect(got).toEqual([0, 5]);
    expect(err?.message).toBe('embedStream: the source failed after 10 records: disk gone');
    expect((err?.cause as Error).message).toBe('disk gone');
  });

  test('a bad record is a TypeError naming its position, after the chunks before it', async () => {
    const got: number[] = [];
    const run = async () => {
      for await (const chunk of embedder.embedStream(['a', 'b', 'c', 42 as unknown as string], { chunkSize: 3 })) got.push(chunk.rows);
    };
    await expect(run()).rejects.toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG', message: 'source record 3 must be a string or a { id?, text: string } record, got number' });
    expect(got).toEqual([3]);
    const badId = async () => {
      for await (const _ of embedder.embedStream([{ id: {} as unknown as string, text: 'a' }])) void _;
    };
    await expect(badId()).rejects.toThrow(/source record 0 has an id of type object; ids are strings or numbers/);
    const bytes = async () => {
      for await (const _ of embedder.embedStream(Readable.from([Buffer.from('line\n')], { objectMode: false }) as AsyncIterable<string>)) void _;
    };
    await expect(bytes()).rejects.toThrow(/source record 0 must be a string .* got object \(bytes: read lines with node:readline, or use a Readable in object mode\)/);
  });

  test('invalid arguments throw at the call, naming the argument', async () => {
    expect(() => embedder.embedStream('a text' as unknown as string[])).toThrow(TypeError);
    expect(() => embedder.embedStream(42 as unknown as string[])).toThrow(/source must be an iterable or async iterable .* got number/);
    expect(() => embedder.embedStream({} as unknown as string[])).toThrow(/source must be an iterable/);
    expect(() => embedder.embedStream(texts, { chunkSize: 0 })).toThrow(RangeError);
    expect(() => embedder.embedStream(texts, { chunkSize: 0 })).toThrow('chunkSize must be a positive integer, got 0');
    expect(() => embedder.embedStream(texts, { chunkSize: 10, maxInFlight: 5 })).toThrow(/maxInFlight \(5\) must be at least chunkSize \(10\)/);
    expect(() => embedder.embedStream(texts, { prefix: 3 as unknown as string })).toThrow(/prefix must be a string, got number/);
    expect(() => embedder.embedStream(texts, { concurrency: 1.5 })).toThrow('concurrency must be a positive integer, got 1.5');
    const closedOne = await Embedder.create({ modelPath: makeTinyModelDir({ hidden: 8 }) });
    await closedOne.close();
    expect(() => closedOne.embedStream(texts)).toThrow(ClosedError);
  });
});

test('memory does not grow with the number of records read: nothing is kept per record once it is yielded', async () => {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const tiny = await Embedder.create({ modelPath: makeTinyModelDir({ hidden: 8 }), poolSize: 1, threads: 1 });
  const text = 'x'.repeat(2_000); // a long line per record makes anything kept per record show
  let read = 0;
  const heapAt: number[] = [];
  async function* source() {
    for (let i = 0; i < 30_000; i++) {
      if (i === 5_000 || i === 29_999) {
        gc();
        heapAt.push(process.memoryUsage().heapUsed);
      }
      read++;
      yield `${i} ${text}`;
    }
  }
  try {
    for await (const chunk of tiny.embedStream(source(), { chunkSize: 256 })) expect(chunk.rows).toBeGreaterThan(0);
  } finally {
    await tiny.close();
  }
  expect(read).toBe(30_000);
  // 25,000 records of 2 KB between the two measurements: kept, they would be ≥ 50 MB.
  expect(heapAt[1] - heapAt[0]).toBeLessThan(10 * 2 ** 20);
}, 120_000);

