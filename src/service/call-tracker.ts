// CallTracker: every public service call passes through it. It counts calls (by method, fallbacks, errors), times
// them, turns a model failure into the fallback's answer when one is allowed, and knows which calls are still
// running so close() can refuse new ones at once and wait for the rest.
import { ClosedError, OverloadedError } from '../util/errors.js';
import { LatencyTracker } from './latency.js';

export interface CallCounts {
  requests: number;
  requestsByMethod: Record<string, number>;
  fallbackCount: number;
  errors: number;
  latency: { avgMs: number; p50Ms: number; p99Ms: number };
  uptimeMs: number;
}

export class CallTracker {
  readonly #fallbackEnabled: boolean;
  /** Calls running now; drain() waits for them. */
  #active = 0;
  readonly #drained: Array<() => void> = [];
  #closing = false;
  readonly #started = Date.now();
  readonly #latency = new LatencyTracker();
  readonly #byMethod: Record<string, number> = {};
  #requests = 0;
  #fallbacks = 0;
  #errors = 0;

  constructor(fallbackEnabled: boolean) {
    this.#fallbackEnabled = fallbackEnabled;
  }

  /** Runs one public call: counts it, times it, and maps a failure to the fallback (or rethrows). */
  async call<T>(method: string, work: () => Promise<T>, fallback?: () => T): Promise<T> {
    if (this.#closing) throw new ClosedError('SimilarityService');
    this.#active++;
    try {
      return await this.#run(method, work, fallback);
    } finally {
      if (--this.#active === 0) for (const wake of this.#drained.splice(0)) wake();
    }
  }

  async #run<T>(method: string, work: () => Promise<T>, fallback?: () => T): Promise<T> {
    this.#requests++;
    this.#byMethod[method] = (this.#byMethod[method] ?? 0) + 1;
    const start = performance.now();
    try {
      return await work();
    } catch (err) {
      const e = err as Error;
      // The caller's mistake, abort or a refusal past capacity (retry later): no fallback, not a service error.
      const callerError = e instanceof TypeError || e instanceof RangeError || e.name === 'AbortError' || e instanceof ClosedError || e instanceof OverloadedError;
      if (!callerError) {
        if (fallback && this.#fallbackEnabled) {
          this.#fallbacks++;
          return fallback();
        }
        this.#errors++;
      }
      throw err;
    } finally {
      this.#latency.record(performance.now() - start);
    }
  }

  /** Refuses new calls from now on (ClosedError). */
  close(): void {
    this.#closing = true;
  }

  /** Resolves when no call is running, or after `deadlineMs`, whichever comes first. */
  async drain(deadlineMs: number): Promise<void> {
    if (this.#active === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve) => this.#drained.push(resolve)),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, deadlineMs))),
    ]);
    clearTimeout(timer);
  }

  counts(): CallCounts {
    const { avgMs, p50Ms, p99Ms } = this.#latency.summary();
    return {
      requests: this.#requests,
      requestsByMethod: { ...this.#byMethod },
      fallbackCount: this.#fallbacks,
      errors: this.#errors,
      latency: { avgMs, p50Ms, p99Ms },
      uptimeMs: Date.now() - this.#started,
    };
  }
}
