// Hybrid search latency against dense-only, through the public API (issue #30's goal: hybrid ≤ 1.3× dense): one
// SimilarityService, one document set whose vectors and BM25 index are cached by the first call, then every query
// ranked both ways, the order alternating. Each call has a query the cache has not seen — dense gets "q ", hybrid
// " q": the same tokens, different cache keys — so both pay for embedding the query, as a new question does.
import path from 'node:path';
import { SimilarityService } from 'fastembed-native';
import { p50p99 } from './percentiles.js';

export const GOAL_HYBRID_RATIO = 1.3;

export interface HybridLatency {
  docs: number;
  queries: number;
  dense: { p50: number; p99: number };
  hybrid: { p50: number; p99: number };
  ratio: number;
}

export async function hybridAgainstDense(modelDir: string, cacheDir: string, documents: string[], queries: string[]): Promise<HybridLatency> {
  const service = await SimilarityService.create({ model: 'all-MiniLM-L6-v2', modelPath: modelDir, cacheDir, fallback: false, cacheSize: documents.length + 4 * queries.length, maxRequestTokens: 0, timeout: 0 });
  try {
    await service.findMostSimilar('warm up', documents, 10, { mode: 'hybrid' });
    const dense: number[] = [];
    const hybrid: number[] = [];
    const time = async (into: number[], query: string, mode: 'dense' | 'hybrid') => {
      const t = performance.now();
      await service.findMostSimilar(query, documents, 10, { mode });
      into.push(performance.now() - t);
    };
    for (const [i, q] of queries.entries()) {
      if (i % 2 === 0) {
        await time(dense, `${q} `, 'dense');
        await time(hybrid, ` ${q}`, 'hybrid');
      } else {
        await time(hybrid, ` ${q}`, 'hybrid');
        await time(dense, `${q} `, 'dense');
      }
    }
    const d = p50p99(dense);
    const h = p50p99(hybrid);
    return { docs: documents.length, queries: queries.length, dense: d, hybrid: h, ratio: h.p50 / d.p50 };
  } finally {
    await service.close();
  }
}

export function hybridLines(r: HybridLatency, modelDir: string, trained: boolean): string[] {
  return [
    `Hybrid against dense through SimilarityService.findMostSimilar (top 10 of ${r.docs.toLocaleString('en')} documents, vectors and index cached, ${r.queries} new queries each way, model ${path.basename(modelDir)}${trained ? '' : ', random weights'}):`,
    '',
    '| mode | p50 ms | p99 ms |',
    '|---|---|---|',
    `| dense | ${r.dense.p50.toFixed(2)} | ${r.dense.p99.toFixed(2)} |`,
    `| hybrid (the default fusion) | ${r.hybrid.p50.toFixed(2)} | ${r.hybrid.p99.toFixed(2)} |`,
    '',
    `Goal: hybrid p50 ≤ ${GOAL_HYBRID_RATIO}× dense: ${r.ratio.toFixed(2)}×, ${r.ratio <= GOAL_HYBRID_RATIO ? 'PASS' : 'FAIL'}`,
  ];
}
