import { describe, expect, test } from 'vitest';
import { buildBatch, planBatches, takeBatch } from '../../src/engine/batching.js';

const lengths = (ls: number[]) => ls.map((length) => ({ length }));

describe('planBatches', () => {
  test('length-sorted batches within the budget and batch size, longest first, every text once', () => {
    const texts = lengths([5, 40, 3, 12, 12, 7, 30, 2, 9, 21]);
    const plan = planBatches(texts, { batchSize: 3, tokenBudget: 40 });
    expect(plan.flat().sort((a, b) => a - b)).toEqual(texts.map((_, i) => i));
    for (const rows of plan) {
      expect(rows.length).toBeLessThanOrEqual(3);
      const seq = Math.max(...rows.map((r) => texts[r].length));
      if (rows.length > 1) expect(rows.length * seq).toBeLessThanOrEqual(40);
    }
    const longest = plan.map((rows) => Math.max(...rows.map((r) => texts[r].length)));
    expect(longest).toEqual([...longest].sort((a, b) => b - a));
  });

  test('a text longer than the budget is a batch of its own', () => {
    expect(planBatches(lengths([100, 4]), { batchSize: 8, tokenBudget: 16 })).toEqual([[0], [1]]);
  });
});

describe('takeBatch', () => {
  const texts = lengths([8, 8, 8, 8, 6, 6, 4, 4]);
  const small = () => planBatches(texts, { batchSize: 8, tokenBudget: 16 });

  test('without grow, the planned batches come out as planned', () => {
    const pending = small();
    const planned = pending.map((b) => [...b]);
    const out: number[][] = [];
    for (let b = takeBatch(pending, texts, { batchSize: 8, tokenBudget: 64 }, false); b; b = takeBatch(pending, texts, { batchSize: 8, tokenBudget: 64 }, false)) out.push(b);
    expect(out).toEqual(planned);
  });

  test('with grow, following batches merge while the padded size stays within the budget', () => {
    const pending = small();
    const first = takeBatch(pending, texts, { batchSize: 8, tokenBudget: 40 }, true)!;
    // Padded to 8 tokens: at most 5 rows fit 40, and only whole planned batches are merged.
    expect(first.length * 8).toBeLessThanOrEqual(40);
    expect(first.length).toBeGreaterThan(2);
    const rest: number[] = [];
    for (let b = takeBatch(pending, texts, { batchSize: 8, tokenBudget: 40 }, true); b; b = takeBatch(pending, texts, { batchSize: 8, tokenBudget: 40 }, true)) rest.push(...b);
    expect([...first, ...rest].sort((a, b) => a - b)).toEqual(texts.map((_, i) => i));
  });

  test('with grow, the batch size still caps a merged batch', () => {
    const pending = small();
    expect(takeBatch(pending, texts, { batchSize: 2, tokenBudget: 1000 }, true)!.length).toBeLessThanOrEqual(2);
  });

  test('an empty plan gives undefined', () => {
    expect(takeBatch([], texts, { batchSize: 8, tokenBudget: 64 }, true)).toBeUndefined();
  });
});

test('buildBatch pads each row to the batch\'s longest text with a matching mask', () => {
  const b = buildBatch(
    [
      { ids: [1, 2, 3], length: 3, truncated: false },
      { ids: [4], length: 1, truncated: false },
    ],
    [1, 0],
  );
  expect(b.seqLen).toBe(3);
  expect(Array.from(b.inputIds)).toEqual([4, 0, 0, 1, 2, 3]);
  expect(Array.from(b.attentionMask)).toEqual([1, 0, 0, 1, 1, 1]);
});
