// npm run bench:corpus — corpus-scale embedding (issue #29). Builds a corpus of unique lines from the shared datasets
// (STSb sentences and SciFact abstract sentences, each line tagged with its number so no two are equal and dedup
// gives no path an edge), then, each in its own process (peak RSS is per process):
//   embed()       the whole corpus in memory, one embedMatrix call (the baseline)
//   embedStream   the file read line by line through Embedder.embedStream, vectors dropped as they come
//   CLI           fastembed-native embed --file … --format npy -o …, streaming to disk
// and reports throughput (and its ratio to embed()), peak RSS per corpus size, time to the first output row, and
// the cost of a resume (kill -9 at about half, then --resume). Flags: --lines 20000,200000 (the sizes), --full-at N
// (the size that runs every mode and the resume; default the largest; none: no size), --other-modes stream,cli (what the other sizes
// run, for peak RSS), --rounds 1 (the --full-at size's modes in turn, this many times), --pool 1, --smoke (tiny sizes).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { benchModel } from './bench-model.js';
import { stsbSentences } from './datasets.js';
import { describeMachine } from './machine.js';
import { writeResults } from './results.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const benchDir = path.resolve(here, '..');
const root = path.resolve(benchDir, '..');
const shared = process.env.FASTEMBED_SHARED ?? path.resolve(root, '../shared');
const { modelDir, trained } = benchModel(root, shared);
const cli = path.join(root, 'dist', 'cli.js');
const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : process.argv[i + 1];
};
const smoke = process.argv.includes('--smoke');
const sizes = arg('lines', smoke ? '300,1200' : '20000,200000').split(',').map(Number);
const pool = Number(arg('pool', '1'));
const fullAtArg = arg('full-at', String(Math.max(...sizes)));
const fullAt = fullAtArg === 'none' ? undefined : Number(fullAtArg);
const otherModes = arg('other-modes', 'stream,cli').split(',');
// This machine's speed drifts by ±15 % from minute to minute: the --full-at size runs its modes in turn, `rounds` times.
const rounds = Number(arg('rounds', '1'));
if (fullAt !== undefined && !sizes.includes(fullAt)) throw new Error(`--full-at ${fullAt} is not one of --lines ${sizes.join(',')} (or none)`);

/** Unique lines: STSb sentence pairs and SciFact sentences, cycled, each tagged with its line number. */
function buildCorpus(n: number, file: string): void {
  const sentences = stsbSentences(shared);
  for (const row of fs.readFileSync(path.join(shared, 'datasets', 'scifact', 'corpus.jsonl'), 'utf8').trim().split('\n')) {
    const doc = JSON.parse(row) as { text: string };
    for (const s of doc.text.split(/(?<=\.)\s+/)) if (s.trim().length > 0) sentences.push(s);
  }
  const clean = sentences.map((s) => s.replace(/\s+/g, ' ').trim()).filter((s) => s.length > 0);
  const lines: string[] = [];
  for (let i = 0; i < n; i++) lines.push(`${clean[(i * 7919) % clean.length]} [${i}]\n`);
  fs.writeFileSync(file, lines.join(''));
}

interface Measured {
  mode: string;
  lines: number;
  seconds: number;
  rate: number;
  first_row_ms: number;
  peak_rss_mb: number;
  round?: number;
}

/** Child process: one API mode on one corpus file; prints one JSON line. */
async function child(mode: string, file: string): Promise<void> {
  const { Embedder } = await import('fastembed-native');
  const e = await Embedder.create({ modelPath: modelDir, cacheDir: path.join(benchDir, '.cache'), poolSize: pool });
  let lines = 0;
  let firstRow = NaN;
  const t0 = performance.now();
  if (mode === 'embed') {
    const texts = fs.readFileSync(file, 'utf8').split('\n');
    texts.pop();
    const m = await e.embedMatrix(texts);
    lines = m.rows;
    firstRow = performance.now() - t0;
  } else {
    const input = readline.createInterface({ input: fs.createReadStream(file), crlfDelay: Infinity });
    for await (const chunk of e.embedStream(input)) {
      if (lines === 0) firstRow = performance.now() - t0;
      lines += chunk.rows;
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  await e.close();
  const r: Measured = { mode, lines, seconds, rate: lines / seconds, first_row_ms: firstRow, peak_rss_mb: process.resourceUsage().maxRSS / 1024 };
  process.stdout.write(`${JSON.stringify(r)}\n`);
}

function runChild(mode: string, file: string): Measured {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), 'child', mode, file, '--pool', String(pool)], { encoding: 'utf8' });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !line.startsWith('{')) throw new Error(`${mode}: exit ${r.status}: ${r.stderr.slice(-600)}`);
  return JSON.parse(line) as Measured;
}

const cliArgs = (file: string, out: string) => [cli, 'embed', '-f', file, '--format', 'npy', '-o', out, '--model-path', modelDir, '--cache-dir', path.join(benchDir, '.cache'), '--pool-size', String(pool)];

/** The CLI under /usr/bin/time (peak RSS of the process), the output file watched for its first row. */
async function runCli(file: string, out: string, lines: number): Promise<Measured> {
  fs.rmSync(out, { force: true });
  fs.rmSync(`${out}.checkpoint`, { force: true });
  const t0 = performance.now();
  const proc = spawn('/usr/bin/time', ['-f', 'maxrss_kb=%M', process.execPath, ...cliArgs(file, out)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => (stderr += d));
  let firstRow = NaN;
  const poll = setInterval(() => {
    if (Number.isNaN(firstRow) && fs.existsSync(out) && fs.statSync(out).size > 128) firstRow = performance.now() - t0;
  }, 10);
  const code = await new Promise<number | null>((resolve) => proc.once('exit', resolve));
  clearInterval(poll);
  const seconds = (performance.now() - t0) / 1000;
  if (code !== 0) throw new Error(`CLI: exit ${code}: ${stderr.slice(-600)}`);
  const rss = Number(/maxrss_kb=(\d+)/.exec(stderr)?.[1]) / 1024;
  return { mode: 'cli', lines, seconds, rate: lines / seconds, first_row_ms: firstRow, peak_rss_mb: rss };
}

/** kill -9 once the checkpoint holds about half the rows, then --resume; the resumed run's time and its start-up. */
async function resumeCost(file: string, out: string, lines: number, uninterrupted: Measured): Promise<Record<string, number>> {
  fs.rmSync(out, { force: true });
  fs.rmSync(`${out}.checkpoint`, { force: true });
  const t0 = performance.now();
  const proc = spawn(process.execPath, cliArgs(file, out), { stdio: 'ignore' });
  let killedAt = 0;
  await new Promise<void>((resolve) => {
    const poll = setInterval(() => {
      try {
        const c = JSON.parse(fs.readFileSync(`${out}.checkpoint`, 'utf8')) as { rows: number };
        if (c.rows >= lines / 2) {
          clearInterval(poll);
          proc.kill('SIGKILL');
          killedAt = c.rows;
          resolve();
        }
      } catch {
        // not written yet
      }
    }, 20);
  });
  await new Promise((resolve) => proc.once('exit', resolve));
  const firstPart = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  const r = spawnSync(process.execPath, [...cliArgs(file, out), '--resume'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`resume: exit ${r.status}: ${r.stderr}`);
  const resumed = (performance.now() - t1) / 1000;
  const expected = (lines - killedAt) / uninterrupted.rate;
  return { killed_at_rows: killedAt, first_part_s: firstPart, resume_s: resumed, resume_expected_s: expected, resume_overhead_s: resumed - expected, total_vs_uninterrupted: (firstPart + resumed) / uninterrupted.seconds };
}

async function main(): Promise<void> {
  if (process.argv[2] === 'child') return child(process.argv[3], process.argv[4]);
  if (!fs.existsSync(cli)) throw new Error(`${cli} is missing: npm run build:ts first`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-corpus-'));
  const machine = describeMachine();
  console.log(`Machine: ${machine}\nModel: ${path.basename(modelDir)}${trained ? '' : ' (random weights, all-MiniLM-L6-v2 shape)'}, pool ${pool}, sizes ${sizes.join(', ')} lines\n`);
  const results: Measured[] = [];
  let resume: Record<string, number> | undefined;
  try {
    for (const n of sizes) {
      const file = path.join(dir, `corpus-${n}.txt`);
      buildCorpus(n, file);
      const modes = n === fullAt ? ['embed', 'stream', 'cli'] : otherModes;
      let c: Measured | undefined;
      for (let round = 0; round < (n === fullAt ? rounds : 1); round++) {
        for (const mode of modes) {
          const m = mode === 'cli' ? await runCli(file, path.join(dir, `out-${n}.npy`), n) : runChild(mode, file);
          if (mode === 'cli') c = m;
          results.push({ ...m, round });
          console.log(JSON.stringify({ ...m, round }));
        }
      }
      if (n === fullAt && c) {
        resume = await resumeCost(file, path.join(dir, `resumed-${n}.npy`), n, c);
        const same = fs.readFileSync(path.join(dir, `resumed-${n}.npy`)).equals(fs.readFileSync(path.join(dir, `out-${n}.npy`)));
        console.log(JSON.stringify({ resume, resumed_output_identical: same }));
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  // Each rate against embed() on the same texts in the same round.
  const ratio = (r: Measured) => {
    const base = results.find((b) => b.mode === 'embed' && b.lines === r.lines && b.round === r.round);
    return base ? r.rate / base.rate : undefined;
  };
  const rows = ['| mode | lines | round | texts/s | × embed() | first row ms | peak RSS MB |', '|---|---|---|---|---|---|---|'];
  for (const r of results) {
    rows.push(`| ${r.mode} | ${r.lines} | ${r.round! + 1} | ${r.rate.toFixed(1)} | ${ratio(r)?.toFixed(3) ?? '—'} | ${r.first_row_ms.toFixed(0)} | ${r.peak_rss_mb.toFixed(0)} |`);
  }
  for (const mode of ['stream', 'cli']) {
    const ratios = results.filter((r) => r.mode === mode).map(ratio).filter((x) => x !== undefined).sort((a, b) => a - b);
    if (ratios.length > 1) rows.push(`\n${mode} ÷ embed(), median of ${ratios.length} rounds: ${ratios[ratios.length >> 1].toFixed(3)} (${ratios.map((x) => x.toFixed(3)).join(', ')})`);
  }
  console.log(`\n${rows.join('\n')}`);
  writeResults('corpus', smoke, { model: path.basename(modelDir), pool, sizes, results, resume });
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
