// Runs under Node and under Bun (scripts/bun-smoke.sh): loads the built package, embeds two sentences and runs an
// async top-k, printing what the other runtime must reproduce.
import { Embedder, cosine, topK } from '../dist/index.js';

const [modelPath, cacheDir] = process.argv.slice(2);
const e = await Embedder.create({ modelPath, cacheDir });
const vectors = await e.embed(['A man is playing a guitar.', 'Stock markets fell sharply on Monday.']);
await e.close();
// Big enough to run on worker threads (over ASYNC_TOPK_ELEMENTS).
const m = Float32Array.from({ length: 384 * 4000 }, (_, i) => Math.sin(i * 0.37));
const top = await topK(m.subarray(0, 384), m, 3);
console.log(
  JSON.stringify({
    runtime: typeof Bun === 'undefined' ? `node ${process.version}` : `bun ${Bun.version}`,
    vectors: vectors.map((v) => Array.from(v)),
    cosine: cosine(vectors[0], vectors[1]),
    top: Array.from(top.indices),
  }),
);
