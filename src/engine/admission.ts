// Admission: work is accepted only if it can be finished in time. Past capacity, a queue that accepts everything
// makes every call late together (fair turns slow all of them equally, so all miss their deadlines at once and
// the CPU's work is thrown away). Here each call's tokens join a queue whose drain time is predicted from the
// model's measured speed; a call with a deadline that the queue ahead of it would overrun is refused at once with
// OverloadedError and how long to wait, and accepted bulk calls run first come first served past a few at a time,
// so the ones accepted finish. Calls without a deadline (micro-batched queries, library batch jobs) are only held
// to the queue bound, if one is set.
import { abortError, OverloadedError } from '../util/errors.js';
import { ThroughputMeter } from './throughput-meter.js';

/**
 * A prediction is trusted up to this share of the deadline: the rest absorbs estimate noise and queries that arrive
 * later and go first. With 0.7, calls accepted just before 8 query callers joined 64 bulk ones timed out (bulk work
 * got 0.6× the speed it was measured at); half the deadline still queues seconds of work, enough to keep the model
 * busy, so goodput does not depend on it.
 */
const SAFETY = 0.5;
/** What a refused caller is told to wait when the model's speed is not measured yet. */
const UNMEASURED_RETRY_MS = 1_000;

export interface AdmissionStats {
  /** Tokens accepted and not yet embedded. */
  queuedTokens: number;
  /** The model's measured speed (undefined until measured). */
  tokensPerSecond: number | undefined;
  /** How long the queued work will take at that speed, in ms (0 when unmeasured or empty). */
  predictedWaitMs: number;
  /** Calls refused so far. */
  refused: number;
}

/** One admitted call's share of the queue: settle the exact tokens, report batches as they finish, release at the end. */
export interface Ticket {
  /** The exact tokens (after tokenising) replace the estimate; `bulk`: more than one full batch. */
  settle(tokens: number, bulk: boolean): void;
  done(tokens: number): void;
  release(): void;
}

export class Admission {
  readonly #maxQueueTokens: number;
  readonly #bulkLimit: number;
  readonly #meter = new ThroughputMeter();
  readonly #now: () => number;
  #queued = 0;
  #refused = 0;
  #bulkActive = 0;
  /** Calls with a deadline taken and not yet released (bulk work; queries come without one). */
  #deadlineCalls = 0;
  /** Calls settled as bulk and not yet released: the meter's clock runs while any are. */
  #bulkOpen = 0;
  /** Calls with a deadline refused since one was last taken. */
  #refusedInARow = 0;
  /** English runs at about 4 characters a token; learned from each tokenised call. */
  #tokensPerChar = 0.25;
  readonly #bulkWaiting: Array<() => void> = [];

  /**
   * `maxQueueTokens` 0: no bound. `bulkLimit`: bulk calls progressing at once (the rest wait in arrival order).
   * `now`: the clock in ms (tests drive it).
   */
  constructor(options: { maxQueueTokens: number; bulkLimit: number; now?: () => number }) {
    this.#maxQueueTokens = options.maxQueueTokens;
    this.#bulkLimit = Math.max(1, options.bulkLimit);
    this.#now = options.now ?? (() => performance.now());
  }

  /**
   * check(), then queues the tokens: from now on they count in every prediction until done or released. A call
   * takes its estimated tokens before it is tokenised (so a burst of calls can't all pass while none is queued yet)
   * and settles the exact count after. Only bulk calls' batches measure the speed (see #bulkOpened).
   */
  take(tokens: number, deadlineMs?: number): Ticket {
    this.check(tokens, deadlineMs);
    if (deadlineMs !== undefined) this.#refusedInARow = 0;
    this.#queued += tokens;
    let left = tokens;
    let bulk = false; // until settle() says so (after tokenising)
    let open = deadlineMs !== undefined;
    if (open) this.#deadlineCalls++;
    const endBulk = () => {
      if (bulk) this.#bulkOpened(-1);
      bulk = false;
    };
    return {
      settle: (exact, isBulk) => {
        if (isBulk && !bulk) this.#bulkOpened(1);
        else if (!isBulk) endBulk();
        bulk = isBulk;
        this.#queued += exact - left;
        left = exact;
      },
      done: (n) => {
        const d = Math.min(n, left);
        left -= d;
        if (bulk) this.#meter.record(n, this.#now());
        this.#remove(d);
      },
      release: () => {
        this.#remove(left);
        left = 0;
        endBulk();
        if (open) this.#deadlineCalls--;
        open = false;
      },
    };
  }

  #remove(tokens: number): void {
    this.#queued = Math.max(0, this.#queued - tokens);
  }

  /**
   * The speed is measured while bulk work is open, queries' batches included in the time: it is what bulk work gets
   * beside the queries of the moment. Time with queries alone is not counted (it once drove the estimate to a fifth of
   * the real speed, and bulk calls were then refused on an idle model).
   */
  #bulkOpened(delta: number): void {
    this.#bulkOpen += delta;
    if (delta > 0 && this.#bulkOpen === 1) this.#meter.busy(this.#now());
    if (delta < 0 && this.#bulkOpen === 0) this.#meter.idle(this.#now());
  }

  /**
   * Throws OverloadedError if `tokens` more could not be taken now: past the queue bound, or, with `deadlineMs` (how
   * long the caller will wait), if the work queued ahead would finish them later. A call is never refused while
   * nothing is queued (an idle model takes any call), nor for time while no other call with a deadline holds the
   * queue: queries alone ahead of it cost what the measured speed already counts, and a stream of them never drains
   * the queue to zero (a bulk call that alone needed more than the trusted share of its deadline was then refused
   * for as long as 8 query callers kept coming). Queues nothing (take() does).
   */
  check(tokens: number, deadlineMs?: number): void {
    if (this.#queued === 0) return;
    const rate = this.#meter.rate;
    const total = this.#queued + tokens;
    const max = this.#maxQueueTokens;
    if (max > 0 && total > max) {
      this.#refuse(
        `the embedding queue holds ${this.#queued} tokens and this call needs ${tokens}, past its bound of ${max} (maxQueueTokens)`,
        rate ? (total - max) / rate : UNMEASURED_RETRY_MS,
      );
    }
    if (deadlineMs === undefined || this.#deadlineCalls === 0) return;
    if (rate === undefined) {
      // Not measured yet (the first batches of a cold start): take bulk calls only while they can all progress. They
      // are counted from take(), not from their bulk turn: calls still tokenising have none yet, and a burst of them
      // all passed (then the last ones of 4 timed out).
      if (this.#deadlineCalls >= this.#bulkLimit) this.#refuse('the model is busy and its speed is not measured yet', UNMEASURED_RETRY_MS);
      return;
    }
    const predicted = total / rate;
    if (predicted > deadlineMs * SAFETY) {
      // When room appears it fits one call or two, not every caller refused meanwhile: each refusal in a row is told
      // to come one more call's time later (up to the deadline), so retries arrive spread out instead of together,
      // each costing the server a request to read and refuse again.
      const spread = Math.min(deadlineMs, this.#refusedInARow++ * (tokens / rate) / this.#bulkLimit);
      this.#refuse(
        `the work queued ahead (${this.#queued} tokens, ${Math.round(this.#queued / rate)} ms at the measured ${Math.round(rate * 1000)} tokens/s) would finish this call after its ${Math.round(deadlineMs)} ms deadline`,
        predicted - deadlineMs * SAFETY + spread,
      );
    }
  }

  /** Tokens `texts` will likely take (at most `maxLength` each), from the characters per token seen so far. */
  estimate(texts: readonly string[], maxLength: number): number {
    let tokens = 0;
    for (const t of texts) tokens += Math.min(maxLength, Math.ceil(t.length * this.#tokensPerChar) + 2);
    return tokens;
  }

  /** A tokenised call's characters and tokens, to estimate the next ones. */
  learn(characters: number, tokens: number): void {
    if (characters > 0) this.#tokensPerChar += 0.2 * (tokens / characters - this.#tokensPerChar);
  }

  #refuse(why: string, waitMs: number): never {
    this.#refused++;
    const retryAfterMs = Math.max(100, Math.ceil(waitMs));
    throw new OverloadedError(`overloaded: ${why}; retry in ${Math.ceil(retryAfterMs / 1000)} s`, retryAfterMs);
  }

  /**
   * Waits for a bulk turn: at most bulkLimit bulk calls progress at once, the rest in arrival order, so accepted
   * calls finish in about the order their predictions assumed. Returns the release; rejects if `signal` aborts.
   */
  async enterBulk(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) throw abortError(signal);
    if (this.#bulkActive < this.#bulkLimit) {
      this.#bulkActive++;
      return this.#leaveBulk();
    }
    await new Promise<void>((resolve, reject) => {
      const wake = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        const i = this.#bulkWaiting.indexOf(wake);
        if (i >= 0) this.#bulkWaiting.splice(i, 1);
        reject(abortError(signal!));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#bulkWaiting.push(wake);
    });
    return this.#leaveBulk();
  }

  #leaveBulk(): () => void {
    let left = false;
    return () => {
      if (left) return;
      left = true;
      const next = this.#bulkWaiting.shift();
      if (next) next(); // the turn passes on directly: bulkActive stays the same
      else this.#bulkActive--;
    };
  }

  stats(): AdmissionStats {
    const rate = this.#meter.rate;
    return {
      queuedTokens: this.#queued,
      tokensPerSecond: rate === undefined ? undefined : rate * 1000,
      predictedWaitMs: rate === undefined ? 0 : this.#queued / rate,
      refused: this.#refused,
    };
  }
}
