// LexicalIndex and Analyzer: analysis per language, BM25 by hand on a small set, bad options, and add/remove
// against a fresh build. (SciFact against the bm25s package: test/quality/lexical.test.ts.)
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Analyzer } from '../../src/lexical/analyzer.js';
import { LexicalIndex } from '../../src/lexical/lexical-index.js';

describe('Analyzer', () => {
  it('English: folds case and width, drops stopwords, stems with Porter2, keeps identifiers whole', () => {
    expect(new Analyzer().terms('The runners were RUNNING; ERR_CONN_RESET in v1.5 of foo.bar, don’t Ｆｕｌｌ')).toEqual([
      'runner', 'run', 'err_conn_reset', 'v1.5', 'foo.bar', 'don’t', 'full',
    ]);
  });

  it('Chinese: ICU dictionary words, or character bigrams; Latin words inside stay words', () => {
    expect(new Analyzer({ language: 'zh' }).terms('我喜欢北京的天气 Hello')).toEqual(['我', '喜欢', '北京', '的', '天气', 'hello']);
    expect(new Analyzer({ language: 'zh', cjk: 'bigrams' }).terms('我喜欢北京 hello世界')).toEqual(['我喜', '喜欢', '欢北', '北京', 'hello', '世界']);
  });

  it('options: no stemming, no stopwords, or your own list', () => {
    expect(new Analyzer({ stem: false, stopwords: false }).terms('The runners')).toEqual(['the', 'runners']);
    expect(new Analyzer({ stopwords: ['Runners'] }).terms('The runners ran')).toEqual(['the', 'ran']);
  });

  it('refuses what it cannot do, saying what to pass instead', () => {
    expect(() => new Analyzer({ language: 'zh', stem: true })).toThrow(/English only/);
    expect(() => new Analyzer({ language: 'zh', stopwords: true })).toThrow(/pass your own list/);
    expect(() => new Analyzer({ language: 'not a tag!' })).toThrow(RangeError);
    expect(() => new Analyzer({ cjk: 'trigrams' as 'words' })).toThrow(/'words' or 'bigrams'/);
  });
});

describe('LexicalIndex', () => {
  const docs = ['the cat sat on the mat', 'a dog and a cat', 'dogs chase cats and cats run home', 'an unrelated sentence'];

  it("scores BM25 with Lucene's idf, worked by hand", () => {
    const index = LexicalIndex.build(docs);
    const { ids, scores } = index.search('cat', 10);
    // Terms: [cat, sat, mat] [dog, cat] [dog, chase, cat, cat, run, home] [unrel, sentenc]: N 4, df(cat) 3, avg length 13/4.
    const idf = Math.log(1 + (4 - 3 + 0.5) / (3 + 0.5));
    const part = (tf: number, len: number) => (idf * tf) / (tf + 1.5 * (0.25 + (0.75 * len) / 3.25));
    // The short document's single "cat" outweighs the long one's two: length normalisation at work.
    expect(Array.from(ids)).toEqual([1, 2, 0]);
    expect(scores[0]).toBeCloseTo(part(1, 2), 12);
    expect(scores[1]).toBeCloseTo(part(2, 6), 12);
    expect(scores[2]).toBeCloseTo(part(1, 3), 12);
  });

  it('a query with no known term, only stopwords, or empty matches nothing; empty documents are fine', () => {
    const index = LexicalIndex.build([...docs, '', 'the and of']);
    expect(index.size).toBe(6);
    for (const q of ['zebra', 'the and of', '', '!!!']) expect(index.search(q, 5).ids.length).toBe(0);
    expect(LexicalIndex.build([]).search('cat', 3).ids.length).toBe(0);
  });

  it('k caps the hits; ties keep document order', () => {
    const index = LexicalIndex.build(['same words', 'same words', 'same words']);
    expect(Array.from(index.search('words', 2).ids)).toEqual([0, 1]);
  });

  it('a 100,000-character text and mixed CJK/Latin text are indexed and found', () => {
    const long = 'lorem ipsum '.repeat(8_000) + 'needle';
    const index = LexicalIndex.build([long, '混合 text 和 中文 needle', 'other']);
    expect(Array.from(index.search('needle', 5).ids).sort()).toEqual([0, 1]);
    expect(Array.from(index.search('中文', 5).ids)).toEqual([1]);
  });

  it('bad k1, b, k and ids: a RangeError that names them', () => {
    for (const k1 of [NaN, -1, Infinity]) expect(() => new LexicalIndex({ k1 })).toThrow(/k1 must be/);
    for (const b of [NaN, -0.1, 1.5]) expect(() => new LexicalIndex({ b })).toThrow(/b must be/);
    const index = LexicalIndex.build(docs);
    for (const k of [0, -1, 1.5, NaN]) expect(() => index.search('cat', k)).toThrow(/k must be a positive integer/);
    expect(() => index.remove(99)).toThrow(/no document 99/);
    index.remove(1);
    expect(() => index.remove(1)).toThrow(/removed once/);
  });

  it('after any adds and removes, scores equal a fresh build of the live documents', () => {
    const words = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'theta'];
    const text = fc.array(fc.constantFrom(...words), { minLength: 0, maxLength: 8 }).map((w) => w.join(' '));
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), text), { minLength: 1, maxLength: 60 }), fc.constantFrom(...words), (ops, query) => {
        const index = new LexicalIndex();
        const live = new Map<number, string>();
        for (const [add, t] of ops) {
          if (add || live.size === 0) live.set(index.add(t), t);
          else {
            const id = [...live.keys()][t.length % live.size];
            index.remove(id);
            live.delete(id);
          }
        }
        const ids = [...live.keys()];
        const fresh = LexicalIndex.build([...live.values()]);
        const a = index.search(query, 100);
        const b = fresh.search(query, 100);
        expect(Array.from(a.ids, (id) => ids.indexOf(id))).toEqual(Array.from(b.ids));
        a.scores.forEach((s, i) => expect(s).toBeCloseTo(b.scores[i], 10));
      }),
      { numRuns: 200 },
    );
  });

  it('removing most documents compacts the postings and keeps answers right', () => {
    const index = LexicalIndex.build(Array.from({ length: 3000 }, (_, i) => `doc ${i % 7 === 0 ? 'seven' : 'other'} n${i}`));
    for (let i = 0; i < 2900; i++) index.remove(i);
    expect(index.size).toBe(100);
    const hits = index.search('seven', 1000);
    expect(Array.from(hits.ids)).toEqual(Array.from({ length: 100 }, (_, i) => 2900 + i).filter((i) => i % 7 === 0));
  });
});
