// What both parts of npm run bench:http share: where things are, the smoke switch, the run lengths and the queries
// (built by make-corpus.mjs when missing).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const here = path.dirname(fileURLToPath(import.meta.url));
export const benchDir = path.resolve(here, '..');
export const shared = process.env.FASTEMBED_SHARED ?? path.resolve(benchDir, '../../shared');
export const smoke = process.argv.includes('--smoke');
export const seconds = smoke ? 3 : 5;
// Runs alternate, and each row reports the median of its rounds: this machine's speed drifts by ±15% from minute to
// minute, more than the difference being measured.
export const rounds = smoke ? 1 : 3;
export const queriesFile = path.join(benchDir, 'corpora', 'queries.jsonl');
if (!fs.existsSync(queriesFile)) execFileSync(process.execPath, [path.join(benchDir, 'make-corpus.mjs')], { stdio: 'inherit' });
export const queries = fs.readFileSync(queriesFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as string);
