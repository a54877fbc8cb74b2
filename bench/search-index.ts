// findMostSimilar over one large document set searched again and again (an agent's memory, a fixed catalogue): the
// set kept as a compact index (searchPrecision 'int8' / 'binary', the service's DenseIndexes) against 'float32',
// which looks up every document's vector in the cache and scans fp32 on each call. all-MiniLM-L6-v2's shape (random
// weights: speed is honest, rankings meaningless); one Embedder shared by the three services, the documents embedded
// once and read by the others from a shared disk cache. Each timed call has a new query, so it embeds that query.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Embedder, SimilarityService } from 'fastembed-native';
import { stsbSentences } from './datasets.js';
import { p50p99 } from './percentiles.js';

export interface SearchIndexRow {
  precision: 'float32' | 'int8' | 'binary';
  /** The first search of the set in this service (its vectors from the cache, and the index built). */
  firstMs: number;
  p50Ms: number;
  p99Ms: number;
  indexMb: number;
}

/** STSb sentences, each tagged with its number so every document is distinct. */
export function benchDocuments(shared: string, n: number): string[] {
  const sentences = stsbSentences(shared);
  return Array.from({ length: n }, (_, i) => `${sentences[(i * 7919) % sentences.length].trim()} [${i}]`);
}

export async function searchIndexBench(shared: string, n: number, calls: number): Promise<{ rows: SearchIndexRow[]; queryEmbedMs: number }> {
  const documents = benchDocuments(shared, n);
  const embedder = await Embedder.create({ modelPath: path.join(shared, 'models', 'minilm-l6-shape'), model: 'all-MiniLM-L6-v2' });
  const disk = fs.mkdtempSync(path.join(os.tmpdir(), 'fe-bench-search-'));
  const rows: SearchIndexRow[] = [];
  let q = 0;
  const query = () => `what is said about item ${q++} of the list`;
  try {
    for (const precision of ['float32', 'int8', 'binary'] as const) {
      const service = await SimilarityService.create({ searchPrecision: precision, diskCachePath: disk, cacheSize: n + 10 * calls, timeout: 0 }, { embedder });
      let t = performance.now();
      await service.findMostSimilar(query(), documents, 10);
      const firstMs = performance.now() - t;
      const lat: number[] = [];
      for (let i = 0; i < calls; i++) {
        t = performance.now();
        await service.findMostSimilar(query(), documents.slice(), 10); // a copy, as each HTTP request parses its own
        lat.push(performance.now() - t);
      }
      const { p50, p99 } = p50p99(lat);
      rows.push({ precision, firstMs, p50Ms: p50, p99Ms: p99, indexMb: service.getStats().searchIndexes.bytes / 2 ** 20 });
      await service.close();
    }
    const lat: number[] = [];
    for (let i = 0; i < calls; i++) {
      const t = performance.now();
      await embedder.embed([query()]);
      lat.push(performance.now() - t);
    }
    return { rows, queryEmbedMs: p50p99(lat).p50 };
  } finally {
    await embedder.close();
    fs.rmSync(disk, { recursive: true, force: true });
  }
}

export function searchIndexReport(n: number, r: { rows: SearchIndexRow[]; queryEmbedMs: number }): string[] {
  const fp32 = r.rows.find((x) => x.precision === 'float32')!;
  return [
    `findMostSimilar(new query, the same ${n.toLocaleString('en')} documents, 10), repeated: a new query each call (embedding one query alone: p50 ${r.queryEmbedMs.toFixed(1)} ms). ` +
      'First search: float32 embeds the documents; int8 and binary read them from the disk cache and build the index.',
    '',
    '| searchPrecision | first search ms | repeat p50 ms | repeat p99 ms | × float32 (p50) | index MB |',
    '|---|---|---|---|---|---|',
    ...r.rows.map((x) => `| ${x.precision} | ${x.firstMs.toFixed(0)} | ${x.p50Ms.toFixed(1)} | ${x.p99Ms.toFixed(1)} | ${(fp32.p50Ms / x.p50Ms).toFixed(2)}× | ${x.indexMb.toFixed(1)} |`),
  ];
}
