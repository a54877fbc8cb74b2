// FairSlots: at most `limit` batches in native code at once, and the waiting ones served in turn across lanes (one
// lane per embed call), so a one-sentence query waits behind one batch of a bulk call, not all of them.
// It also tells a caller whether it is sharing the model right now, so bulk calls can cut smaller batches while
// others wait (a newcomer waits for the batch already running, so that batch should be short).

export type Lane = Array<() => void>;

/** How long after two calls last took turns the model still counts as shared. */
const SHARED_FOR_MS = 1_000;

export class FairSlots {
  #free: number;
  /** Lanes not served yet, first come first served: a query arriving while bulk calls run goes before their next
   *  batches, but never before queries that arrived earlier (inserting each newcomer at the front starved the
   *  oldest waiters under steady load). */
  readonly #newcomers: Lane[] = [];
  /** Lanes already served that wait again, round-robin. */
  readonly #rotation: Lane[] = [];
  readonly #served = new WeakSet<Lane>();
  /** Newcomers and the rotation take turns, so a stream of newcomers can't starve a bulk call either. */
  #lastWasNewcomer = false;
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
      if (lane.length === 0) (this.#served.has(lane) ? this.#rotation : this.#newcomers).push(lane);
      lane.push(() => {
        this.#granted(lane);
        resolve();
      });
    });
  }

  /** Hands the slot to the next lane in turn, or frees it. */
  release(): void {
    const fromNewcomers = this.#newcomers.length > 0 && (this.#rotation.length === 0 || !this.#lastWasNewcomer);
    const lane = fromNewcomers ? this.#newcomers.shift() : this.#rotation.shift();
    if (lane === undefined) {
      this.#free++;
      return;
    }
    this.#lastWasNewcomer = fromNewcomers;
    const wake = lane.shift()!;
    if (lane.length > 0) this.#rotation.push(lane);
    wake();
  }

  /** Whether `lane` shares the model: another lane waits now, or two lanes took turns within the last second. */
  shared(lane: Lane): boolean {
    const waiting = (lanes: Lane[]) => lanes.some((l) => l !== lane);
    return waiting(this.#newcomers) || waiting(this.#rotation) || performance.now() - this.#sharedAt < SHARED_FOR_MS;
  }

  #granted(lane: Lane): void {
    this.#served.add(lane);
    if (this.#lastGranted !== undefined && this.#lastGranted !== lane) this.#sharedAt = performance.now();
    this.#lastGranted = lane;
  }
}
