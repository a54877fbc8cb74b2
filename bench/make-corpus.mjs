#!/usr/bin/env node
// Builds the benchmark corpora from real text in ../shared/datasets (generated, never hand-typed):
//   prose-1000.jsonl  1,000 texts of mixed length: 1–6 consecutive sentences of SciFact abstracts
//   queries.jsonl     500 short real queries (SciFact claims, STSb sentences)
// Deterministic: the same files on every machine.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const shared = process.env.FASTEMBED_SHARED ?? path.resolve(here, '../../shared');
const out = path.join(here, 'corpora');
fs.mkdirSync(out, { recursive: true });

let seed = 42;
const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296);

const abstracts = fs
  .readFileSync(path.join(shared, 'datasets/scifact/corpus.jsonl'), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l).text)
  .filter((t) => typeof t === 'string' && t.length > 0);

const texts = [];
for (let a = 0; texts.length < 1000; a = (a + 7) % abstracts.length) {
  const sentences = abstracts[a].split(/(?<=[.!?])\s+(?=[A-Z])/);
  const start = Math.floor(rand() * sentences.length);
  // Mostly short, sometimes long: 1–2 sentences 60% of the time, up to 6 otherwise.
  const n = rand() < 0.6 ? 1 + Math.floor(rand() * 2) : 3 + Math.floor(rand() * 4);
  const text = sentences.slice(start, start + n).join(' ').trim();
  if (text.length > 0) texts.push(text);
}
fs.writeFileSync(path.join(out, 'prose-1000.jsonl'), texts.map((t) => JSON.stringify(t)).join('\n') + '\n');

const claims = fs
  .readFileSync(path.join(shared, 'datasets/scifact/queries.jsonl'), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l).text);
const sts = fs
  .readFileSync(path.join(shared, 'datasets/stsbenchmark/sts-dev.csv'), 'utf8')
  .split('\n')
  .map((l) => l.split('\t')[5])
  .filter(Boolean);
const queries = [...claims.slice(0, 250), ...sts.slice(0, 250)];
fs.writeFileSync(path.join(out, 'queries.jsonl'), queries.map((t) => JSON.stringify(t)).join('\n') + '\n');
console.log(`corpora: ${texts.length} prose texts, ${queries.length} queries → ${out}`);
