// TopK: the k best (id, score) pairs of a stream, in a binary min-heap on typed arrays (no object per candidate).

export class TopK {
  readonly ids: Int32Array;
  readonly scores: Float64Array;
  #size = 0;

  constructor(readonly k: number) {
    this.ids = new Int32Array(k);
    this.scores = new Float64Array(k);
  }

  /** Keeps (id, score) if it beats the worst kept; on equal scores the lower id wins (document order). */
  push(id: number, score: number): void {
    if (this.#size < this.k) {
      let i = this.#size++;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!this.#worse(id, score, this.ids[parent], this.scores[parent])) break;
        this.ids[i] = this.ids[parent];
        this.scores[i] = this.scores[parent];
        i = parent;
      }
      this.ids[i] = id;
      this.scores[i] = score;
    } else if (this.k > 0 && this.#worse(this.ids[0], this.scores[0], id, score)) {
      this.#siftDown(id, score);
    }
  }

  /** Best first. */
  sorted(): { ids: Int32Array; scores: Float64Array } {
    const order = Array.from({ length: this.#size }, (_, i) => i).sort((a, b) => this.scores[b] - this.scores[a] || this.ids[a] - this.ids[b]);
    return { ids: Int32Array.from(order, (i) => this.ids[i]), scores: Float64Array.from(order, (i) => this.scores[i]) };
  }

  /** a ranks below b. */
  #worse(aId: number, aScore: number, bId: number, bScore: number): boolean {
    return aScore < bScore || (aScore === bScore && aId > bId);
  }

  #siftDown(id: number, score: number): void {
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= this.#size) break;
      const r = l + 1;
      const c = r < this.#size && this.#worse(this.ids[r], this.scores[r], this.ids[l], this.scores[l]) ? r : l;
      if (!this.#worse(this.ids[c], this.scores[c], id, score)) break;
      this.ids[i] = this.ids[c];
      this.scores[i] = this.scores[c];
      i = c;
    }
    this.ids[i] = id;
    this.scores[i] = score;
  }
}
