// npm run bench:lexical — BM25 (lexical) search: our LexicalIndex beside MiniSearch (JavaScript) and bm25s (Python),
// on the same corpora and the same queries in one run. Per system: index build time, the index's memory, and the
// latency of a top-10 query, one at a time (p50, p99). Each system runs in its own process.
//
//   SciFact     5,183 abstracts (title + " " + text), its 300 test claims as queries, nDCG@10 as a sanity check.
//   passages    1,000,000 short passages (1–3 sentences) drawn deterministically from SciFact abstracts' sentences and
//               STS-B train sentences; 300 queries: 200 SciFact test claims and 100 STS-B dev sentences not in the pool.
//
//   hybrid      dense against hybrid latency through SimilarityService on SciFact (bench/hybrid-latency.ts), with the
//               trained all-MiniLM-L6-v2 when installed.
// Goals (issue #30): on 1M short passages, query p50 ≤ 20 ms and index ≤ 400 MB; hybrid p50 ≤ 1.3× dense.
// Flags: --smoke (2,000 SciFact documents, 50 queries; 200 and 20 for hybrid: seconds), --only scifact|passages|hybrid, --passages N,
// --build-limit S (seconds a peer may take to build before it is stopped; default 300).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import stopwordLists from 'stopword';
import { benchModel } from './bench-model.js';
import { hybridAgainstDense, hybridLines, type HybridLatency } from './hybrid-latency.js';
import { describeMachine } from './machine.js';
import { p50p99 } from './percentiles.js';
import { writeResults } from './results.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const benchDir = path.resolve(here, '..');
const root = path.resolve(benchDir, '..');
const shared = process.env.FASTEMBED_SHARED ?? path.resolve(root, '../shared');
const corporaDir = path.join(benchDir, 'corpora');
const venvPython = path.join(path.resolve(process.env.FASTEMBED_CLIENTS_VENV ?? path.join(root, '.models', 'clients-venv')), 'bin', 'python');
const requireFromRoot = createRequire(path.join(root, 'package.json'));

const argv = process.argv.slice(2);
const flag = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const smoke = argv.includes('--smoke');
const only = flag('--only');
const passageCount = Number(flag('--passages') ?? 1_000_000);
const buildLimitS = Number(flag('--build-limit') ?? 300);
const K = 10;
const K1 = 1.5;
const B = 0.75;
const WARMUP = 50;
/** The heap a JavaScript system may grow to (V8's default is smaller than MiniSearch needs at 1M documents). */
const HEAP_MB = 8192;

const GOAL_P50_MS = 20;
const GOAL_INDEX_MB = 400;

type SystemName = 'LexicalIndex' | 'MiniSearch' | 'bm25s';
const SYSTEMS: SystemName[] = ['LexicalIndex', 'MiniSearch', 'bm25s'];

interface Job {
  corpus: string;
  queries: string;
  stopwords: string[];
  k: number;
  k1: number;
  b: number;
  warmup: number;
}

interface Measured {
  system: SystemName;
  version: string;
  build_ms: number;
  /** JavaScript: heapUsed + external after build and GC, less the same before (external includes arrayBuffers). */
  heap_delta?: number;
  rss_before: number;
  rss_after: number;
  peak_rss: number;
  query_ms: number[];
  top: number[][];
}

type Outcome = { ok: true; m: Measured } | { ok: false; why: string };

const readJsonl = <T>(file: string): T[] =>
  fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as T);
const writeJsonl = (file: string, rows: unknown[]) => {
  const fd = fs.openSync(file, 'w');
  for (let i = 0; i < rows.length; i += 10_000) fs.writeSync(fd, rows.slice(i, i + 10_000).map((r) => JSON.stringify(r) + '\n').join(''));
  fs.closeSync(fd);
};
const gc = () => {
  const g = (globalThis as { gc?: () => void }).gc;
  if (!g) throw new Error('run the child with node --expose-gc');
  g();
  g();
};

// ---------------------------------------------------------------------------------------------------------------
// The child: one system on one corpus. `node --expose-gc lexical.js child <system> <job.json>`, JSON lines on stdout.

async function child(system: 'LexicalIndex' | 'MiniSearch', job: Job): Promise<void> {
  const texts = readJsonl<string>(job.corpus);
  const queries = readJsonl<string>(job.queries);
  let build: () => void;
  let search: (q: string) => number[];
  let version: string;
  if (system === 'LexicalIndex') {
    const { LexicalIndex } = await import('fastembed-native');
    version = `fastembed-native ${String(requireFromRoot('./package.json').version)}`;
    let index: InstanceType<typeof LexicalIndex> | undefined;
    build = () => {
      index = LexicalIndex.build(texts, { k1: job.k1, b: job.b });
    };
    search = (q) => Array.from(index!.search(q, job.k).ids);
  } else {
    const { default: MiniSearch } = await import('minisearch');
    version = `minisearch ${String((JSON.parse(fs.readFileSync(path.join(root, 'node_modules', 'minisearch', 'package.json'), 'utf8')) as { version: string }).version)}`;
    const stop = new Set(job.stopwords);
    // MiniSearch's own tokenizer (splits on Unicode spaces and punctuation) and lower case, our stopword list, no
    // stemming (MiniSearch has none), exact terms (no prefix or fuzzy). Its BM25 with d = 0 (plain BM25, not BM25+).
    const docs = texts.map((text, id) => ({ id, text }));
    let ms: InstanceType<typeof MiniSearch> | undefined;
    build = () => {
      ms = new MiniSearch({
        fields: ['text'],
        processTerm: (term) => {
          const t = term.toLowerCase();
          return t && !stop.has(t) ? t : null;
        },
        searchOptions: { bm25: { k: job.k1, b: job.b, d: 0 } },
      });
      ms.addAll(docs);
    };
    // MiniSearch has no top-k: search() scores and sorts every matching document; we keep the first k.
    search = (q) => ms!.search(q).slice(0, job.k).map((r) => r.id as number);
  }
  gc();
  const m0 = process.memoryUsage();
  const t0 = performance.now();
  build();
  const buildMs = performance.now() - t0;
  gc();
  const m1 = process.memoryUsage();
  process.stdout.write(`${JSON.stringify({ phase: 'built', build_ms: buildMs })}\n`);
  for (const q of queries.slice(0, job.warmup)) search(q);
  const times: number[] = [];
  const top: number[][] = [];
  for (const q of queries) {
    const t = performance.now();
    const hits = search(q);
    times.push(performance.now() - t);
    top.push(hits);
  }
  const out: Measured & { phase: 'done' } = {
    phase: 'done',
    system,
    version,
    build_ms: buildMs,
    heap_delta: m1.heapUsed + m1.external - (m0.heapUsed + m0.external),
    rss_before: m0.rss,
    rss_after: m1.rss,
    peak_rss: process.resourceUsage().maxRSS * 1024,
    query_ms: times,
    top,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

// ---------------------------------------------------------------------------------------------------------------
// The parent: corpora, one child per system and corpus, the table.

let seed = 42;
const rand = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296;

interface SciFact {
  docIds: string[];
  texts: string[];
  testQueries: { id: string; text: string }[];
  qrels: Map<string, Set<string>>;
}

function readSciFact(): SciFact {
  const dir = path.join(shared, 'datasets', 'scifact');
  const corpus = readJsonl<{ _id: string; title: string; text: string }>(path.join(dir, 'corpus.jsonl'));
  const qrels = new Map<string, Set<string>>();
  for (const line of fs.readFileSync(path.join(dir, 'qrels', 'test.tsv'), 'utf8').trim().split('\n').slice(1)) {
    const [q, d, score] = line.split('\t');
    if (Number(score) > 0) qrels.set(q, (qrels.get(q) ?? new Set()).add(d));
  }
  const testQueries = readJsonl<{ _id: string; text: string }>(path.join(dir, 'queries.jsonl'))
    .filter((q) => qrels.has(q._id))
    .map((q) => ({ id: q._id, text: q.text }));
  return { docIds: corpus.map((d) => d._id), texts: corpus.map((d) => `${d.title} ${d.text}`), testQueries, qrels };
}

const stsColumn = (file: string) =>
  fs
    .readFileSync(path.join(shared, 'datasets', 'stsbenchmark', file), 'utf8')
    .split('\n')
    .flatMap((l) => l.split('\t').slice(5, 7))
    .map((s) => s.trim())
    .filter(Boolean);

/** The 1M-passage corpus and its queries, written once to bench/corpora (deterministic: the same on every machine). */
function passages(n: number, sf: SciFact): { corpus: string; queries: string; words: number } {
  const corpus = path.join(corporaDir, `lexical-passages-${n}.jsonl`);
  const queries = path.join(corporaDir, 'lexical-passages-queries.jsonl');
  const stsDev = [...new Set(stsColumn('sts-dev.csv'))];
  const trainSet = new Set(stsColumn('sts-train.csv'));
  const heldOut = stsDev.filter((s) => !trainSet.has(s) && s.split(/\s+/).length >= 5);
  const q = [...sf.testQueries.slice(0, 200).map((x) => x.text), ...Array.from({ length: 100 }, (_, i) => heldOut[Math.floor((i * heldOut.length) / 100)])];
  writeJsonl(queries, q);
  if (!fs.existsSync(corpus)) {
    const scifactSentences = sf.texts.flatMap((t) => t.split(/(?<=[.!?])\s+(?=[A-Z])/));
    const pool = [...new Set([...scifactSentences, ...trainSet].map((s) => s.trim()).filter((s) => s.length > 0))].sort();
    seed = 42;
    const rows: string[] = [];
    for (let i = 0; i < n; i++) {
      const r = rand();
      const count = r < 0.4 ? 1 : r < 0.8 ? 2 : 3;
      const parts: string[] = [];
      for (let j = 0; j < count; j++) parts.push(pool[Math.floor(rand() * pool.length)]);
      rows.push(parts.join(' '));
    }
    writeJsonl(corpus, rows);
  }
  let words = 0;
  let docs = 0;
  for (const t of readJsonl<string>(corpus)) {
    words += t.split(/\s+/).length;
    docs++;
  }
  return { corpus, queries, words: words / docs };
}

/** Runs one system in its own process; stops it if the build takes longer than the limit or queries take too long. */
function runChild(system: SystemName, jobFile: string): Promise<Outcome> {
  const [command, args] =
    system === 'bm25s'
      ? [venvPython, [path.join(benchDir, 'peers', 'python', 'bm25s_peer.py'), jobFile]]
      : [process.execPath, ['--expose-gc', `--max-old-space-size=${HEAP_MB}`, fileURLToPath(import.meta.url), 'child', system, jobFile]];
  if (system === 'bm25s' && !fs.existsSync(command)) {
    return Promise.resolve({ ok: false, why: `no ${path.relative(root, command)} (npm run clients:python installs bm25s and PyStemmer)` });
  }
  return new Promise((resolve) => {
    const p = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let built = false;
    let stopped: string | undefined;
    const stop = (why: string) => {
      stopped = why;
      p.kill('SIGKILL');
    };
    let timer = setTimeout(() => stop(`build not done after ${buildLimitS} s (stopped)`), buildLimitS * 1000);
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!built && /"phase":\s*"built"/.test(out)) {
        built = true;
        clearTimeout(timer);
        const b = JSON.parse(out.split('\n')[0]) as { build_ms: number };
        process.stderr.write(`  ${system}: built in ${(b.build_ms / 1000).toFixed(1)} s, querying…\n`);
        timer = setTimeout(() => stop(`queries not done after ${buildLimitS} s (stopped)`), buildLimitS * 1000);
      }
    });
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', (e) => resolve({ ok: false, why: e.message }));
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      const last = out.trim().split('\n').pop() ?? '';
      if (stopped) return resolve({ ok: false, why: stopped });
      if (/heap out of memory|MemoryError|Killed/i.test(err) || signal === 'SIGKILL') {
        return resolve({ ok: false, why: `out of memory${system === 'bm25s' ? '' : ` (heap limit ${HEAP_MB / 1024} GB)`}` });
      }
      if (code !== 0 || !last.startsWith('{')) return resolve({ ok: false, why: `exit ${code ?? signal}: ${err.trim().split('\n').slice(-3).join(' / ')}` });
      resolve({ ok: true, m: JSON.parse(last) as Measured });
    });
  });
}

function ndcg10(top: number[][], sf: SciFact): number {
  let sum = 0;
  sf.testQueries.forEach((q, i) => {
    const rel = sf.qrels.get(q.id)!;
    let dcg = 0;
    top[i].slice(0, 10).forEach((d, r) => {
      if (rel.has(sf.docIds[d])) dcg += 1 / Math.log2(r + 2);
    });
    let ideal = 0;
    for (let r = 0; r < Math.min(10, rel.size); r++) ideal += 1 / Math.log2(r + 2);
    sum += dcg / ideal;
  });
  return (100 * sum) / sf.testQueries.length;
}

const MB = 2 ** 20;
const fmt = (x: number, digits = 1) => (x >= 100 ? x.toFixed(0) : x.toFixed(digits));
/** The index's memory: the heap delta for JavaScript, the RSS delta for Python (no heap of its own to ask). */
const indexBytes = (m: Measured) => m.heap_delta ?? m.rss_after - m.rss_before;

async function main(): Promise<void> {
  if (argv[0] === 'child') return child(argv[1] as 'LexicalIndex' | 'MiniSearch', JSON.parse(fs.readFileSync(argv[2], 'utf8')) as Job);
  fs.mkdirSync(corporaDir, { recursive: true });
  const sf = readSciFact();
  const stopwords = stopwordLists.eng;

  interface Corpus {
    name: string;
    label: string;
    corpus: string;
    queries: string;
    docs: number;
    queryCount: number;
    scifact: boolean;
    goals: boolean;
  }
  const corpora: Corpus[] = [];
  if (smoke) {
    const corpus = path.join(corporaDir, 'lexical-smoke.jsonl');
    const queries = path.join(corporaDir, 'lexical-smoke-queries.jsonl');
    writeJsonl(corpus, sf.texts.slice(0, 2000));
    writeJsonl(queries, sf.testQueries.slice(0, 50).map((q) => q.text));
    corpora.push({ name: 'smoke', label: 'SciFact, first 2,000 docs', corpus, queries, docs: 2000, queryCount: 50, scifact: false, goals: false });
  } else {
    if (!only || only === 'scifact') {
      const corpus = path.join(corporaDir, 'lexical-scifact.jsonl');
      const queries = path.join(corporaDir, 'lexical-scifact-queries.jsonl');
      writeJsonl(corpus, sf.texts);
      writeJsonl(queries, sf.testQueries.map((q) => q.text));
      corpora.push({ name: 'scifact', label: `SciFact (${sf.texts.length.toLocaleString('en')} docs)`, corpus, queries, docs: sf.texts.length, queryCount: sf.testQueries.length, scifact: true, goals: false });
    }
    if (!only || only === 'passages') {
      process.stderr.write(`bench: the ${passageCount.toLocaleString('en')}-passage corpus…\n`);
      const p = passages(passageCount, sf);
      process.stderr.write(`  ${p.words.toFixed(1)} words a passage on average\n`);
      corpora.push({ name: 'passages', label: `${passageCount.toLocaleString('en')} short passages (${p.words.toFixed(0)} words avg)`, corpus: p.corpus, queries: p.queries, docs: passageCount, queryCount: 300, scifact: false, goals: passageCount >= 1_000_000 });
    }
  }

  let hybrid: HybridLatency | undefined;
  const model = benchModel(root, shared);
  if (!only || only === 'hybrid') {
    const [docs, queries] = smoke ? [200, 20] : [sf.texts.length, sf.testQueries.length];
    process.stderr.write(`bench: dense against hybrid on ${docs} SciFact documents (embedding them once)…\n`);
    hybrid = await hybridAgainstDense(model.modelDir, path.join(benchDir, '.cache'), sf.texts.slice(0, docs), sf.testQueries.slice(0, queries).map((q) => q.text));
  }

  const results: { corpus: Corpus; system: SystemName; outcome: Outcome }[] = [];
  for (const c of corpora) {
    const jobFile = path.join(corporaDir, `lexical-job-${c.name}.json`);
    const job: Job = { corpus: c.corpus, queries: c.queries, stopwords, k: K, k1: K1, b: B, warmup: Math.min(WARMUP, c.queryCount) };
    fs.writeFileSync(jobFile, JSON.stringify(job));
    for (const system of SYSTEMS) {
      process.stderr.write(`bench: ${system} on ${c.label}…\n`);
      const outcome = await runChild(system, jobFile);
      if (!outcome.ok) process.stderr.write(`  ${system}: ${outcome.why}\n`);
      results.push({ corpus: c, system, outcome });
    }
  }

  const lines: string[] = [];
  lines.push(`Machine: ${describeMachine()}`);
  if (results.length === 0 && hybrid) {
    lines.push('', ...hybridLines(hybrid, model.modelDir, model.trained));
    console.log(lines.join('\n'));
    return;
  }
  const versions = results.flatMap((r) => (r.outcome.ok ? [r.outcome.m.version] : []));
  lines.push(`Versions: ${[...new Set(versions)].join('; ')}. BM25 k1 = ${K1}, b = ${B}; top ${K}, one query at a time after ${WARMUP} warm-up queries.`);
  lines.push('');
  lines.push('| corpus | system | build s | index MB | RSS Δ MB | query p50 ms | query p99 ms | nDCG@10 |');
  lines.push('|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    if (!r.outcome.ok) {
      lines.push(`| ${r.corpus.label} | ${r.system} | ${r.outcome.why} | — | — | — | — | — |`);
      continue;
    }
    const m = r.outcome.m;
    const { p50, p99 } = p50p99(m.query_ms);
    const nd = r.corpus.scifact ? ndcg10(m.top, sf).toFixed(2) : '—';
    lines.push(
      `| ${r.corpus.label} | ${r.system} | ${fmt(m.build_ms / 1000, 2)} | ${fmt(indexBytes(m) / MB)}${m.heap_delta === undefined ? ' (RSS)' : ''} | ${fmt((m.rss_after - m.rss_before) / MB)} | ${p50.toFixed(3)} | ${p99.toFixed(3)} | ${nd} |`,
    );
  }
  lines.push('');
  lines.push('Ratios, peer ÷ LexicalIndex (above 1: ours is faster or smaller):');
  lines.push('');
  lines.push('| corpus | peer | build | index memory | query p50 | query p99 |');
  lines.push('|---|---|---|---|---|---|');
  for (const c of corpora) {
    const ours = results.find((r) => r.corpus === c && r.system === 'LexicalIndex')?.outcome;
    if (!ours?.ok) continue;
    const o = ours.m;
    const op = p50p99(o.query_ms);
    for (const peer of SYSTEMS.slice(1)) {
      const p = results.find((r) => r.corpus === c && r.system === peer)!.outcome;
      if (!p.ok) {
        lines.push(`| ${c.label} | ${peer} | ${p.why} | — | — | — |`);
        continue;
      }
      const pp = p50p99(p.m.query_ms);
      const x = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
      lines.push(`| ${c.label} | ${peer} | ${x(p.m.build_ms, o.build_ms)} | ${x(indexBytes(p.m), indexBytes(o))} | ${x(pp.p50, op.p50)} | ${x(pp.p99, op.p99)} |`);
    }
  }
  for (const c of corpora.filter((x) => x.goals)) {
    const ours = results.find((r) => r.corpus === c && r.system === 'LexicalIndex')!.outcome;
    lines.push('');
    if (!ours.ok) {
      lines.push(`Goals on ${c.label}: FAIL (${ours.why})`);
      continue;
    }
    const p50 = p50p99(ours.m.query_ms).p50;
    const mb = indexBytes(ours.m) / MB;
    lines.push(`Goals on ${c.label}:`);
    lines.push(`- query p50 ≤ ${GOAL_P50_MS} ms: ${p50.toFixed(2)} ms, ${p50 <= GOAL_P50_MS ? 'PASS' : 'FAIL'}`);
    lines.push(`- index ≤ ${GOAL_INDEX_MB} MB: ${mb.toFixed(0)} MB, ${mb <= GOAL_INDEX_MB ? 'PASS' : 'FAIL'}`);
  }
  if (hybrid) lines.push('', ...hybridLines(hybrid, model.modelDir, model.trained));
  lines.push('');
  lines.push(
    'index MB: heapUsed + external (external includes ArrayBuffers) after the build and GC, less the same before, for the JavaScript systems; ' +
      "RSS delta for bm25s (after gc.collect(), the tokenized corpus dropped). Build time includes analysis (tokenizing, stopwords, stemming). " +
      'LexicalIndex: its Analyzer (NFKC, lower case, stopword package English list, Porter2). MiniSearch: its tokenizer, lower case, the same stopwords, no stemming, ' +
      'BM25 with d = 0 and each document score × the number of query terms it matched (MiniSearch does that); search() scores and sorts every match, the top 10 are kept. ' +
      "bm25s: its Tokenizer (\\w\\w+, lower case), the same stopwords, PyStemmer's English Snowball stemmer, method lucene, numpy backend, retrieve(k=10) per query.",
  );
  const report = lines.join('\n');
  console.log(report);
  writeResults('lexical', smoke, {
    report,
    hybrid,
    results: results.map((r) => ({
      corpus: r.corpus.label,
      system: r.system,
      ...(r.outcome.ok
        ? { version: r.outcome.m.version, build_ms: r.outcome.m.build_ms, index_bytes: indexBytes(r.outcome.m), rss_delta: r.outcome.m.rss_after - r.outcome.m.rss_before, peak_rss: r.outcome.m.peak_rss, ...p50p99(r.outcome.m.query_ms) }
        : { skipped: r.outcome.why }),
    })),
  });
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
