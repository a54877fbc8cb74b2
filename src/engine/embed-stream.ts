// embedStream: a corpus of any length through Embedder.embed's path (token-budget batching, dedup, the session pool),
// chunk by chunk, results in input order, with a bounded number of texts in flight so memory does not grow with the
// corpus. A reader task pulls chunks from the source while earlier chunks embed; the consumer takes them in order.
import { assertPositiveInteger } from '../util/arguments.js';
import { untilAborted } from '../util/abort.js';
import { abortError, ClosedError, invalidArgument } from '../util/errors.js';
import type { Embedder } from './embedder.js';

/** One input: a text, or a record with its text and an optional id that travels with its vector. */
export type EmbedStreamInput = string | { id?: string | number; text: string };

export interface EmbedStreamProgress {
  /** Records yielded so far. */
  done: number;
  /** Records read from the source and not yielded yet (never more than maxInFlight). */
  inFlight: number;
  elapsedMs: number;
  /** Records yielded per second since the stream started. */
  rate: number;
}

export interface EmbedStreamOptions {
  /**
   * Most texts per embed() call (default 512 × poolSize): larger chunks sort and pad better, smaller ones answer
   * sooner. The first chunks are smaller (64, then doubling up to chunkSize), so the first rows come out early.
   */
  chunkSize?: number;
  /**
   * Most records read from the source and not yet yielded (default (concurrency + 1) × chunkSize: the next chunk is
   * read while the others embed). Rounded down to whole chunks; memory depends on it, not on the corpus.
   */
  maxInFlight?: number;
  /**
   * Chunks embedding at once (default 1: the next chunk is read while one embeds, and each chunk's batches fill the
   * whole session pool; more overlap chunk tails but share the model between calls, which cuts batches smaller).
   */
  concurrency?: number;
  /** Put before every text (e.g. embedder.passagePrefix or queryPrefix); default none, as embed(). */
  prefix?: string;
  /** Aborts: the stream rejects with an AbortError, running batches are cancelled and the source is closed. */
  signal?: AbortSignal;
  /** Called after each chunk is yielded. */
  onProgress?: (progress: EmbedStreamProgress) => void;
}

export interface EmbedStreamChunk {
  /** Position of the chunk's first record in the source (0-based). */
  startIndex: number;
  /** The records' texts, as read (without the prefix). */
  texts: string[];
  /** Each record's id, or its source index when it has none; absent when no record of the chunk had an id. */
  ids?: Array<string | number>;
  /** rows × dim, row-major: row i is record startIndex + i. */
  data: Float32Array;
  rows: number;
  dim: number;
  /** Row views on `data`. */
  vectors: Float32Array[];
}

type Pulled = { startIndex: number; texts: string[]; ids?: Array<string | number> };

const END = Symbol('end');

/**
 * Embeds every record of `source` (an array, a generator, an async iterable, a Node object-mode Readable) and yields
 * the vectors chunk by chunk in input order. At most `maxInFlight` records are read ahead of what was yielded.
 */
export function embedStream(
  embedder: Embedder,
  source: Iterable<EmbedStreamInput> | AsyncIterable<EmbedStreamInput>,
  options: EmbedStreamOptions = {}): AsyncGenerator<EmbedStreamChunk, void, undefined> {
  if (source === null || (typeof source !== 'object' && typeof source !== 'function') || typeof source === 'string') {
    throw invalidArgument('type', `source must be an iterable or async iterable of strings or { id, text } records, got ${source === null ? 'null' : typeof source}`);
  }
  const hasAsync = typeof (source as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function';
  if (!hasAsync && typeof (source as Iterable<unknown>)[Symbol.iterator] !== 'function') {
    throw invalidArgument('type', 'source must be an iterable or async iterable of strings or { id, text } records (an array, a generator, a Readable in object mode)');
  }
  if (options === null || typeof options !== 'object') throw invalidArgument('type', 'embedStream options must be an object');
  if (options.chunkSize !== undefined) assertPositiveInteger(options.chunkSize, 'chunkSize');
  const chunkSize = options.chunkSize ?? 512 * embedder.poolSize;
  if (options.maxInFlight !== undefined) {
    assertPositiveInteger(options.maxInFlight, 'maxInFlight');
    if (options.maxInFlight < chunkSize) throw invalidArgument('range', `maxInFlight (${options.maxInFlight}) must be at least chunkSize (${chunkSize}); raise it or lower chunkSize`);
  }
  if (options.concurrency !== undefined) assertPositiveInteger(options.concurrency, 'concurrency');
  const concurrency = options.concurrency ?? 1;
  const chunksInFlight = Math.floor((options.maxInFlight ?? (concurrency + 1) * chunkSize) / chunkSize);
  if (options.prefix !== undefined && typeof options.prefix !== 'string') throw invalidArgument('type', `prefix must be a string, got ${typeof options.prefix}`);
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') throw invalidArgument('type', 'onProgress must be a function');
  if (embedder.closed) throw new ClosedError('Embedder');
  if (options.signal?.aborted) throw abortError(options.signal);
  const iterator = hasAsync ? (source as AsyncIterable<EmbedStreamInput>)[Symbol.asyncIterator]() : (source as Iterable<EmbedStreamInput>)[Symbol.iterator]();
  return run(embedder, iterator, chunkSize, chunksInFlight, concurrency, options);
}

async function* run(
  embedder: Embedder,
  iterator: Iterator<EmbedStreamInput> | AsyncIterator<EmbedStreamInput>,
  chunkSize: number,
  chunksInFlight: number,
  concurrency: number,
  { prefix = '', signal, onProgress }: EmbedStreamOptions,
): AsyncGenerator<EmbedStreamChunk, void, undefined> {
  // One controller for everything this stream started: the caller's signal, an error or an early return abort it.
  const controller = new AbortController();
  const onAbort = () => controller.abort(signal!.reason);
  signal?.addEventListener('abort', onAbort, { once: true });

  // The ordered queue of chunks (each a promise of its vectors), and the reader's turn: it reads a chunk only while
  // fewer than chunksInFlight chunks are read and not yet taken by the consumer.
  const queue: Array<Promise<EmbedStreamChunk | typeof END>> = [];
  let free = chunksInFlight;
  let wakeReader: (() => void) | undefined;
  let wakeConsumer: (() => void) | undefined;
  const push = (p: Promise<EmbedStreamChunk | typeof END>) => {
    p.catch(() => {}); // awaited in order by the consumer; this only keeps a rejection from counting as unhandled
    queue.push(p);
    wakeConsumer?.();
  };
  let pulled = 0;
  let done = 0;
  let nextPending = false;
  const started = performance.now();

  // The first chunks are smaller (64, 128, … up to chunkSize), so the first rows come out soon.
  let size = Math.min(chunkSize, 64);
  const pullChunk = async (): Promise<Pulled | undefined> => {
    const startIndex = pulled;
    const texts: string[] = [];
    let ids: Array<string | number> | undefined;
    const want = size;
    size = Math.min(chunkSize, size * 2);
    while (texts.length < want) {
      let step: IteratorResult<EmbedStreamInput>;
      try {
        nextPending = true;
        const next = Promise.resolve(iterator.next());
        next.catch(() => {}); // if the abort wins, a later rejection of next() is nobody's to handle
        step = await untilAborted(next, controller.signal);
        nextPending = false;
      } catch (err) {
        if (controller.signal.aborted) return undefined;
        nextPending = false;
        throw new Error(`embedStream: the source failed after ${pulled} records: ${(err as Error)?.message ?? String(err)}`, { cause: err });
      }
      if (step.done) break;
      const item = step.value;
      const index = pulled++;
      if (typeof item === 'string') {
        texts.push(item);
        ids?.push(index);
      } else if (item !== null && typeof item === 'object' && typeof item.text === 'string') {
        const id = item.id;
        if (id !== undefined && typeof id !== 'string' && typeof id !== 'number') {
          throw invalidArgument('type', `source record ${index} has an id of type ${typeof id}; ids are strings or numbers`);
        }
        if (id !== undefined && ids === undefined) ids = Array.from({ length: texts.length }, (_, i) => startIndex + i);
        texts.push(item.text);
        ids?.push(id ?? index);
      } else {
        const hint = item instanceof Uint8Array ? ' (bytes: read lines with node:readline, or use a Readable in object mode)' : '';
        throw invalidArgument('type', `source record ${index} must be a string or a { id?, text: string } record, got ${item === null ? 'null' : typeof item}${hint}`);
      }
      if (controller.signal.aborted) return undefined;
    }
    return texts.length > 0 ? { startIndex, texts, ids } : undefined;
  };

  // At most `concurrency` chunks in embedMatrix at once; the others wait their turn in input order.
  let running = 0;
  const turns: Array<() => void> = [];
  const embedChunk = async ({ startIndex, texts, ids }: Pulled): Promise<EmbedStreamChunk> => {
    if (running >= concurrency) await new Promise<void>((resolve) => turns.push(resolve));
    running++;
    let matrix;
    try {
      const input = prefix ? texts.map((t) => prefix + t) : texts;
      matrix = await embedder.embedMatrix(input, { signal: controller.signal });
    } finally {
      running--;
      turns.shift()?.();
    }
    const { data, rows, dim } = matrix;
    const vectors = Array.from({ length: rows }, (_, i) => data.subarray(i * dim, (i + 1) * dim));
    return { startIndex, texts, ids, data, rows, dim, vectors };
  };

  const reader = (async () => {
    try {
      for (;;) {
        while (free === 0 && !controller.signal.aborted) await new Promise<void>((resolve) => (wakeReader = resolve));
        if (controller.signal.aborted) return;
        free--;
        const chunk = await pullChunk();
        if (controller.signal.aborted) return;
        if (chunk === undefined) break;
        push(embedChunk(chunk));
      }
      push(Promise.resolve(END));
    } catch (err) {
      push(Promise.reject(err));
    }
  })();

  try {
    for (;;) {
      while (queue.length === 0) {
        await untilAborted(new Promise<void>((resolve) => (wakeConsumer = resolve)), controller.signal);
      }
      const next = await untilAborted(queue.shift()!, controller.signal);
      // Both may have settled already (the reader saw the abort and ended): the abort wins.
      if (controller.signal.aborted) throw abortError(controller.signal);
      if (next === END) return;
      free++;
      wakeReader?.();
      done += next.rows;
      const elapsedMs = performance.now() - started;
      onProgress?.({ done, inFlight: pulled - done, elapsedMs, rate: elapsedMs > 0 ? (done * 1000) / elapsedMs : 0 });
      yield next;
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    // Stop the reader and every running chunk, wait for them (no batch left running, no promise left dangling), and
    // close the source (a Readable is destroyed by its iterator's return()).
    if (!controller.signal.aborted) controller.abort(new DOMException('embedStream ended', 'AbortError'));
    wakeReader?.();
    await reader;
    await Promise.allSettled(queue);
    // A source stuck in next() (a quiet stdin) can't finish a return() until it yields: close it without waiting.
    const closing = Promise.resolve(iterator.return?.()).catch(() => {});
    if (!nextPending) await closing;
  }
}
