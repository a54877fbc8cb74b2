// BatchScheduler: runs one call's tokenised texts through the native session pool in token-budget batches, taking
// turns with other calls (FairSlots), growing batches while the call is alone on the model, cancelling the running
// batch on abort, and writing each batch's vectors into the call's output rows.
import type { NativeModel } from '../runtime/binding.js';
import type { TokenizedText } from '../runtime/tokenizer.js';
import { abortError, ClosedError } from '../util/errors.js';
import { buildBatch, planBatches, takeBatch, type BatchPlanOptions } from './batching.js';
import type { EmbedOptions } from './embedder-options.js';
import { FairSlots, type Lane } from './fair-slots.js';

export class BatchScheduler {
  readonly #native: NativeModel;
  readonly #slots: FairSlots;
  readonly #full: BatchPlanOptions;
  readonly #dim: number;
  readonly #isClosed: () => boolean;

  constructor(native: NativeModel, dim: number, full: BatchPlanOptions, isClosed: () => boolean) {
    this.#native = native;
    this.#dim = dim;
    this.#full = full;
    this.#isClosed = isClosed;
    this.#slots = new FairSlots(native.info().poolSize);
  }

  /** Embeds `tokenized` into `out` (row i at i × dim). */
  async run(tokenized: TokenizedText[], out: Float32Array, signal: AbortSignal | undefined, onProgress: EmbedOptions['onProgress']): Promise<void> {
    // Planned at a quarter of the budget; a call alone on the model merges them back to the full budget as it goes.
    const full = this.#full;
    const pending = planBatches(tokenized, { ...full, tokenBudget: Math.max(1, full.tokenBudget >> 2) });
    const turns = pending.length;
    const dim = this.#dim;
    let done = 0;
    let failure: unknown;
    const lane: Lane = [];
    // An abort also stops the batch ONNX Runtime is running for this call (RunOptions terminate), not only the
    // batches still waiting.
    const token = signal ? this.#native.cancelToken() : undefined;
    const onAbort = () => this.#native.cancel(token!);
    signal?.addEventListener('abort', onAbort, { once: true });
    const runOne = async (): Promise<void> => {
      // At most poolSize batches are handed to native code at once (more would only park libuv threads that
      // tokenisation and file I/O also need), taken in turn with other calls' batches.
      await this.#slots.acquire(lane);
      try {
        if (failure !== undefined) return;
        if (signal?.aborted) throw abortError(signal);
        if (this.#isClosed()) throw new ClosedError('Embedder');
        const rows = takeBatch(pending, tokenized, full, !this.#slots.shared(lane));
        if (!rows) return; // merged into an earlier turn's batch
        const batch = buildBatch(tokenized, rows);
        const result = await this.#native.run(batch.inputIds, batch.attentionMask, null, [rows.length, batch.seqLen], token);
        rows.forEach((r, i) => out.set(result.subarray(i * dim, (i + 1) * dim), r * dim));
        done += rows.length;
        onProgress?.(done, tokenized.length);
      } catch (err) {
        failure ??= signal?.aborted ? abortError(signal) : err;
      } finally {
        this.#slots.release();
      }
    };
    try {
      await Promise.all(Array.from({ length: turns }, runOne));
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    if (failure !== undefined) throw failure;
  }
}
