// BatchScheduler: runs one call's tokenised texts through the native session pool in token-budget batches, taking
// turns with other calls (FairSlots), growing batches while the call is alone on the model, cancelling the running
// batch on abort, and writing each batch's vectors into the call's output rows. Each call is first admitted by its
// tokens and deadline (Admission), and bulk calls progress a few at a time.
import type { NativeModel } from '../runtime/binding.js';
import { nativeWork } from '../runtime/native-memory.js';
import type { TokenizedText } from '../runtime/tokenizer.js';
import { abortError, ClosedError } from '../util/errors.js';
import { buildBatch, planBatches, takeBatch, type BatchPlanOptions } from './batching.js';
import type { EmbedOptions } from './embedder-options.js';
import { Admission, type Ticket } from './admission.js';
import { FairSlots, type Lane } from './fair-slots.js';

export class BatchScheduler {
  readonly #native: NativeModel;
  readonly #slots: FairSlots;
  readonly #full: BatchPlanOptions;
  readonly #dim: number;
  readonly #isClosed: () => boolean;
  readonly admission: Admission;

  constructor(native: NativeModel, dim: number, full: BatchPlanOptions, isClosed: () => boolean, maxQueueTokens: number) {
    this.#native = native;
    this.#dim = dim;
    this.#full = full;
    this.#isClosed = isClosed;
    const poolSize = native.info().poolSize;
    this.#slots = new FairSlots(poolSize);
    this.admission = new Admission({ maxQueueTokens, bulkLimit: poolSize });
  }

  /**
   * Embeds `tokenized` into `out` (row i at i × dim) for the call holding `ticket` (Admission.take); its tokens
   * count in the admission queue until done. Releases the ticket.
   */
  async run(tokenized: TokenizedText[], out: Float32Array, ticket: Ticket, options: Pick<EmbedOptions, 'signal' | 'onProgress' | 'deadlineMs'>): Promise<void> {
    const { signal, onProgress } = options;
    const tokens = tokenized.reduce((sum, t) => sum + t.length, 0);
    const bulk = tokens > this.#full.tokenBudget || tokenized.length > this.#full.batchSize; // more than one full batch
    ticket.settle(tokens, bulk);
    let leaveBulk: (() => void) | undefined;
    try {
      // A bulk call with a deadline waits for a bulk turn, so accepted calls finish in about arrival order; calls
      // without one (micro-batched queries, batch jobs) take turns as they come.
      if (bulk && options.deadlineMs !== undefined) leaveBulk = await this.admission.enterBulk(signal);
      await this.#run(tokenized, out, signal, onProgress, ticket.done);
    } finally {
      leaveBulk?.();
      ticket.release();
    }
  }

  async #run(tokenized: TokenizedText[], out: Float32Array, signal: AbortSignal | undefined, onProgress: EmbedOptions['onProgress'], doneTokens: (tokens: number) => void): Promise<void> {
    // Planned at a quarter of the budget; a call alone on the model merges them back to the full budget as it goes.
    const full = this.#full;
    const pending = planBatches(tokenized, { ...full, tokenBudget: Math.max(1, full.tokenBudget >> 2) });
    const turns = pending.length;
    const dim = this.#dim;
    let doneRows = 0;
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
        const result = await nativeWork(this.#native.run(batch.inputIds, batch.attentionMask, null, [rows.length, batch.seqLen], token));
        rows.forEach((r, i) => out.set(result.subarray(i * dim, (i + 1) * dim), r * dim));
        doneRows += rows.length;
        doneTokens(rows.reduce((sum, r) => sum + tokenized[r].length, 0));
        onProgress?.(doneRows, tokenized.length);
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
