// The engine layer: text in, L2-normalised embeddings out, batched across a pool of native ORT sessions.
// It owns tokenising, batching by token budget, fair turns between calls and the native session pool's lifetime.
// It may import runtime/ (the addon, tokenizer, vector math), models/ (registry, files, int8 copies) and util/;
// never service/, cache/, http/ or cli/.
import type { NativeModel, Pooling } from '../runtime/binding.js';
import { TextTokenizer, type TokenDetail, type TokenizedText, type TruncationDirection } from '../runtime/tokenizer.js';
import { abortError, ClosedError, invalidArgument } from '../util/errors.js';
import type { AdmissionStats } from './admission.js';
import { BatchScheduler } from './batch-scheduler.js';
import { assertTexts } from '../util/arguments.js';
import { assertTokenIds, checkEmbedOptions, validateEmbedderOptions, type EmbedderOptions, type EmbeddingMatrix, type EmbedOptions } from './embedder-options.js';
import { loadModel, type LoadedModel } from './loaded-model.js';
import { embedStream, type EmbedStreamChunk, type EmbedStreamInput, type EmbedStreamOptions } from './embed-stream.js';

export type { EmbedderOptions, EmbedOptions, EmbeddingMatrix } from './embedder-options.js';
export type { EmbedStreamChunk, EmbedStreamInput, EmbedStreamOptions, EmbedStreamProgress } from './embed-stream.js';

export class Embedder {
  readonly model: string;
  readonly dim: number;
  readonly maxLength: number;
  readonly poolSize: number;
  /** Intra-op threads each session runs with (what ONNX Runtime was given). */
  readonly threads: number;
  readonly modelDir: string;
  readonly queryPrefix: string;
  readonly passagePrefix: string;
  /** Prefix both texts of a symmetric comparison get (e5's "query: "; most models add nothing). */
  readonly symmetricPrefix: string;
  /** True when vectors come out L2-normalised (the recipe's normalisation). */
  readonly normalized: boolean;
  readonly pooling: Exclude<Pooling, 'none'>;
  /** 'int8' when the model runs quantised (EmbedderOptions.quantize), else 'none'. */
  readonly quantize: 'none' | 'int8';
  /**
   * Identifies everything that decides a vector besides the text: the model and tokenizer files (by content), the
   * quantization, pooling, normalisation and max length. Cache keys use it, so two recipes never share entries.
   */
  readonly fingerprint: string;
  readonly #native: NativeModel;
  readonly #tokenizer: TextTokenizer;
  readonly #scheduler: BatchScheduler;
  #closed = false;
  #closing: Promise<void> | undefined;

  private constructor({ native, tokenizer, recipe, dir, dim, fingerprint }: LoadedModel, opts: EmbedderOptions) {
    this.#native = native;
    this.#tokenizer = tokenizer;
    const info = native.info();
    this.model = recipe.id;
    this.dim = dim;
    this.maxLength = tokenizer.maxLength;
    this.poolSize = info.poolSize;
    this.threads = info.intraOpThreads;
    this.modelDir = dir;
    this.queryPrefix = recipe.queryPrefix;
    this.passagePrefix = recipe.passagePrefix;
    this.symmetricPrefix = recipe.symmetricPrefix;
    this.normalized = recipe.normalize;
    this.pooling = recipe.pooling;
    this.quantize = opts.quantize ?? 'none';
    this.fingerprint = fingerprint;
    this.#scheduler = new BatchScheduler(native, dim, { batchSize: opts.batchSize ?? 32, tokenBudget: opts.tokenBudget ?? 512 }, () => this.#closed, opts.maxQueueTokens ?? 0);
  }

  static async create(options: EmbedderOptions = {}): Promise<Embedder> {
    validateEmbedderOptions(options);
    return new Embedder(await loadModel(options), options);
  }

  /** Embeddings in input order (views on one shared buffer). */
  async embed(texts: string[], options: EmbedOptions = {}): Promise<Float32Array[]> {
    const m = await this.embedMatrix(texts, options);
    const out: Float32Array[] = new Array(m.rows);
    for (let i = 0; i < m.rows; i++) out[i] = m.data.subarray(i * m.dim, (i + 1) * m.dim);
    return out;
  }

  /**
   * A corpus of any size: strings or `{ id, text }` records from any (async) iterable, a Node object-mode Readable
   * included, yielded as chunks of vectors in input order, with at most `maxInFlight` records read ahead, so memory
   * does not grow with the corpus. Same batching, dedup (within a chunk) and session pool as embed().
   */
  embedStream(source: Iterable<EmbedStreamInput> | AsyncIterable<EmbedStreamInput>, options: EmbedStreamOptions = {}): AsyncGenerator<EmbedStreamChunk, void, undefined> {
    return embedStream(this, source, options);
  }

  /** One query, with the model's query prefix (e.g. BGE's retrieval instruction). */
  async embedQuery(text: string, options: EmbedOptions = {}): Promise<Float32Array> {
    if (typeof text !== 'string') throw invalidArgument('type', `text must be a string, got ${typeof text}`);
    return (await this.embed([this.queryPrefix + text], options))[0];
  }

  /** Documents, with the model's passage prefix (e.g. E5's "passage: "). */
  async embedPassages(texts: string[], options: EmbedOptions = {}): Promise<Float32Array[]> {
    assertTexts(texts);
    return this.embed(this.passagePrefix ? texts.map((t) => this.passagePrefix + t) : texts, options);
  }

  /** Embeddings as one row-major matrix, rows in input order. Duplicate texts are embedded once. */
  async embedMatrix(texts: string[], options: EmbedOptions = {}): Promise<EmbeddingMatrix> {
    assertTexts(texts);
    if (this.#closed) throw new ClosedError('Embedder');
    checkEmbedOptions(options);
    const { signal } = options;
    if (signal?.aborted) throw abortError(signal);

    const uniqueIndex = new Map<string, number>();
    const rowOf = new Int32Array(texts.length);
    const uniques: string[] = [];
    texts.forEach((t, i) => {
      let u = uniqueIndex.get(t);
      if (u === undefined) {
        u = uniques.length;
        uniqueIndex.set(t, u);
        uniques.push(t);
      }
      rowOf[i] = u;
    });

    const dim = this.dim;
    const unique = new Float32Array(uniques.length * dim);
    if (uniques.length > 0) {
      // Queued (or refused) by its estimated tokens before tokenising: a refusal costs next to nothing.
      const admission = this.#scheduler.admission;
      const ticket = admission.take(admission.estimate(uniques, this.maxLength), options.deadlineMs);
      let tokenized: TokenizedText[];
      try {
        tokenized = await this.#tokenizer.encodeBatch(uniques);
      } catch (err) {
        ticket.release();
        throw err;
      }
      admission.learn(
        uniques.reduce((sum, t) => sum + t.length, 0),
        tokenized.reduce((sum, t) => sum + t.length, 0),
      );
      await this.#scheduler.run(tokenized, unique, ticket, options);
    }
    if (uniques.length === texts.length) return { data: unique, rows: texts.length, dim };
    const data = new Float32Array(texts.length * dim);
    for (let i = 0; i < texts.length; i++) data.set(unique.subarray(rowOf[i] * dim, (rowOf[i] + 1) * dim), i * dim);
    return { data, rows: texts.length, dim };
  }

  /** Token counts of texts after truncation (no padding), e.g. for budgeting. */
  async countTokens(texts: string[]): Promise<number[]> {
    return (await this.tokenize(texts)).map((t) => t.length);
  }

  /**
   * Texts as the model sees them: token ids after truncation to maxLength (at the end, or with 'left' at the
   * start), and whether each was cut.
   */
  async tokenize(texts: string[], direction: TruncationDirection = 'right'): Promise<TokenizedText[]> {
    assertTexts(texts);
    return this.#tokenizerFor(direction).encodeBatch(texts);
  }

  /** Each text's tokens with their strings, special flags and character offsets (after truncation). */
  async tokenDetails(texts: string[]): Promise<TokenDetail[][]> {
    assertTexts(texts);
    return this.#tokenizer.details(texts);
  }

  /** Token ids back to text. */
  async decode(ids: number[][], skipSpecialTokens = true): Promise<string[]> {
    if (!Array.isArray(ids)) throw invalidArgument('type', `ids must be an array of token id arrays, got ${typeof ids}`);
    for (const [i, row] of ids.entries()) assertTokenIds(row, `ids[${i}]`, this.#tokenizer.vocabSize);
    return this.#tokenizer.decode(ids, skipSpecialTokens);
  }

  /**
   * Embeddings of already tokenised inputs (e.g. from tokenize(), or ids a client sent), in order; each must hold
   * 1 to maxLength ids of this model's vocabulary, special tokens included.
   */
  async embedTokens(inputs: Array<TokenizedText | number[]>, options: EmbedOptions = {}): Promise<Float32Array[]> {
    if (!Array.isArray(inputs)) throw invalidArgument('type', `inputs must be an array of token id arrays, got ${typeof inputs}`);
    if (this.#closed) throw new ClosedError('Embedder');
    checkEmbedOptions(options);
    if (options.signal?.aborted) throw abortError(options.signal);
    const tokenized = inputs.map((input, i): TokenizedText => {
      const ids = Array.isArray(input) ? input : input?.ids;
      assertTokenIds(ids, `inputs[${i}]`, this.#tokenizer.vocabSize);
      if (ids.length === 0 || ids.length > this.maxLength) {
        throw invalidArgument('range', `inputs[${i}] has ${ids.length} tokens; this model takes 1 to ${this.maxLength}`);
      }
      return { ids, length: ids.length, truncated: false };
    });
    const data = new Float32Array(tokenized.length * this.dim);
    if (tokenized.length > 0) {
      const ticket = this.#scheduler.admission.take(tokenized.reduce((sum, t) => sum + t.length, 0), options.deadlineMs);
      await this.#scheduler.run(tokenized, data, ticket, options);
    }
    return Array.from({ length: tokenized.length }, (_, i) => data.subarray(i * this.dim, (i + 1) * this.dim));
  }

  #tokenizerFor(direction: TruncationDirection): TextTokenizer {
    if (direction === 'right') return this.#tokenizer;
    if (direction !== 'left') throw invalidArgument('range', `truncation direction must be 'right' or 'left', got ${String(direction)}`);
    return TextTokenizer.load(this.modelDir, this.maxLength, 'left');
  }

  /**
   * Holds room in the queue for `texts` (their tokens estimated from their length) about to be embedded within
   * `deadlineMs`, or throws OverloadedError now: a server calls it before reading or tokenising a request, so a
   * refusal costs next to nothing and a burst can't all pass at once. Call the returned release just before
   * embedding them (the embed call then queues them itself).
   */
  reserve(texts: readonly string[], deadlineMs: number): () => void {
    const admission = this.#scheduler.admission;
    return admission.take(admission.estimate(texts, this.maxLength), deadlineMs).release;
  }

  /** The work queue: tokens accepted and not yet embedded, the measured speed, the predicted wait, refusals. */
  get load(): AdmissionStats {
    return this.#scheduler.admission.stats();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Waits for running batches, then frees every ORT session. Idempotent. */
  close(): Promise<void> {
    this.#closed = true;
    this.#closing ??= this.#native.close();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
