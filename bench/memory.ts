// npm run bench:memory — peak RSS of one process embedding the whole corpus at maxLength 512, fp32, for pool sizes
// 1, 2 and 4 (each in its own process: peak RSS is per process). The goal (issue #16): ≤ 320 MB with a pool of 2.
// Peak PSS beside it: each session maps the cached weights file itself, and RSS counts those shared pages once per
// mapping, PSS (and a container's memory accounting) once.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeMachine } from './machine.js';
import { writeResults } from './results.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const benchDir = path.resolve(here, '..');
const shared = process.env.FASTEMBED_SHARED ?? path.resolve(benchDir, '../../shared');
const modelDir = process.env.FASTEMBED_BENCH_MODEL ?? path.join(shared, 'models', 'minilm-l6-shape');
const smoke = process.argv.includes('--smoke');

/** Proportional set size (MB) now: every page shared between mappings counted once in all. */
function pssMb(): number {
  try {
    return Number(/^Pss:\s+(\d+)/m.exec(fs.readFileSync('/proc/self/smaps_rollup', 'utf8'))?.[1] ?? NaN) / 1024;
  } catch {
    return NaN; // not Linux, or no smaps_rollup
  }
}

async function measure(poolSize: number, n: number): Promise<void> {
  let peakPss = pssMb();
  const sampler = setInterval(() => (peakPss = Math.max(peakPss, pssMb())), 200);
  const { Embedder } = await import('fastembed-native');
  const texts = fs.readFileSync(path.join(benchDir, 'corpora', 'prose-1000.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as string).slice(0, n);
  const t0 = performance.now();
  const e = await Embedder.create({ model: 'all-MiniLM-L6-v2', modelPath: modelDir, cacheDir: path.join(benchDir, '.cache'), maxLength: 512, poolSize });
  const loaded = process.memoryUsage().rss;
  const t1 = performance.now();
  await e.embedMatrix(texts);
  const seconds = (performance.now() - t1) / 1000;
  peakPss = Math.max(peakPss, pssMb());
  clearInterval(sampler);
  await e.close();
  const out = { poolSize, load_ms: t1 - t0, rss_after_load_mb: loaded / 2 ** 20, peak_rss_mb: process.resourceUsage().maxRSS / 1024, peak_pss_mb: peakPss, docs_per_s: n / seconds };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

async function main(): Promise<void> {
  const n = smoke ? 40 : 1000;
  if (process.argv[2] === 'child') return measure(Number(process.argv[3]), n);
  const rows = ['| pool size | RSS after load MB | peak RSS MB | peak PSS MB (sampled every 200 ms) | docs/s |', '|---|---|---|---|---|'];
  const results = [];
  for (const pool of smoke ? [2] : [1, 2, 4]) {
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), 'child', String(pool), ...(smoke ? ['--smoke'] : [])], { encoding: 'utf8' });
    const line = r.stdout.trim().split('\n').pop() ?? '';
    if (r.status !== 0 || !line.startsWith('{')) throw new Error(`pool ${pool}: exit ${r.status}: ${r.stderr.slice(-400)}`);
    const m = JSON.parse(line);
    results.push(m);
    rows.push(`| ${pool} | ${m.rss_after_load_mb.toFixed(0)} | ${m.peak_rss_mb.toFixed(0)} | ${m.peak_pss_mb.toFixed(0)} | ${m.docs_per_s.toFixed(1)} |`);
  }
  console.log(`Machine: ${describeMachine()}\n${n} texts, maxLength 512, fp32, ${path.basename(modelDir)}\n`);
  console.log(rows.join('\n'));
  writeResults('memory', smoke, { n, results });
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
