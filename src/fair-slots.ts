// FairSlots: at most `limit` batches in native code at once, and the waiting ones served round-robin across
// lanes (one lane per embed call), so a one-sentence query waits behind one batch of a bulk call, not all of them.

export class FairSlots {
  #free: number;
  /** Lanes with waiters, in the order they are served. */
  readonly #lanes: Array<Array<() => void>> = [];
  #next = 0;

  constructor(limit: number) {
    this.#free = limit;
  }

  /** Resolves when a slot is free for `lane` (the caller's own, empty array at first). */
  acquire(lane: Array<() => void>): Promise<void> {
    if (this.#free > 0) {
      this.#free--;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      if (lane.length === 0) this.#lanes.push(lane);
      lane.push(resolve);
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
}
