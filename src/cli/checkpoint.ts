// The sidecar checkpoint of a resumable `embed` run (<output>.checkpoint): how many rows the output durably holds,
// its byte length then, where the input goes on, and fingerprints of the input file and the model, so a resume never
// mixes two inputs or two models in one file. Written atomically (util/atomic-write) after the output is fsynced.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { writeFileAtomic } from '../util/atomic-write.js';
import { UsageError } from './args.js';

export interface InputFingerprint {
  size: number;
  mtimeMs: number;
  /** sha256 of the first and the last MiB. */
  sample: string;
}

/** Everything about a run that decides its output; a resume must match it exactly. */
export interface RunSettings {
  input: string;
  inputFormat: string;
  format: string;
  textField: string | null;
  idField: string | null;
  shard: string | null;
  query: boolean;
  skipEmpty: boolean;
  skipBad: boolean;
  /** The Embedder's fingerprint (model and tokenizer files by content, pooling, normalisation, max length). */
  model: string;
}

export interface Checkpoint {
  version: 1;
  settings: RunSettings;
  fingerprint: InputFingerprint;
  /** Rows the output holds, durably, and its length in bytes then. */
  rows: number;
  bytes: number;
  dim: number;
  /** The input index the run goes on from (the last written row's index + 1). */
  nextIndex: number;
  /** Blank and bad records skipped before nextIndex. */
  blank: number;
  bad: number;
}

export const checkpointPath = (output: string) => `${output}.checkpoint`;

const MIB = 1 << 20;

export function inputFingerprint(file: string): InputFingerprint {
  const { size, mtimeMs } = fs.statSync(file);
  const hash = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(Math.min(MIB, size));
    hash.update(buf.subarray(0, fs.readSync(fd, buf, 0, buf.length, 0)));
    if (size > MIB) hash.update(buf.subarray(0, fs.readSync(fd, buf, 0, buf.length, size - buf.length)));
  } finally {
    fs.closeSync(fd);
  }
  return { size, mtimeMs, sample: hash.digest('hex') };
}

export function readCheckpoint(file: string): Checkpoint | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const c = JSON.parse(text) as Checkpoint;
    if (c.version === 1 && Number.isSafeInteger(c.rows) && Number.isSafeInteger(c.bytes) && Number.isSafeInteger(c.nextIndex)) return c;
  } catch {
    // reported below
  }
  throw new UsageError(`${file} is not a checkpoint this version can read; delete it and the output to start over`);
}

export function writeCheckpoint(file: string, checkpoint: Checkpoint): void {
  writeFileAtomic(file, Buffer.from(`${JSON.stringify(checkpoint, null, 1)}\n`));
}

/** Refuses a resume whose input, model or settings differ from the checkpoint's, saying which. */
export function assertResumable(checkpoint: Checkpoint, settings: RunSettings, fingerprint: InputFingerprint, file: string, output: string): void {
  const was = checkpoint.settings;
  if (was.model !== settings.model) {
    throw new UsageError(`${output} was started with another model or recipe (fingerprint ${was.model.slice(0, 12)}…, now ${settings.model.slice(0, 12)}…); resume with the same model, or delete ${output} and its checkpoint to start over`);
  }
  for (const key of Object.keys(was) as Array<keyof RunSettings>) {
    if (key !== 'model' && was[key] !== settings[key]) {
      throw new UsageError(`${output} was started with ${key} ${JSON.stringify(was[key])}, now ${JSON.stringify(settings[key])}; resume with the same options, or delete ${output} and its checkpoint to start over`);
    }
  }
  const f = checkpoint.fingerprint;
  if (f.size !== fingerprint.size || f.mtimeMs !== fingerprint.mtimeMs || f.sample !== fingerprint.sample) {
    throw new UsageError(`${file} changed since ${output} was started (size, modification time or content differ); resume only with the same input, or delete ${output} and its checkpoint to start over`);
  }
  let size: number;
  try {
    size = fs.statSync(output).size;
  } catch {
    throw new UsageError(`${output} is missing but its checkpoint is there; delete ${checkpointPath(output)} to start over`);
  }
  if (size < checkpoint.bytes) throw new UsageError(`${output} is shorter (${size} bytes) than its checkpoint says (${checkpoint.bytes}); it was changed: delete it and its checkpoint to start over`);
}
