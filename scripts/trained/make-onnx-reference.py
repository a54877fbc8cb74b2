"""Reference vectors for the models whose trained weights come as ONNX files (langchain4j's jars, placed by
`npm run models:trained`), from implementations this project did not write: onnxruntime's Python package and
Hugging Face `tokenizers`, on the same model.onnx and tokenizer.json, with each model's pooling as its model card
gives it (CLS for BGE, mean for e5), L2-normalised, at 512 tokens.

Writes test/fixtures/reference/<model>.json (the 535 test texts of the all-MiniLM-L6-v2 fixture, STS dev cosines and
Spearman, provenance) and <model>.f32 (the vectors, float32 little-endian, row-major). Run once by hand, not in CI:

    python3 -m venv .models/ref-onnx
    .models/ref-onnx/bin/pip install onnxruntime==1.32.0 tokenizers==0.23.3 'numpy<3' scipy
    npm run models:trained
    .models/ref-onnx/bin/python scripts/trained/make-onnx-reference.py .models/trained ../shared/datasets
"""

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import onnxruntime
import scipy.stats
import tokenizers

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "test" / "fixtures" / "reference"
MAX_LENGTH = 512

# id, pooling, STS set, the prefix both sides of an STS pair get (e5's model card: "query: " for symmetric tasks).
MODELS = [
    ("bge-small-en-v1.5", "cls", "stsb", ""),
    ("bge-small-en", "cls", "stsb", ""),
    ("bge-small-zh-v1.5", "cls", "chinese-stsb", ""),
    ("e5-small-v2", "mean", "stsb", "query: "),
]


def read_sts(datasets: Path, which: str):
    pairs = []
    if which == "stsb":
        with open(datasets / "stsbenchmark" / "sts-dev.csv", encoding="utf-8") as f:
            for line in f:
                cols = line.rstrip("\n").split("\t")
                if len(cols) >= 7:
                    pairs.append((float(cols[4]), cols[5], cols[6]))
    else:
        with open(datasets / "chinese-stsb" / "cnsd-sts-dev.txt", encoding="utf-8") as f:
            for line in f:
                cols = line.rstrip("\n").split("||")
                if len(cols) == 4:
                    pairs.append((float(cols[3]), cols[1], cols[2]))
    return pairs


def embedder(model_dir: Path, pooling: str):
    tok = tokenizers.Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tok.enable_truncation(MAX_LENGTH)
    tok.no_padding()
    opts = onnxruntime.SessionOptions()
    session = onnxruntime.InferenceSession(str(model_dir / "model.onnx"), opts, providers=["CPUExecutionProvider"])
    names = {i.name for i in session.get_inputs()}

    def embed(texts):
        out = []
        for start in range(0, len(texts), 16):
            enc = tok.encode_batch(texts[start : start + 16])
            seq = max(len(e.ids) for e in enc)
            ids = np.zeros((len(enc), seq), dtype=np.int64)
            mask = np.zeros((len(enc), seq), dtype=np.int64)
            for i, e in enumerate(enc):
                ids[i, : len(e.ids)] = e.ids
                mask[i, : len(e.ids)] = 1
            feeds = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in names:
                feeds["token_type_ids"] = np.zeros_like(ids)
            hidden = session.run(None, feeds)[0].astype(np.float64)
            if pooling == "cls":
                pooled = hidden[:, 0]
            else:
                m = mask[:, :, None].astype(np.float64)
                pooled = (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
            pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
            out.append(pooled)
        return np.concatenate(out)

    return embed


def main():
    trained = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / ".models" / "trained")
    datasets = Path(sys.argv[2] if len(sys.argv) > 2 else ROOT.parent / "shared" / "datasets")
    texts = json.loads((OUT / "all-MiniLM-L6-v2.json").read_text(encoding="utf-8"))["texts"]
    only = set(sys.argv[3:])
    for model_id, pooling, sts, sts_prefix in MODELS:
        if only and model_id not in only:
            continue
        model_dir = trained / model_id
        embed = embedder(model_dir, pooling)
        vectors = embed(texts)
        pairs = read_sts(datasets, sts)
        a = embed([sts_prefix + p[1] for p in pairs])
        b = embed([sts_prefix + p[2] for p in pairs])
        cosines = (a * b).sum(axis=1)
        spearman = scipy.stats.spearmanr(cosines, [p[0] for p in pairs]).correlation
        (OUT / f"{model_id}.f32").write_bytes(np.ascontiguousarray(vectors, dtype="<f4").tobytes())
        meta = {
            "model": model_id,
            "generator": {
                "library": f"onnxruntime {onnxruntime.__version__}",
                "tokenizers": tokenizers.__version__,
                "pooling": pooling,
                "weights_sha256": hashlib.sha256((model_dir / "model.onnx").read_bytes()).hexdigest(),
                "script": "scripts/trained/make-onnx-reference.py",
            },
            "maxLength": MAX_LENGTH,
            "dim": int(vectors.shape[1]),
            "texts": texts,
            "stsDev": {
                "set": sts,
                "prefix": sts_prefix,
                "pairs": len(pairs),
                "spearman": float(spearman),
                "cosines": [round(float(c), 7) for c in cosines],
            },
        }
        (OUT / f"{model_id}.json").write_text(json.dumps(meta, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
        print(f"{model_id}: {len(texts)} texts, {sts} dev Spearman x100 {100 * spearman:.2f}", flush=True)


if __name__ == "__main__":
    main()
