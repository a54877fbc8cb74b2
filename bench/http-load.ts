// The HTTP service under load (autocannon on loopback, bounded in time) against the same service in process:
// requests/s for single-pair similarity with 1 and 64 concurrent callers, cache off so every request embeds.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { SimilarityService } from 'fastembed-native';
import { buildServer } from 'fastembed-native/server';
import { describeMachine } from './machine.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const benchDir = path.resolve(here, '..');
const shared = process.env.FASTEMBED_SHARED ?? path.resolve(benchDir, '../../shared');
const seconds = process.argv.includes('--smoke') ? 3 : 10;
const queries = fs
  .readFileSync(path.join(benchDir, 'corpora', 'queries.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as string);

async function inProcess(service: SimilarityService, concurrency: number): Promise<number> {
  let i = 0;
  let done = 0;
  const end = performance.now() + seconds * 1000;
  const worker = async () => {
    while (performance.now() < end) {
      const k = i++;
      await service.computeSimilarity(queries[k % queries.length], `${queries[(k * 7 + 1) % queries.length]} ${k}`);
      done++;
    }
  };
  const t = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  return (done * 1000) / (performance.now() - t);
}

async function main(): Promise<void> {
  const service = await SimilarityService.create({
    model: 'all-MiniLM-L6-v2',
    modelPath: path.join(shared, 'models', 'minilm-l6-shape'),
    cacheDir: path.join(benchDir, '.cache'),
    enableCache: false,
  });
  const app = await buildServer(service, { logger: false, maxInFlight: 1024 });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  const rows: string[] = ['| callers | in-process req/s | HTTP req/s | HTTP p50 ms | HTTP p99 ms | errors |', '|---|---|---|---|---|---|'];
  for (const connections of [1, 64]) {
    const local = await inProcess(service, connections);
    let k = 0;
    const result = await autocannon({
      url: `${url}/api/similarity/compute`,
      connections,
      duration: seconds,
      requests: [
        {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          setupRequest: (req: autocannon.Request) => {
            const n = k++;
            return { ...req, body: JSON.stringify({ text1: queries[n % queries.length], text2: `${queries[(n * 3 + 2) % queries.length]} #${n}` }) };
          },
        },
      ],
    });
    const errors = result.errors + result.non2xx + result.timeouts;
    rows.push(`| ${connections} | ${local.toFixed(0)} | ${result.requests.average.toFixed(0)} | ${result.latency.p50} | ${result.latency.p99} | ${errors} |`);
    if (errors > 0) process.exitCode = 1;
  }
  const stats = service.getStats();
  console.log(`Machine: ${describeMachine()}\n`);
  console.log(rows.join('\n'));
  console.log(
    `\nMicro-batching: ${stats.microBatches.requests} texts requested in ${stats.microBatches.batches} batches ` +
      `(${(stats.microBatches.requests / Math.max(1, stats.microBatches.batches)).toFixed(1)} texts per model call).`,
  );
  await app.close();
  await service.close();
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
