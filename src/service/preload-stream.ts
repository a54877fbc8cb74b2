// preload() of a corpus too large to hold as one array: the texts are read from an (async) iterable in chunks, and
// the next chunk is read while the previous one embeds, so at most two chunks are held apart from the cache itself.
import { assertPositiveInteger } from '../util/arguments.js';
import { abortError, invalidArgument } from '../util/errors.js';
import type { CallOptions } from './service-types.js';

export interface PreloadOptions extends CallOptions {
  /** Texts per embedding call when `texts` is an iterable (default 1024); `timeoutMs` applies to each such call. */
  chunkSize?: number;
  /** Called after each chunk is cached, with the number of texts preloaded so far. */
  onProgress?: (done: number) => void;
}

export function isTextStream(value: unknown): value is Iterable<unknown> | AsyncIterable<unknown> {
  if (value === null || typeof value !== 'object') return false;
  const v = value as Partial<Iterable<unknown> & AsyncIterable<unknown>>;
  return typeof v[Symbol.asyncIterator] === 'function' || typeof v[Symbol.iterator] === 'function';
}

/** Feeds `source` to `embed` chunk by chunk and returns the number of texts it read. */
export async function preloadStream(
  source: Iterable<unknown> | AsyncIterable<unknown>,
  embed: (texts: string[]) => Promise<unknown>,
  { chunkSize = 1024, signal, onProgress }: PreloadOptions,
): Promise<number> {
  assertPositiveInteger(chunkSize, 'chunkSize');
  if (onProgress !== undefined && typeof onProgress !== 'function') throw invalidArgument('type', 'onProgress must be a function');
  let read = 0;
  let done = 0;
  let chunk: string[] = [];
  let previous: Promise<void> = Promise.resolve();
  const flush = async () => {
    await previous; // one chunk embeds while the next is read; a failure surfaces here, before more is read
    if (signal?.aborted) throw abortError(signal);
    const texts = chunk;
    chunk = [];
    previous = embed(texts).then(() => {
      done += texts.length;
      onProgress?.(done);
    });
    previous.catch(() => {}); // awaited by the next flush or at the end
  };
  for await (const text of source) {
    if (typeof text !== 'string') {
      await previous.catch(() => {});
      throw invalidArgument('type', `texts item ${read} must be a string, got ${text === null ? 'null' : typeof text}`);
    }
    chunk.push(text);
    read++;
    if (chunk.length === chunkSize) await flush();
  }
  if (chunk.length > 0) await flush();
  await previous;
  return read;
}
