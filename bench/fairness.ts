// Fairness: the latency of a one-sentence query while a bulk request of 4,000 texts runs, against the same query on
// an idle service (goal: p99 under load ≤ 3× idle p99). In process and over HTTP, cache off, the full-size model.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SimilarityService } from 'fastembed-native';
import { buildServer } from 'fastembed-native/server';
import { describeMachine } from './machine.js';
import { p50p99 } from './percentiles.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const benchDir = path.resolve(here, '..');
const shared = process.env.FASTEMBED_SHARED ?? path.resolve(benchDir, '../../shared');
const smoke = process.argv.includes('--smoke');
const bulkSize = smoke ? 400 : 4_000;
const samples = smoke ? 20 : 200;

const read = (file: string) =>
  fs
    .readFileSync(path.join(benchDir, 'corpora', file), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as string);

/** `samples` one-sentence queries one after another (distinct texts: nothing is cached), or until `until` settles. */
async function queryLatencies(query: (text: string) => Promise<unknown>, queries: string[], until?: Promise<unknown>): Promise<number[]> {
  let settled = false;
  const settle = () => (settled = true);
  until?.then(settle, settle);
  const out: number[] = [];
  for (let i = 0; i < samples && !settled; i++) {
    const t = performance.now();
    await query(`${queries[i % queries.length]} (${i})`);
    out.push(performance.now() - t);
  }
  return out;
}

async function main(): Promise<void> {
  if (!fs.existsSync(path.join(benchDir, 'corpora', 'prose-1000.jsonl'))) execFileSync(process.execPath, [path.join(benchDir, 'make-corpus.mjs')], { stdio: 'inherit' });
  const corpus = read('prose-1000.jsonl');
  const queries = read('queries.jsonl');
  const service = await SimilarityService.create({
    model: 'all-MiniLM-L6-v2',
    modelPath: path.join(shared, 'models', 'minilm-l6-shape'),
    cacheDir: path.join(benchDir, '.cache'),
    enableCache: false,
    timeout: 600_000, // the bulk request runs for minutes on a small machine
  });
  const app = await buildServer(service, { logger: false });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  const bulk = (tag: string) => Array.from({ length: bulkSize }, (_, i) => `${corpus[i % corpus.length]} [${tag} ${i}]`);
  const post = async (route: string, body: object) => {
    const r = await fetch(`${url}${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (!r.ok) throw new Error(`${route}: ${r.status} ${await r.text()}`);
    return r.json();
  };
  const ways: Array<[string, (text: string) => Promise<unknown>, (texts: string[]) => Promise<unknown>]> = [
    ['in process', (t) => service.computeEmbedding(t), (texts) => service.computeBatchEmbeddings(texts)],
    // The bulk request as a search over its texts (4,000 inputs is past /v1/embeddings' 2,048 per request).
    ['HTTP', (t) => post('/v1/embeddings', { input: t }), (texts) => post('/api/similarity/search', { query: 'bulk', documents: texts, top_k: 5 })],
  ];
  console.log(`Fairness on ${describeMachine()}: a one-sentence query alone and during a ${bulkSize}-text request\n`);
  const rows = ['| path | idle p50 ms | idle p99 ms | under bulk p50 ms | under bulk p99 ms | p99 ratio | bulk s |', '|---|---|---|---|---|---|---|'];
  for (const [name, query, embedMany] of ways) {
    await queryLatencies(query, queries); // warm-up
    const idle = p50p99(await queryLatencies(query, queries));
    const t = performance.now();
    const running = embedMany(bulk(name));
    // Let the bulk request reach the model before measuring.
    await new Promise((r) => setTimeout(r, 200));
    const busy = p50p99(await queryLatencies(query, queries, running));
    await running;
    const bulkSeconds = (performance.now() - t) / 1000;
    rows.push(`| ${name} | ${idle.p50.toFixed(1)} | ${idle.p99.toFixed(1)} | ${busy.p50.toFixed(1)} | ${busy.p99.toFixed(1)} | ${(busy.p99 / idle.p99).toFixed(2)}× | ${bulkSeconds.toFixed(1)} |`);
  }
  console.log(rows.join('\n'));
  await app.close();
  await service.close();
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
