// Output formats for embeddings: JSON, NDJSON, and .npy (NumPy's array format, float32, row-major).
import type { EmbeddingMatrix } from '../engine/embedder.js';

export type EmbedFormat = 'json' | 'ndjson' | 'npy';

/**
 * The .npy (format 1.0) header of a rows × dim little-endian float32 array: magic (6) + version (2) + header length
 * (2) + a dict padded with spaces to `total` bytes (default the next multiple of 64), ending in \n. A fixed `total`
 * lets a streaming writer rewrite the row count in place as rows are added.
 */
export function npyHeader(rows: number, dim: number, total?: number): Buffer {
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${dim}), }`;
  const size = total ?? Math.ceil((10 + dict.length + 1) / 64) * 64;
  if (10 + dict.length + 1 > size) throw new RangeError(`a .npy header for shape (${rows}, ${dim}) does not fit in ${size} bytes`);
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(size - 10, 8);
  return Buffer.concat([head, Buffer.from(dict.padEnd(size - 10 - 1, ' ') + '\n', 'latin1')]);
}

/** A complete .npy (format 1.0) file holding the matrix as little-endian float32. */
export function toNpy(m: EmbeddingMatrix): Buffer {
  return Buffer.concat([npyHeader(m.rows, m.dim), Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength)]);
}

/** One NDJSON line: the record's index (and id, when it has one), its text and its vector. */
export function ndjsonRow(index: number, id: string | number | undefined, text: string, vector: Float32Array): string {
  const head = id === undefined ? { index } : { index, id };
  return `${JSON.stringify({ ...head, text, embedding: Array.from(vector) })}\n`;
}

export function formatEmbeddings(texts: string[], m: EmbeddingMatrix, format: EmbedFormat, model: string): Buffer {
  const row = (i: number) => Array.from(m.data.subarray(i * m.dim, (i + 1) * m.dim));
  switch (format) {
    case 'npy':
      return toNpy(m);
    case 'ndjson':
      return Buffer.from(texts.map((text, i) => ndjsonRow(i, undefined, text, m.data.subarray(i * m.dim, (i + 1) * m.dim))).join(''));
    case 'json':
      return Buffer.from(JSON.stringify({ model, dim: m.dim, embeddings: texts.map((_, i) => row(i)) }) + '\n');
  }
}
