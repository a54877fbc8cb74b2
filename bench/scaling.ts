// npm run bench:scaling — how cost grows: docs/s against text length and against the number of texts per call
// (fp32 and int8), and top-k time over 10k / 100k / 1M cached 384-d vectors with the memory bandwidth it reaches.
// Writes SVG charts to docs/bench/ and the tables between the scaling markers of BENCHMARKS.md. `--smoke`: a small
// run that writes only bench/results/scaling-smoke.json (CI).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Embedder } from 'fastembed-native';
import { describeMachine } from './machine.js';
import { writeResults } from './results.js';
import { lineChart } from './svg-chart.js';
import { timeIt } from './timing.js';
import { DIM, topkPaths } from './topk.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const benchDir = path.resolve(here, '..');
const root = path.resolve(benchDir, '..');
const smoke = process.argv.includes('--smoke');
const shared = process.env.FASTEMBED_SHARED ?? path.resolve(root, '../shared');
const modelDir = process.env.FASTEMBED_BENCH_MODEL ?? path.join(shared, 'models', 'minilm-l6-shape');

const LENGTHS = smoke ? [16, 128] : [8, 16, 32, 64, 128, 256, 512];
const BATCHES = smoke ? [1, 16] : [1, 2, 4, 8, 16, 32, 64, 128, 256];
const BATCH_LENGTH = 64; // tokens per text in the batch-size sweep: a sentence or a short passage
const TOPK_ROWS = smoke ? [10_000] : [10_000, 100_000, 1_000_000];

/** Real token sequences of exactly `length` ids ([CLS] … [SEP]) cut from the corpus' token stream. */
function sequences(stream: number[], cls: number, sep: number, length: number, count: number): number[][] {
  const body = length - 2;
  return Array.from({ length: count }, (_, i) => {
    const at = (i * body) % Math.max(1, stream.length - body);
    return [cls, ...stream.slice(at, at + body), sep];
  });
}

async function main(): Promise<void> {
  const corpus = fs.readFileSync(path.join(benchDir, 'corpora', 'prose-1000.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as string);
  const cacheDir = path.join(benchDir, '.cache');
  const variants = [
    { name: 'fp32', embedder: await Embedder.create({ model: 'all-MiniLM-L6-v2', modelPath: modelDir, cacheDir, maxLength: 512 }) },
    { name: 'int8', embedder: await Embedder.create({ model: 'all-MiniLM-L6-v2', modelPath: modelDir, cacheDir, maxLength: 512, quantize: 'int8' }) },
  ];
  const tokenized = await variants[0].embedder.tokenize(corpus);
  const [cls, sep] = [tokenized[0].ids[0], tokenized[0].ids[tokenized[0].length - 1]];
  const stream = tokenized.flatMap((t) => t.ids.slice(1, t.length - 1));
  const minMs = smoke ? 300 : 2500;

  const byLength = variants.map((v) => ({ name: v.name, points: [] as Array<[number, number]> }));
  for (const length of LENGTHS) {
    const seqs = sequences(stream, cls, sep, length, Math.max(8, Math.min(256, Math.floor(16_384 / length))));
    for (const [i, v] of variants.entries()) {
      const ms = await timeIt(() => v.embedder.embedTokens(seqs), minMs);
      byLength[i].points.push([length, (seqs.length * 1000) / ms]);
    }
  }
  const byBatch = variants.map((v) => ({ name: v.name, points: [] as Array<[number, number]> }));
  for (const batch of BATCHES) {
    const seqs = sequences(stream, cls, sep, BATCH_LENGTH, batch);
    for (const [i, v] of variants.entries()) {
      const ms = await timeIt(() => v.embedder.embedTokens(seqs), minMs);
      byBatch[i].points.push([batch, (batch * 1000) / ms]);
    }
  }
  for (const v of variants) await v.embedder.close();

  const topk = await topkPaths(TOPK_ROWS, smoke ? 200 : 2000);
  const gbPerS = (rows: number, ms: number) => (rows * DIM * 4) / 1e9 / (ms / 1000);

  const machine = describeMachine();
  const charts = {
    'length.svg': lineChart({ title: 'Throughput against text length (all-MiniLM-L6-v2 shape)', xLabel: 'tokens per text', yLabel: 'texts per second', series: byLength, logX: true }),
    'batch.svg': lineChart({ title: `Throughput against texts per call (${BATCH_LENGTH} tokens each)`, xLabel: 'texts per embed call', yLabel: 'texts per second', series: byBatch, logX: true }),
    'topk.svg': lineChart({ title: `findMostSimilar search step: top-10 of N × ${DIM} floats`, xLabel: 'vectors searched', yLabel: 'GB/s read', series: [
        { name: 'SharedArrayBuffer', points: topk.map((t) => [t.rows, gbPerS(t.rows, t.sharedMs)]) },
        { name: 'Float32Array', points: topk.map((t) => [t.rows, gbPerS(t.rows, t.plainMs)]) },
      ],
      logX: true,
    }),
  };
  const table = (head: string, rows: Array<[number, number]>[], names: string[], unit: (v: number) => string) =>
    [`| ${head} | ${names.join(' | ')} |`, `|---|${names.map(() => '---|').join('')}`, ...rows[0].map(([x], j) => `| ${x} | ${rows.map((r) => unit(r[j][1])).join(' | ')} |`)].join('\n');
  const md = [
    `Machine: ${machine}. Model: ${path.basename(modelDir)}; one session, default settings (maxLength 512 so the sweep reaches the model's limit); real token ids cut to exact lengths.`,
    '',
    '![docs/s against text length](docs/bench/length.svg)',
    '',
    table('tokens per text', byLength.map((s) => s.points), byLength.map((s) => `${s.name} texts/s`), (v) => v.toFixed(1)),
    '',
    '![docs/s against texts per call](docs/bench/batch.svg)',
    '',
    table(`texts per call (${BATCH_LENGTH} tokens)`, byBatch.map((s) => s.points), byBatch.map((s) => `${s.name} texts/s`), (v) => v.toFixed(1)),
    '',
    '![top-k bandwidth](docs/bench/topk.svg)',
    '',
    'SharedArrayBuffer: worker threads on every usable CPU read the matrix in place (how the service searches); ' +
      'Float32Array: the calling thread, in 4 MB slices with the event loop running between them.',
    '',
    '| vectors (384-d) | bytes read | SharedArrayBuffer ms | GB/s | Float32Array ms | GB/s |',
    '|---|---|---|---|---|---|',
    ...topk.map(
      (t) =>
        `| ${t.rows.toLocaleString('en')} | ${((t.rows * DIM * 4) / 1e6).toFixed(0)} MB | ${t.sharedMs.toFixed(2)} | ${gbPerS(t.rows, t.sharedMs).toFixed(1)} | ` +
        `${t.plainMs.toFixed(2)} | ${gbPerS(t.rows, t.plainMs).toFixed(1)} |`,
    ),
  ].join('\n');
  console.log(md);
  writeResults('scaling', smoke, { byLength, byBatch, topk });
  if (smoke) return;
  const docs = path.join(root, 'docs', 'bench');
  fs.mkdirSync(docs, { recursive: true });
  for (const [file, svg] of Object.entries(charts)) fs.writeFileSync(path.join(docs, file), svg);
  const bmPath = path.join(root, 'BENCHMARKS.md');
  const bm = fs.readFileSync(bmPath, 'utf8');
  const begin = '<!-- scaling:begin (written by npm run bench:scaling) -->';
  const end = '<!-- scaling:end -->';
  if (!bm.includes(begin) || !bm.includes(end)) throw new Error(`BENCHMARKS.md lacks the markers ${begin} … ${end}`);
  fs.writeFileSync(bmPath, `${bm.slice(0, bm.indexOf(begin) + begin.length)}\n${md}\n${bm.slice(bm.indexOf(end))}`);
  console.error('bench:scaling: wrote docs/bench/*.svg and the scaling section of BENCHMARKS.md');
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
