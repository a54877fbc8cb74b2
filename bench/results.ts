// Where a benchmark leaves its numbers: bench/results/<name>.json (<name>-smoke.json for a --smoke run), the date and
// the machine first, then the bench's own fields; written whole or not at all.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../src/util/atomic-write.js';
import { describeMachine } from './machine.js';

// Bundled to bench/dist/<bench>.js, so one folder up is bench/.
const resultsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'results');

/** Writes `{ date, machine, ...data }` to bench/results (created when missing); returns the file's path. */
export function writeResults(name: string, smoke: boolean, data: object, smokeName = `${name}-smoke`): string {
  const file = path.join(resultsDir, `${smoke ? smokeName : name}.json`);
  fs.mkdirSync(resultsDir, { recursive: true });
  writeFileAtomic(file, Buffer.from(JSON.stringify({ date: new Date().toISOString(), machine: describeMachine(), ...data }, null, 2)));
  return file;
}
