import { defineConfig } from 'tsup';

// The benchmark harness, bundled to bench/dist; the library itself is imported as the built package.
export default defineConfig({
  entry: { run: 'bench/run.ts', child: 'bench/child.ts', 'http-load': 'bench/http-load.ts', 'load-client': 'bench/load-client.ts', 'http-peers': 'bench/http-peers.ts', scaling: 'bench/scaling.ts', memory: 'bench/memory.ts', fairness: 'bench/fairness.ts', lexical: 'bench/lexical.ts', corpus: 'bench/corpus.ts', topk: 'bench/topk.ts' },
  outDir: 'bench/dist',
  format: ['esm'],
  target: 'node20',
  clean: true,
  external: ['fastembed-native', 'fastembed-native/server', 'onnxruntime-node', 'tokenizers', 'autocannon', 'minisearch', 'stopword'],
});
