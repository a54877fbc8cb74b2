// LatencyTracker: average over all requests, p50/p99 over the most recent window.

export class LatencyTracker {
  readonly #window: Float64Array;
  #next = 0;
  #filled = 0;
  #count = 0;
  #sum = 0;

  constructor(windowSize = 2048) {
    this.#window = new Float64Array(windowSize);
  }

  record(ms: number): void {
    this.#window[this.#next] = ms;
    this.#next = (this.#next + 1) % this.#window.length;
    this.#filled = Math.min(this.#filled + 1, this.#window.length);
    this.#count++;
    this.#sum += ms;
  }

  summary(): { count: number; avgMs: number; p50Ms: number; p99Ms: number } {
    if (this.#filled === 0) return { count: 0, avgMs: 0, p50Ms: 0, p99Ms: 0 };
    const sorted = Array.from(this.#window.subarray(0, this.#filled)).sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
    return { count: this.#count, avgMs: this.#sum / this.#count, p50Ms: at(0.5), p99Ms: at(0.99) };
  }
}
