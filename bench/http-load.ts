// The HTTP service under load against the same service called in process: 1 and 64 concurrent callers, cache off so
// every request embeds. The load generator (autocannon) runs in its own process (bench/load-client.ts); the
// in-process loop runs the same requests (bench/load-requests.ts). Routes: the original similarity route and the
// OpenAI embeddings route returning vectors as float arrays and as base64. Then the server peers (bench/http-peers.ts):
// our server and Infinity, each in its own process.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { SimilarityService } from 'fastembed-native';
import { buildServer } from 'fastembed-native/server';
import { describeMachine } from './machine.js';
import { p50p99 } from './percentiles.js';
import { writeResults } from './results.js';
import { type LoadScenario, loadRequest, runLoadClient } from './load-requests.js';
import { benchDir, here, queries, queriesFile, rounds, seconds, shared, smoke } from './http-common.js';


interface Measured {
  requests_per_s: number;
  /** Texts per model call the micro-batcher formed during the run. */
  texts_per_call?: number;
  cpu_share?: number;
  /** Share of the run the event loop was busy (HTTP, JSON, tokenizer hand-offs): CPU the model doesn't get. */
  event_loop_busy?: number;
  p50_ms: number;
  p99_ms: number;
  errors: number;
}

async function inProcess(service: SimilarityService, scenario: LoadScenario, connections: number): Promise<Measured> {
  let k = 0;
  const lat: number[] = [];
  const end = performance.now() + seconds * 1000;
  const worker = async () => {
    while (performance.now() < end) {
      const { texts } = loadRequest(scenario, queries, k++);
      const t = performance.now();
      if (scenario === 'compute') await service.computeSimilarity(texts[0], texts[1]);
      else await service.computeBatchEmbeddings(texts);
      lat.push(performance.now() - t);
    }
  };
  const t = performance.now();
  await Promise.all(Array.from({ length: connections }, worker));
  return { requests_per_s: (lat.length * 1000) / (performance.now() - t), ...p50p99ms(lat), errors: 0 };
}

const p50p99ms = (lat: number[]) => {
  const { p50, p99 } = p50p99(lat);
  return { p50_ms: p50, p99_ms: p99 };
};

const overHttp = (base: string, scenario: LoadScenario, connections: number): Promise<Measured> =>
  runLoadClient(here, { base, scenario, connections, seconds, queries: queriesFile });

const median = (runs: Measured[]) => [...runs].sort((a, b) => a.requests_per_s - b.requests_per_s)[runs.length >> 1];
const pct = (x: number) => `${(100 * x).toFixed(0)}%`;

async function batching(service: SimilarityService, run: () => Promise<Measured>): Promise<Measured> {
  const before = service.getStats().microBatches;
  const elu = performance.eventLoopUtilization();
  const m = await run();
  const after = service.getStats().microBatches;
  return {
    ...m,
    texts_per_call: (after.requests - before.requests) / Math.max(1, after.batches - before.batches),
    event_loop_busy: performance.eventLoopUtilization(elu).utilization,
  };
}

async function main(): Promise<void> {
  const service = await SimilarityService.create({
    model: 'all-MiniLM-L6-v2',
    modelPath: path.join(shared, 'models', 'minilm-l6-shape'),
    cacheDir: path.join(benchDir, '.cache'),
    enableCache: false,
  });
  const app = await buildServer(service, { logger: false, maxInFlight: 1024 });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  const scenarios: LoadScenario[] = ['compute', 'embeddings-float', 'embeddings-base64'];
  const callers = smoke ? [64] : [1, 64];
  const rows = [
    '| route | callers | in-process req/s | HTTP req/s | HTTP ÷ in-process | in-process p50 / p99 ms | HTTP p50 / p99 ms | texts per model call | event loop busy | load generator CPU | errors |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  const results: object[] = [];
  for (const scenario of scenarios) {
    const route = scenario === 'compute' ? 'POST /api/similarity/compute' : `POST /v1/embeddings (${scenario.slice(11)})`;
    for (const connections of callers) {
      await inProcess(service, scenario, Math.min(connections, 8)); // warm-up, and so both runs start alike
      const locals: Measured[] = [];
      const https: Measured[] = [];
      for (let r = 0; r < rounds; r++) {
        locals.push(await batching(service, () => inProcess(service, scenario, connections)));
        https.push(await batching(service, () => overHttp(base, scenario, connections)));
      }
      const local = median(locals);
      const http = median(https);
      const ratio = http.requests_per_s / local.requests_per_s;
      rows.push(
        `| ${route} | ${connections} | ${local.requests_per_s.toFixed(0)} | ${http.requests_per_s.toFixed(0)} | ${(100 * ratio).toFixed(0)}% | ` +
          `${local.p50_ms.toFixed(1)} / ${local.p99_ms.toFixed(1)} | ${http.p50_ms} / ${http.p99_ms} | ${local.texts_per_call!.toFixed(1)} / ${http.texts_per_call!.toFixed(1)} | ${pct(local.event_loop_busy!)} / ${pct(http.event_loop_busy!)} | ${(100 * http.cpu_share!).toFixed(0)}% | ${http.errors} |`,
      );
      results.push({ scenario, connections, in_process: local, http, ratio });
      if (http.errors > 0) process.exitCode = 1;
    }
  }
  const stats = service.getStats();
  console.log(`Machine: ${describeMachine()}\n`);
  console.log(`Two texts per request, cache off, load generator in its own process; median of ${rounds} alternating ${seconds}-s runs each.\n`);
  console.log(rows.join('\n'));
  console.log(
    `\nMicro-batching: ${stats.microBatches.requests} texts requested in ${stats.microBatches.batches} batches ` +
      `(${(stats.microBatches.requests / Math.max(1, stats.microBatches.batches)).toFixed(1)} texts per model call).`,
  );
  writeResults('http', smoke, { seconds, rounds, results });
  await app.close();
  await service.close();
}

main()
  .then(() => {
    // The server peers in a process of their own: this one has loaded the model and run the in-process rounds.
    if (process.argv.includes('--no-peers')) return;
    const peers = spawnSync(process.execPath, [path.join(here, 'http-peers.js'), ...process.argv.slice(2)], { stdio: 'inherit' });
    if (peers.status !== 0) process.exitCode = peers.status ?? 1;
  })
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
