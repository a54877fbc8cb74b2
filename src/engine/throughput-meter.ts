// ThroughputMeter: the model's live speed in tokens per millisecond of busy time, so admission can predict when
// queued work will be done. Idle time is not counted (a quiet server is not a slow one), and old samples fade
// with a time constant of a few seconds, so the estimate follows a machine that slows down (a noisy neighbour, a
// thermal limit) or a mix of texts that changes.

/** Busy time (ms) after which a sample's weight has fallen to 1/e. */
const TAU_MS = 5_000;
/** Busy time and work measured before the estimate is trusted (a few batches). */
const MIN_BUSY_MS = 50;
const MIN_WORK = 1_000;

export class ThroughputMeter {
  #work = 0;
  #time = 0;
  #last = 0;
  #busy = false;

  /** Work started while idle: the clock starts now. */
  busy(now: number): void {
    if (this.#busy) return;
    this.#busy = true;
    this.#last = now;
  }

  /** Nothing left to run: time from now on is idle. */
  idle(now: number): void {
    if (!this.#busy) return;
    this.#advance(now);
    this.#busy = false;
  }

  /** `tokens` finished (one batch). */
  record(tokens: number, now: number): void {
    if (this.#busy) this.#advance(now);
    this.#work += tokens;
  }

  #advance(now: number): void {
    const dt = Math.max(0, now - this.#last);
    const decay = Math.exp(-dt / TAU_MS);
    this.#work *= decay;
    this.#time = this.#time * decay + dt;
    this.#last = now;
  }

  /** Tokens per millisecond, or undefined before enough busy time and work have been measured (or since faded). */
  get rate(): number | undefined {
    return this.#time >= MIN_BUSY_MS && this.#work >= MIN_WORK ? this.#work / this.#time : undefined;
  }
}
