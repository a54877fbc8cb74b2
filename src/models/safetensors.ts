// Reads a .safetensors file (8-byte little-endian header length, JSON header, raw little-endian tensors): the format
// sentence-transformers and Hugging Face checkpoints ship their weights in.
import fs from 'node:fs';
import { FastembedError } from '../util/errors.js';

export interface Tensor {
  shape: number[];
  data: Float32Array;
}

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** Every float32 tensor of the file, by name (other dtypes, such as int64 position ids, are skipped). */
export function readSafetensors(file: string): Map<string, Tensor> {
  const buf = fs.readFileSync(file);
  const bad = (why: string) =>
    new FastembedError(`${file} is not a valid safetensors file (${why}); re-copy it from the checkpoint`, 'ERR_MODEL_FILES');
  if (buf.length < 8) throw bad('shorter than its header');
  const headerLength = Number(buf.readBigUInt64LE(0));
  if (headerLength > buf.length - 8) throw bad('header runs past the end');
  let header: Record<string, HeaderEntry | Record<string, string>>;
  try {
    header = JSON.parse(buf.subarray(8, 8 + headerLength).toString('utf8'));
  } catch {
    throw bad('header is not JSON');
  }
  const base = 8 + headerLength;
  const out = new Map<string, Tensor>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const { dtype, shape, data_offsets: [start, end] } = entry as HeaderEntry;
    if (dtype !== 'F32') continue;
    const count = shape.reduce((a, b) => a * b, 1);
    if (end - start !== count * 4 || base + end > buf.length) throw bad(`tensor ${name} has the wrong size`);
    // Copy: the payload is not 4-byte aligned in general, and callers keep the tensor after the file buffer goes.
    const data = new Float32Array(count);
    Buffer.from(data.buffer).set(buf.subarray(base + start, base + end));
    out.set(name, { shape, data });
  }
  return out;
}
