"""The bm25s peer of npm run bench:lexical: builds a BM25 index and times top-10 queries one at a time, in this process.

    python bm25s_peer.py <job.json>

job.json: {"corpus": "<texts.jsonl>", "queries": "<texts.jsonl>", "stopwords": [...], "k": 10, "k1": 1.5, "b": 0.75,
"warmup": 50}. Each .jsonl line is one JSON string. Driven the way bm25s's README does it: its Tokenizer (regex
\\w\\w+, lower case, the stopword list given, PyStemmer's English Snowball stemmer), BM25(method="lucene"), and
retrieve(k=10) on the ids of one query at a time (numpy backend, one thread). A query's time includes tokenizing it.

Prints one JSON line: build time (tokenize + index), RSS before and after the build (/proc/self/statm, after
gc.collect() and dropping the tokenized corpus), per-query milliseconds and each query's top-10 document positions.
"""
import gc
import json
import os
import sys
import time

import bm25s
import numpy as np
import Stemmer
from bm25s.tokenization import Tokenizer


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_rss_bytes() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def read_jsonl(path: str) -> list:
    with open(path, encoding="utf8") as f:
        return [json.loads(line) for line in f if line.strip()]


def main() -> None:
    with open(sys.argv[1], encoding="utf8") as f:
        job = json.load(f)
    corpus = read_jsonl(job["corpus"])
    queries = read_jsonl(job["queries"])
    k = job.get("k", 10)
    gc.collect()
    before = rss_bytes()

    t0 = time.perf_counter()
    tokenizer = Tokenizer(lower=True, stopwords=job["stopwords"], stemmer=Stemmer.Stemmer("english"))
    corpus_ids = tokenizer.tokenize(corpus, return_as="ids", show_progress=False)
    t1 = time.perf_counter()
    retriever = bm25s.BM25(method="lucene", k1=job.get("k1", 1.5), b=job.get("b", 0.75))
    retriever.index(corpus_ids, show_progress=False)
    t2 = time.perf_counter()
    del corpus_ids
    gc.collect()
    after = rss_bytes()
    sys.stdout.write(json.dumps({"phase": "built", "build_ms": (t2 - t0) * 1000}) + "\n")
    sys.stdout.flush()

    def search(q: str) -> list:
        ids = tokenizer.tokenize([q], update_vocab=False, return_as="ids", show_progress=False)
        if not ids[0]:
            return []
        docs, scores = retriever.retrieve(ids, k=min(k, len(corpus)), show_progress=False, n_threads=1)
        return [int(d) for d, s in zip(docs[0], scores[0]) if s > 0]

    for q in queries[: job.get("warmup", 50)]:
        search(q)
    times, top = [], []
    for q in queries:
        t = time.perf_counter()
        hits = search(q)
        times.append((time.perf_counter() - t) * 1000)
        top.append(hits)
    sys.stdout.write(
        json.dumps(
            {
                "phase": "done",
                "system": "bm25s",
                "version": f"bm25s {bm25s.__version__}, PyStemmer {Stemmer.version()}, numpy {np.__version__}",
                "build_ms": (t2 - t0) * 1000,
                "tokenize_ms": (t1 - t0) * 1000,
                "rss_before": before,
                "rss_after": after,
                "peak_rss": peak_rss_bytes(),
                "query_ms": times,
                "top": top,
            }
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
