// Length-sorted batches cut by a token budget, padded only to their own longest text.
import type { TokenizedText } from '../runtime/tokenizer.js';

export interface Batch {
  /** Indices into the tokenized list, in batch row order. */
  rows: number[];
  seqLen: number;
  inputIds: Int32Array;
  attentionMask: Int32Array;
}

export interface BatchPlanOptions {
  /** Most texts per batch. */
  batchSize: number;
  /** Most padded tokens (rows × seqLen) per batch. */
  tokenBudget: number;
}

/** Groups texts of similar length so little compute is spent on padding. */
export function planBatches(tokenized: ReadonlyArray<Pick<TokenizedText, 'length'>>, options: BatchPlanOptions): number[][] {
  const order = tokenized.map((_, i) => i).sort((a, b) => tokenized[a].length - tokenized[b].length);
  const batches: number[][] = [];
  let current: number[] = [];
  for (const index of order) {
    // Sorted ascending: the newest text is the longest, so it sets the padded length.
    const padded = (current.length + 1) * tokenized[index].length;
    if (current.length > 0 && (current.length >= options.batchSize || padded > options.tokenBudget)) {
      batches.push(current);
      current = [];
    }
    current.push(index);
  }
  if (current.length > 0) batches.push(current);
  // Longest first: the slowest batches start early, so concurrent sessions finish together.
  return batches.reverse();
}

/**
 * Takes the next batch off `pending` (planned batches, longest first). With `grow`, the batches after it are merged
 * in while the result stays within the options: a call alone on the model runs fewer, larger batches, while a
 * shared one runs them as planned (small) so whoever waits is not held up long.
 */
export function takeBatch(
  pending: number[][],
  tokenized: ReadonlyArray<Pick<TokenizedText, 'length'>>,
  options: BatchPlanOptions,
  grow: boolean,
): number[] | undefined {
  const rows = pending.shift();
  if (!rows || !grow) return rows;
  // Longest first: what follows is no longer, so the first batch's longest text sets the padded length.
  let seqLen = 1;
  for (const r of rows) seqLen = Math.max(seqLen, tokenized[r].length);
  while (pending.length > 0 && rows.length + pending[0].length <= options.batchSize && (rows.length + pending[0].length) * seqLen <= options.tokenBudget) {
    rows.push(...pending.shift()!);
  }
  return rows;
}

/** Builds the padded id and mask tensors of one batch. */
export function buildBatch(tokenized: TokenizedText[], rows: number[]): Batch {
  let seqLen = 1;
  for (const r of rows) seqLen = Math.max(seqLen, tokenized[r].length);
  const inputIds = new Int32Array(rows.length * seqLen);
  const attentionMask = new Int32Array(rows.length * seqLen);
  rows.forEach((r, i) => {
    const ids = tokenized[r].ids;
    inputIds.set(ids, i * seqLen);
    attentionMask.fill(1, i * seqLen, i * seqLen + ids.length);
  });
  return { rows, seqLen, inputIds, attentionMask };
}
