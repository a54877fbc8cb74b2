// FairSlots: at most `limit` batches in native code at once, and the waiting ones served round-robin across
// lanes (one lane per embed call), so a one-sentence query waits behind one batch of a bulk call, not all of them.
// It also tells a caller whether it is sharing the model right now, so bulk calls can cut smaller batches while
// others wait (a newcomer waits for the batch already running, so that batch should be short).

export type Lane = Array<() => void>;

/** How long after two calls last took turns the model still counts as shared. */
const SHARED_FOR_MS = 1_000;

export class FairSlots {
  #free: number;
  /** Lanes with waiters, in the order they are served. */
  readonly #lanes: Lane[] = [];
  #next = 0;
  #lastGranted: Lane | undefined;
  #sharedAt = -Infinity;

  constructor(limit: number) {
    this.#free = limit;
  }

  /** Resolves when a slot is free for `lane` (the caller's own, empty array at first). */
  acquire(lane: Lane): Promise<void> {
    if (this.#free > 0) {
      this.#free--;
      this.#granted(lane);
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      // A lane that starts waiting goes next in turn: a one-sentence query waits for the batches already running,
      // not also for one more batch of every bulk call ahead of it in the rotation.
      if (lane.length === 0) {
        if (this.#next >= this.#lanes.length) this.#next = 0;
        this.#lanes.splice(this.#next, 0, lane);
      }
      lane.push(() => {
        this.#granted(lane);
        resolve();
      });
    });
  }

  /** Hands the slot to the next lane in turn, or frees it. */
  release(): void {
    if (this.#lanes.length === 0) {
      this.#free++;
      return;
    }
    if (this.#next >= this.#lanes.length) this.#next = 0;
    const lane = this.#lanes[this.#next];
    const wake = lane.shift()!;
    if (lane.length === 0) this.#lanes.splice(this.#next, 1);
    else this.#next++;
    wake();
  }

  /** Whether `lane` shares the model: another lane waits now, or two lanes took turns within the last second. */
  shared(lane: Lane): boolean {
    return this.#lanes.some((l) => l !== lane) || performance.now() - this.#sharedAt < SHARED_FOR_MS;
  }

  #granted(lane: Lane): void {
    if (this.#lastGranted !== undefined && this.#lastGranted !== lane) this.#sharedAt = performance.now();
    this.#lastGranted = lane;
  }
}
