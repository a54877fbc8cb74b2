// Output formats for embeddings: JSON, NDJSON, and .npy (NumPy's array format, float32, row-major).
import type { EmbeddingMatrix } from '../engine/embedder.js';

export type EmbedFormat = 'json' | 'ndjson' | 'npy';

/** A complete .npy (format 1.0) file holding the matrix as little-endian float32. */
export function toNpy(m: EmbeddingMatrix): Buffer {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${m.rows}, ${m.dim}), }`;
  // Magic (6) + version (2) + header length (2) + header, padded with spaces to a multiple of 64, ending in \n.
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header.padEnd(total - 10 - 1, ' ') + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  const data = Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), data]);
}

export function formatEmbeddings(texts: string[], m: EmbeddingMatrix, format: EmbedFormat, model: string): Buffer {
  const row = (i: number) => Array.from(m.data.subarray(i * m.dim, (i + 1) * m.dim));
  switch (format) {
    case 'npy':
      return toNpy(m);
    case 'ndjson':
      return Buffer.from(texts.map((text, i) => JSON.stringify({ index: i, text, embedding: row(i) })).join('\n') + '\n');
    case 'json':
      return Buffer.from(JSON.stringify({ model, dim: m.dim, embeddings: texts.map((_, i) => row(i)) }) + '\n');
  }
}
