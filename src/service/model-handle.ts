// ModelHandle: loads the service's Embedder, retries a failed load in the background with backoff, and closes it.
// A failure is never silent: the reason is kept for health(), and the first one is a process warning.
import { embedderOptionsFrom, type SimilarityConfig } from './config.js';
import { Embedder } from '../engine/embedder.js';
import { FastembedError } from '../util/errors.js';

export type HandleState = 'loading' | 'loaded' | 'failed' | 'closed';

const MAX_RETRY_MS = 60_000;

export class ModelHandle {
  readonly #config: Readonly<SimilarityConfig>;
  /** Shared or injected Embedder: used as is, never closed or retried here. */
  readonly #given: Embedder | undefined;
  /** Runs after every successful load, before the handle reports 'loaded' (the service builds its vector source). */
  readonly #onLoaded: (embedder: Embedder) => Promise<void>;
  #embedder: Embedder | undefined;
  #state: HandleState = 'loading';
  #error: string | undefined;
  #attempt: Promise<void> | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #retryDelay = 0;

  constructor(config: Readonly<SimilarityConfig>, given: Embedder | undefined, onLoaded: (embedder: Embedder) => Promise<void>) {
    this.#config = config;
    this.#given = given;
    this.#onLoaded = onLoaded;
  }

  get embedder(): Embedder | undefined {
    return this.#state === 'loaded' ? this.#embedder : undefined;
  }

  get state(): HandleState {
    return this.#state;
  }

  /** Why the model is not loaded ('model unavailable: …'), undefined when it is. */
  get error(): string | undefined {
    return this.#error;
  }

  /**
   * The current load attempt (the first one, or the retry in progress). Rejects only when the fallback is off;
   * with it on, a failure leaves the handle 'failed' and schedules a retry.
   */
  load(): Promise<void> {
    this.#attempt ??= this.#load();
    return this.#attempt;
  }

  async #load(): Promise<void> {
    const c = this.#config;
    let made: Embedder | undefined;
    try {
      if (!c.enabled) throw new FastembedError('the model is disabled in the configuration (enabled: false)', 'ERR_DISABLED');
      made = this.#given ?? (await Embedder.create(embedderOptionsFrom(c)));
      if (this.#state === 'closed') {
        if (made !== this.#given) await made.close();
        return;
      }
      this.#embedder = made;
      await this.#onLoaded(made);
      this.#error = undefined;
      this.#state = 'loaded';
    } catch (err) {
      // A half-made attempt frees what it made, so a retry starts clean.
      if (made && made !== this.#given) await made.close().catch(() => undefined);
      this.#embedder = undefined;
      const first = this.#error === undefined;
      this.#error = `model unavailable: ${(err as Error).message}`;
      if (this.#state === 'closed') return;
      this.#state = 'failed';
      if (c.enabled && !c.fallback) throw err; // disabled is Jaccard by design, fallback or not
      const retry = c.enabled && c.loadRetryMs > 0 && !this.#given;
      if (first && c.enabled) {
        process.emitWarning(
          `${this.#error}\nAnswering with Jaccard similarity (method 'jaccard_fallback') ` +
            (retry ? 'while the load is retried in the background.' : 'until the service is restarted.'),
          { code: 'FASTEMBED_FALLBACK' },
        );
      }
      if (retry) this.#scheduleRetry();
    }
  }

  #scheduleRetry(): void {
    this.#retryDelay = Math.min(MAX_RETRY_MS, this.#retryDelay === 0 ? this.#config.loadRetryMs : this.#retryDelay * 2);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#attempt = this.#load();
    }, this.#retryDelay);
    // A retry never keeps the process alive on its own (the CLI exits, a server stays up for its socket).
    this.#retryTimer.unref();
  }

  /** Stops retrying, waits for a load in progress, then frees the model (unless it was given). Idempotent. */
  async close(): Promise<void> {
    this.#state = 'closed';
    clearTimeout(this.#retryTimer);
    await this.#attempt?.catch(() => undefined);
    if (this.#embedder && this.#embedder !== this.#given) await this.#embedder.close();
  }
}
