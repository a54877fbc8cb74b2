// MicroBatcher: coalesces texts requested by many concurrent callers into one embedding call, flushed at the end of
// the event loop's turn (or after a window, if one is set) or when full, so a busy server gets batch throughput from
// single-text requests. An idle model does not wait for company: a 2 ms window was a fifth of a lone caller's
// request over HTTP, and callers who arrive while it runs gather for the next batch anyway. While as many
// batches run as the model has sessions, texts keep gathering and go as the next batch the moment one finishes
// (continuous batching): they would wait for the model anyway, and callers arriving a few milliseconds apart (HTTP
// clients) otherwise made 6–9-text batches where callers in one process made 64. A request that
// fills a batch by itself, in texts or in characters, skips the queue as one call of its own: the embedder then
// interleaves its batches fairly with everyone else's, and its signal can cancel what has not run yet. (Counted in
// texts only, four 32-text requests of paragraphs joined the queries' micro-batch, and one-sentence queries waited
// 6 s at the median behind their work.)

/** `deadlineMs`: how long the caller of a call of its own will wait (admission); micro-batches have none. */
export type EmbedMany = (texts: string[], signal?: AbortSignal, deadlineMs?: number) => Promise<Float32Array[]>;

interface Waiter {
  resolve: (v: Float32Array) => void;
  reject: (e: unknown) => void;
}

export class MicroBatcher {
  readonly #embed: EmbedMany;
  readonly #windowMs: number;
  readonly #maxTexts: number;
  readonly #maxChars: number;
  /** text → everyone waiting for it (the same text asked twice is embedded once). */
  #pending = new Map<string, Waiter[]>();
  #timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  readonly #concurrency: number;
  /** Micro-batches sent and not finished. */
  #running = 0;
  #batches = 0;
  #coalesced = 0;

  /**
   * `concurrency`: how many batches the model runs at once (its pool size). `maxChars`: the characters that make a
   * request a call of its own (about one full batch of tokens; no bound if left out).
   */
  constructor(embed: EmbedMany, options: { windowMs: number; maxTexts: number; maxChars?: number; concurrency: number }) {
    this.#embed = embed;
    this.#windowMs = options.windowMs;
    this.#maxTexts = options.maxTexts;
    this.#maxChars = options.maxChars ?? Infinity;
    this.#concurrency = options.concurrency;
  }

  embed(text: string): Promise<Float32Array> {
    return new Promise((resolve, reject) => {
      const waiters = this.#pending.get(text);
      if (waiters) waiters.push({ resolve, reject });
      else this.#pending.set(text, [{ resolve, reject }]);
      this.#coalesced++;
      if (this.#pending.size >= this.#maxTexts) this.flush();
      else if (this.#running < this.#concurrency) this.#timer ??= this.#schedule();
      // else: the next batch goes when a running one finishes.
    });
  }

  /** Whether `texts` go as a call of their own rather than into micro-batches: they fill a batch by themselves. */
  ownCall(texts: readonly string[]): boolean {
    if (texts.length >= this.#maxTexts) return true;
    let chars = 0;
    for (const t of texts) if ((chars += t.length) >= this.#maxChars) return true;
    return false;
  }

  embedMany(texts: string[], signal?: AbortSignal, deadlineMs?: number): Promise<Float32Array[]> {
    if (this.ownCall(texts)) {
      this.#batches++;
      this.#coalesced += texts.length;
      return this.#embed(texts, signal, deadlineMs || undefined);
    }
    return Promise.all(texts.map((t) => this.embed(t)));
  }

  /** Texts requested in this turn of the event loop (a Promise.all, requests parsed together) go as one batch. */
  #schedule(): NodeJS.Timeout | NodeJS.Immediate {
    return this.#windowMs > 0 ? setTimeout(() => this.flush(), this.#windowMs) : setImmediate(() => this.flush());
  }

  /** Sends everything queued now. */
  flush(): void {
    if (this.#timer && this.#windowMs > 0) clearTimeout(this.#timer as NodeJS.Timeout);
    else if (this.#timer) clearImmediate(this.#timer as NodeJS.Immediate);
    this.#timer = undefined;
    if (this.#pending.size === 0) return;
    const batch = this.#pending;
    this.#pending = new Map();
    this.#batches++;
    const texts = [...batch.keys()];
    this.#running++;
    this.#embed(texts)
      .then(
        (vectors) => texts.forEach((t, i) => batch.get(t)!.forEach((w) => w.resolve(vectors[i]))),
        (err) => batch.forEach((ws) => ws.forEach((w) => w.reject(err))),
      )
      .finally(() => {
        this.#running--;
        // A full batch sent meanwhile may already wait for this session: then the gathering goes on.
        if (this.#timer === undefined && this.#running < this.#concurrency) this.flush();
      });
  }

  /** Batches sent and texts requested so far: texts / batches is the coalescing factor. */
  stats(): { batches: number; requests: number } {
    return { batches: this.#batches, requests: this.#coalesced };
  }
}
