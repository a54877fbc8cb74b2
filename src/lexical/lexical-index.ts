// LexicalIndex: Okapi BM25 over a document set that grows and shrinks (add, remove), with Lucene's idf
// (ln(1 + (N − df + 0.5) / (df + 0.5)), never negative) and term-frequency saturation k1 and length
// normalisation b. Postings are typed arrays per term; a query touches only the postings of its terms, sums into a
// reused accumulator and keeps the best k in a heap, so nothing per query is per document.
import { Analyzer, type AnalyzerOptions } from './analyzer.js';
import { TopK } from './top-k.js';
import { assertPositiveInteger, assertText } from '../util/arguments.js';
import { invalidArgument } from '../util/errors.js';

export interface LexicalIndexOptions extends AnalyzerOptions {
  /** Term-frequency saturation, ≥ 0 (default 1.5, as bm25s and Elasticsearch's 1.2–2 range). */
  k1?: number;
  /** Length normalisation from 0 (none) to 1 (full); default 0.75. */
  b?: number;
}

export interface LexicalHits {
  /** Document ids (from add), best first; ties in id order. */
  ids: Int32Array;
  scores: Float64Array;
}

/** A growable typed array's next capacity. */
const grow = (n: number) => Math.max(8, n * 2);

export class LexicalIndex {
  readonly k1: number;
  readonly b: number;
  readonly analyzer: Analyzer;
  readonly #terms = new Map<string, number>();
  #postDocs: Int32Array[] = [];
  #postTfs: Uint16Array[] = [];
  #postLen = new Int32Array(0);
  #df = new Int32Array(0);
  // Per document: its length in terms, whether it is live, and where its distinct term ids start in #docTerms.
  #docLen = new Int32Array(0);
  #alive = new Uint8Array(0);
  #docTermsAt = new Int32Array(1);
  #docTerms = new Int32Array(0);
  #docs = 0;
  #live = 0;
  #totalLen = 0;
  #acc = new Float64Array(0);
  #touched = new Int32Array(0);

  constructor(options: LexicalIndexOptions = {}) {
    const { k1 = 1.5, b = 0.75 } = options;
    if (typeof k1 !== 'number' || !Number.isFinite(k1) || k1 < 0) throw invalidArgument('range', `k1 must be a finite number ≥ 0 (typically 1.2–2), got ${String(k1)}`);
    if (typeof b !== 'number' || !(b >= 0 && b <= 1)) throw invalidArgument('range', `b must be a number from 0 to 1 (typically 0.75), got ${String(b)}`);
    this.k1 = k1;
    this.b = b;
    this.analyzer = new Analyzer(options);
  }

  /** An index of `texts`, whose ids are their positions. */
  static build(texts: readonly string[], options: LexicalIndexOptions = {}): LexicalIndex {
    const index = new LexicalIndex(options);
    for (const text of texts) index.add(text);
    return index;
  }

  /** Live documents. */
  get size(): number {
    return this.#live;
  }

  /** Indexes a document; returns its id (0, 1, 2, … in the order added; ids of removed documents are not reused). */
  add(text: string): number {
    assertText(text, 'text');
    const terms = this.analyzer.terms(text);
    const counts = new Map<number, number>();
    for (const term of terms) {
      let id = this.#terms.get(term);
      if (id === undefined) id = this.#newTerm(term);
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    const doc = this.#docs++;
    this.#reserveDocs(doc + 1, counts.size);
    const start = this.#docTermsAt[doc];
    let j = start;
    for (const [term, tf] of counts) {
      this.#post(term, doc, Math.min(tf, 0xffff));
      this.#df[term]++;
      this.#docTerms[j++] = term;
    }
    this.#docTermsAt[doc + 1] = j;
    this.#docLen[doc] = terms.length;
    this.#alive[doc] = 1;
    this.#live++;
    this.#totalLen += terms.length;
    return doc;
  }

  /** True while `id` is indexed (added and not removed). */
  has(id: number): boolean {
    return Number.isInteger(id) && id >= 0 && id < this.#docs && this.#alive[id] === 1;
  }

  /** Removes a document: it leaves the statistics (N, df, average length) at once; its postings are skipped. */
  remove(id: number): void {
    if (!this.has(id)) throw invalidArgument('range', `no document ${String(id)} in this index (ids come from add(); each can be removed once)`);
    this.#alive[id] = 0;
    this.#live--;
    this.#totalLen -= this.#docLen[id];
    for (let j = this.#docTermsAt[id]; j < this.#docTermsAt[id + 1]; j++) this.#df[this.#docTerms[j]]--;
    if (this.#docs - this.#live > Math.max(1024, this.#live)) this.#compact();
  }

  /**
   * The k best documents for `query` (k past the matches gives every document that shares a term with it). A
   * query with no indexed term (or only stopwords) matches nothing.
   */
  search(query: string, k: number): LexicalHits {
    assertText(query, 'query');
    assertPositiveInteger(k, 'k');
    const top = new TopK(Math.min(k, this.#live));
    if (this.#live === 0) return top.sorted();
    const touched = this.#accumulate(query, this.#acc, this.#touched);
    for (let i = 0; i < touched; i++) {
      const d = this.#touched[i];
      top.push(d, this.#acc[d]);
      this.#acc[d] = 0;
    }
    return top.sorted();
  }

  /**
   * Every document's score for `query`, by id (0 where it shares no term, and for removed ids): what fusion with
   * another ranking of the whole set needs, without selecting a top k.
   */
  scoreAll(query: string): Float64Array {
    assertText(query, 'query');
    const out = new Float64Array(this.#docs);
    if (this.#live > 0) this.#accumulate(query, out, undefined);
    return out;
  }

  /** Adds each matching document's BM25 score into `acc`; with `touched`, lists the documents first reached there. */
  #accumulate(query: string, acc: Float64Array, touched: Int32Array | undefined): number {
    const { k1, b } = this;
    const avgLen = this.#totalLen / this.#live || 1;
    let reached = 0;
    for (const term of this.analyzer.terms(query)) {
      const t = this.#terms.get(term);
      if (t === undefined || this.#df[t] === 0) continue;
      const idf = Math.log(1 + (this.#live - this.#df[t] + 0.5) / (this.#df[t] + 0.5));
      const docs = this.#postDocs[t];
      const tfs = this.#postTfs[t];
      for (let p = 0, n = this.#postLen[t]; p < n; p++) {
        const d = docs[p];
        if (this.#alive[d] === 0) continue;
        const tf = tfs[p];
        if (touched && acc[d] === 0) touched[reached++] = d;
        acc[d] += (idf * tf) / (tf + k1 * (1 - b + (b * this.#docLen[d]) / avgLen));
      }
    }
    return reached;
  }

  #newTerm(term: string): number {
    const id = this.#terms.size;
    this.#terms.set(term, id);
    if (id >= this.#df.length) {
      const cap = grow(id);
      this.#df = resize(this.#df, cap);
      this.#postLen = resize(this.#postLen, cap);
    }
    this.#postDocs.push(new Int32Array(2));
    this.#postTfs.push(new Uint16Array(2));
    return id;
  }

  #post(term: number, doc: number, tf: number): void {
    const n = this.#postLen[term];
    if (n === this.#postDocs[term].length) {
      this.#postDocs[term] = resize(this.#postDocs[term], n * 2);
      this.#postTfs[term] = resize(this.#postTfs[term], n * 2);
    }
    this.#postDocs[term][n] = doc;
    this.#postTfs[term][n] = tf;
    this.#postLen[term] = n + 1;
  }

  #reserveDocs(docs: number, terms: number): void {
    if (docs > this.#docLen.length) {
      const cap = grow(docs);
      this.#docLen = resize(this.#docLen, cap);
      this.#alive = resize(this.#alive, cap);
      this.#docTermsAt = resize(this.#docTermsAt, cap + 1);
      this.#acc = new Float64Array(cap);
      this.#touched = new Int32Array(cap);
    }
    const need = this.#docTermsAt[docs - 1] + terms;
    if (need > this.#docTerms.length) this.#docTerms = resize(this.#docTerms, Math.max(need, grow(this.#docTerms.length)));
  }

  /** Drops removed documents' postings once they outnumber the live ones. */
  #compact(): void {
    for (let t = 0; t < this.#postDocs.length; t++) {
      const docs = this.#postDocs[t];
      const tfs = this.#postTfs[t];
      let w = 0;
      for (let p = 0, n = this.#postLen[t]; p < n; p++) {
        if (this.#alive[docs[p]] === 0) continue;
        docs[w] = docs[p];
        tfs[w++] = tfs[p];
      }
      this.#postLen[t] = w;
    }
  }
}

function resize<T extends Int32Array | Uint16Array | Uint8Array>(a: T, length: number): T {
  const out = new (a.constructor as new (n: number) => T)(length);
  out.set(a.subarray(0, Math.min(a.length, length)) as unknown as ArrayLike<number>);
  return out;
}
