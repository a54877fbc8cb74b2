import { expect, test } from 'vitest';
import { binding } from '../../src/runtime/binding.js';

const { floatsJson } = binding();

function randomFloats(n: number, seed = 3): Float32Array {
  let s = seed;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5);
  // Values across magnitudes, as normalised embeddings and other outputs have them (tiny ones print with exponents).
  return Float32Array.from({ length: n }, (_, i) => next() * 10 ** ((i % 12) - 9));
}

test('every value reads back as the same float32, in fewer characters than the JavaScript join', () => {
  const v = randomFloats(3840);
  v.set([0, -0, 1, -1, 0.1, 1e-7, 3.4028234663852886e38, 1.401298464324817e-45], 0);
  const json = floatsJson(v);
  const back = Float32Array.from(JSON.parse(json) as number[]);
  expect(Buffer.from(back.buffer).equals(Buffer.from(v.buffer))).toBe(true);
  expect(json.length).toBeLessThan(`[${Array.prototype.join.call(v, ',')}]`.length * 0.7);
  expect(floatsJson(Float32Array.of(0.1, 0.25, -2))).toBe('[0.1,0.25,-2]');
});

test('with dim, rows of dim values; empty input; non-finite values become null', () => {
  const v = randomFloats(12);
  const rows = JSON.parse(floatsJson(v, 4)) as number[][];
  expect(rows).toHaveLength(3);
  expect(rows.map((r) => Array.from(Float32Array.from(r)))).toEqual([0, 1, 2].map((i) => Array.from(v.subarray(i * 4, i * 4 + 4))));
  expect(floatsJson(new Float32Array(0))).toBe('[]');
  expect(floatsJson(new Float32Array(0), 384)).toBe('[]');
  expect(floatsJson(Float32Array.of(Number.NaN, Number.POSITIVE_INFINITY, 1))).toBe('[null,null,1]');
  // A view reads only its own window of the buffer.
  expect(floatsJson(Float32Array.of(9, 0.5, 9).subarray(1, 2))).toBe('[0.5]');
});

test('bad input is a TypeError or RangeError that says what was expected', () => {
  expect(() => floatsJson([1, 2] as unknown as Float32Array)).toThrow(TypeError);
  expect(() => floatsJson(new Float64Array(2) as unknown as Float32Array)).toThrow(/must be a Float32Array/);
  expect(() => floatsJson(new Float32Array(10), 3)).toThrow(RangeError);
  expect(() => floatsJson(new Float32Array(10), 0)).toThrow(/positive integer dividing the array's length 10/);
});
