"""Python peers of `npm run bench`, speaking the same child protocol as bench/child.ts:
`python peer.py <system> <scenario> <json options>` prints one JSON line.

fastembed (Qdrant's, from PyPI) loads the bench's model folder as a custom model (mean pooling, normalised, the same
model.onnx); sentence-transformers loads the same folder's weights when they are a full checkpoint with a CPU torch.
Both truncate at 256 tokens like every other system in the bench.
"""
import json
import os
import resource
import sys
import time


def since_process_start_ms():
    """Milliseconds since this process started (interpreter start-up included, as Node's and Go's numbers include
    theirs), from the kernel's start time in clock ticks: 10 ms resolution."""
    with open("/proc/self/stat") as f:
        start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
    with open("/proc/uptime") as f:
        uptime = float(f.read().split()[0])
    return (uptime - start_ticks / os.sysconf("SC_CLK_TCK")) * 1000


def load(system, o):
    if system == "fastembed-py":
        from fastembed import TextEmbedding
        from fastembed.common.model_description import ModelSource, PoolingType

        name = "bench/" + o["modelName"]
        TextEmbedding.add_custom_model(
            model=name,
            pooling=PoolingType.MEAN,
            normalization=True,
            sources=ModelSource(hf="bench/local-only"),
            dim=384,
            model_file="model.onnx",
        )
        model = TextEmbedding(model_name=name, specific_model_path=o["modelDir"], cache_dir=o["pyCacheDir"])
        # The same work as the other systems: 256 tokens at most (fastembed would take the tokenizer's 512).
        model.model.tokenizer.enable_truncation(max_length=256)
        return lambda texts: list(model.embed(texts, batch_size=256))
    if system == "sentence-transformers":
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(o["stModelDir"], device="cpu")
        model.max_seq_length = 256
        return lambda texts: model.encode(texts, batch_size=32, normalize_embeddings=True)
    raise SystemExit(f"unknown system {system}")


def read_jsonl(path, n):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()][:n]


def main():
    system, scenario, raw = sys.argv[1:4]
    o = json.loads(raw)
    result = {"system": system, "scenario": scenario}
    t_load = time.perf_counter()
    embed = load(system, o)
    result["load_ms"] = (time.perf_counter() - t_load) * 1000
    if scenario == "cold":
        embed(["hello world"])
        result["cold_start_ms"] = since_process_start_ms()
    elif scenario == "bulk":
        texts = read_jsonl(o["corpus"], o["n"])
        embed(texts[:8])
        best = float("inf")
        began = time.perf_counter()
        for p in range(3):
            if p > 0 and time.perf_counter() - began >= 40:
                break
            t = time.perf_counter()
            embed(texts)
            best = min(best, time.perf_counter() - t)
        result.update(texts=len(texts), seconds=best, docs_per_s=len(texts) / best)
    elif scenario == "query":
        queries = read_jsonl(o["queries"], o["queryCount"])
        embed(queries[:1])
        lat = []
        for q in queries:
            t = time.perf_counter()
            embed([q])
            lat.append((time.perf_counter() - t) * 1000)
        lat.sort()
        at = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
        result.update(queries=len(lat), p50_ms=at(0.5), p99_ms=at(0.99))
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # the harness shows the reason in the table
        print(json.dumps({"error": f"{type(e).__name__}: {e}"}))
        sys.exit(1)
