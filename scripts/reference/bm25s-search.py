"""BM25 rankings from the bm25s package, the reference LexicalIndex is tested against (test/quality/lexical.test.ts).

Reads JSON on stdin: {"corpus": [[term, ...], ...], "queries": [[term, ...], ...], "k": 100, "k1": 1.5, "b": 0.75}
with terms our Analyzer produced (so the comparison is of BM25 itself), or {"raw": {"corpus": [text, ...],
"queries": [text, ...], "stopwords": [...]}, ...} to let bm25s analyse with its own tokenizer and PyStemmer's
English stemmer. Writes {"ids": [[doc, ...], ...], "scores": [[score, ...], ...]}, best first, per query.
"""
import json
import sys

import bm25s
import numpy as np


def main() -> None:
    job = json.load(sys.stdin)
    k1, b, k = job.get("k1", 1.5), job.get("b", 0.75), job["k"]
    if "raw" in job:
        import Stemmer

        stemmer = Stemmer.Stemmer("english")
        raw = job["raw"]
        corpus = bm25s.tokenize(raw["corpus"], stopwords=raw["stopwords"], stemmer=stemmer, return_ids=False, show_progress=False)
        queries = bm25s.tokenize(raw["queries"], stopwords=raw["stopwords"], stemmer=stemmer, return_ids=False, show_progress=False)
    else:
        corpus, queries = job["corpus"], job["queries"]
    retriever = bm25s.BM25(method="lucene", k1=k1, b=b)
    retriever.index(corpus, show_progress=False)
    vocab = retriever.vocab_dict
    out_ids, out_scores = [], []
    for q in queries:
        known = [t for t in q if t in vocab]
        if not known:
            out_ids.append([])
            out_scores.append([])
            continue
        scores = retriever.get_scores(known)
        order = np.lexsort((np.arange(len(scores)), -scores))[:k]
        order = [int(i) for i in order if scores[i] > 0]
        out_ids.append(order)
        out_scores.append([float(scores[i]) for i in order])
    json.dump({"ids": out_ids, "scores": out_scores}, sys.stdout)


if __name__ == "__main__":
    main()
