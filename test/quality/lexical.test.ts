// BM25 quality on real data against an implementation we did not write: our LexicalIndex beside the bm25s package
// (with PyStemmer) on SciFact (5,183 abstracts, 300 test queries, title + " " + text). First on the same terms (our
// Analyzer's, so BM25 itself is compared), then bm25s with its own tokenizer and Snowball stemmer (the analysis
// compared too). Also the Jaccard fallback's ranking, and ICU words against character bigrams on Chinese STS-B.
// Dense and hybrid rows need trained weights: test/quality/trained.test.ts.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import stopwordLists from 'stopword';
import { describe, expect, test } from 'vitest';
import { Analyzer } from '../../src/lexical/analyzer.js';
import { LexicalIndex } from '../../src/lexical/lexical-index.js';
import { JaccardFallback } from '../../src/service/fallback.js';
import { pythonClients } from '../fixtures/python-clients.js';
import { ndcgOfRankings, rankingOf, readSciFact, recallOfRankings, stsParaphraseSet } from '../fixtures/retrieval.js';
import { SHARED_DATASETS } from '../fixtures/shared.js';
import { readStsDev, stsDevFile } from '../fixtures/trained.js';

const haveSciFact = fs.existsSync(path.join(SHARED_DATASETS, 'scifact', 'corpus.jsonl'));
const bm25s = pythonClients('bm25s, Stemmer');
const skip = !haveSciFact ? `no ${SHARED_DATASETS}/scifact` : !bm25s.ok ? bm25s.reason : undefined;
const ROOT = path.resolve(__dirname, '../..');

/** The Jaccard fallback's rankings (as JaccardFallback.scoreAll scores, with each document's tokens made once). */
function jaccardRankings(queries: string[], documents: string[], k: number): number[][] {
  const docs = documents.map((d) => JaccardFallback.tokens(d));
  return queries.map((q) => {
    const tokens = JaccardFallback.tokens(q);
    return rankingOf(docs.map((d) => JaccardFallback.setSimilarity(tokens, d))).slice(0, k);
  });
}

interface Rankings {
  ids: number[][];
  scores: number[][];
}
function bm25sRankings(job: object): Rankings {
  const out = execFileSync(bm25s.python!, [path.join(ROOT, 'scripts', 'reference', 'bm25s-search.py')], {
    input: JSON.stringify(job),
    maxBuffer: 1 << 30,
    encoding: 'utf8',
  });
  return JSON.parse(out) as Rankings;
}

describe(`BM25 on SciFact beside bm25s${skip ? ` — skipped: ${skip}` : ''}`, () => {
  test.skipIf(skip !== undefined)('nDCG@10 within 0.5 of bm25s and the same top 10 for ≥ 95 % of queries; Recall@100 reported', { timeout: 600_000 }, () => {
    const set = readSciFact(SHARED_DATASETS);
    const index = LexicalIndex.build(set.documents);
    const ours = set.queries.map((q) => index.search(q, 100));
    const analyzer = new Analyzer();
    const same = bm25sRankings({ corpus: set.documents.map((d) => analyzer.terms(d)), queries: set.queries.map((q) => analyzer.terms(q)), k: 100 });
    const own = bm25sRankings({ raw: { corpus: set.documents, queries: set.queries, stopwords: stopwordLists.eng }, k: 100 });
    const jaccard = jaccardRankings(set.queries, set.documents, 100);

    const oursIds = ours.map((h) => Array.from(h.ids));
    const row = (name: string, r: number[][]) => ({ name, ndcg: 100 * ndcgOfRankings(set, r), recall: 100 * recallOfRankings(set, r, 100) });
    const rows = [row('LexicalIndex', oursIds), row('bm25s, our terms', same.ids), row('bm25s + PyStemmer, its own tokenizer', own.ids), row('Jaccard fallback', jaccard)];
    // Top 10 as sets, with ties at the 10th score allowed to fall either way.
    let sameTop = 0;
    ours.forEach((h, q) => {
      const cut = same.scores[q][9] ?? 0;
      const theirs = new Set(same.ids[q].slice(0, 10));
      const agree = Array.from(h.ids.slice(0, 10)).every((d, i) => theirs.has(d) || Math.abs(h.scores[i] - cut) < 1e-4);
      if (agree) sameTop++;
      // Scores agree too (bm25s computes in float32).
      h.scores.slice(0, 10).forEach((s, i) => expect(Math.abs(s - same.scores[q][i])).toBeLessThan(1e-3 * Math.max(1, s)));
    });
    console.info(
      `SciFact (${set.queries.length} queries, ${set.documents.length} documents), k1 1.5, b 0.75:\n` +
        rows.map((r) => `  ${r.name}: nDCG@10 ${r.ndcg.toFixed(2)}, Recall@100 ${r.recall.toFixed(2)}`).join('\n') +
        `\n  same top 10 as bm25s on the same terms: ${sameTop}/${set.queries.length}`,
    );
    expect(Math.abs(rows[0].ndcg - rows[1].ndcg)).toBeLessThanOrEqual(0.5);
    expect(sameTop / set.queries.length).toBeGreaterThanOrEqual(0.95);
    // The analysis holds up beside bm25s's own tokenizer and stemmer, and BM25 ranks far better than Jaccard.
    expect(rows[0].ndcg).toBeGreaterThanOrEqual(rows[2].ndcg - 1.5);
    expect(rows[0].ndcg).toBeGreaterThan(rows[3].ndcg + 5);
  });
});

const haveChinese = fs.existsSync(stsDevFile(SHARED_DATASETS, 'chinese-stsb'));
describe(`Chinese analysis: ICU words against character bigrams${haveChinese ? '' : ` — skipped: no ${stsDevFile(SHARED_DATASETS, 'chinese-stsb')}`}`, () => {
  test.skipIf(!haveChinese)('paraphrase retrieval on Chinese STS-B dev: both rank well; the figures are reported', () => {
    const set = { ...stsParaphraseSet(readStsDev(SHARED_DATASETS, 'chinese-stsb')), name: 'Chinese STS-B dev paraphrase retrieval' };
    const score = (cjk: 'words' | 'bigrams') => {
      const index = LexicalIndex.build(set.documents, { language: 'zh', cjk });
      return 100 * ndcgOfRankings(set, set.queries.map((q) => index.search(q, 10).ids));
    };
    const words = score('words');
    const bigrams = score('bigrams');
    const jaccard = 100 * ndcgOfRankings(set, jaccardRankings(set.queries, set.documents, 10));
    console.info(`${set.name} (${set.queries.length} queries, ${set.documents.length} documents) nDCG@10: ICU words ${words.toFixed(2)}, bigrams ${bigrams.toFixed(2)}, Jaccard ${jaccard.toFixed(2)}`);
    expect(set.queries.length).toBeGreaterThan(100);
    expect(Math.min(words, bigrams)).toBeGreaterThan(50);
  });
});
