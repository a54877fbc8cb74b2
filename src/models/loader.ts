// Finds a model's files: a local directory, the model cache, or (only when missing) a download from the hub; a cached
// file the registry pins is checked against its pin before use, however it got there.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';
import { FastembedError } from '../util/errors.js';
import { downloadFile, sha256Of, terminalProgress, type DownloadProgress } from './download.js';
import type { ModelSpec } from './registry.js';

export const DEFAULT_HUB_ENDPOINT = 'https://huggingface.co';

/** FASTEMBED_CACHE_DIR, else $XDG_CACHE_HOME/fastembed-native, else ~/.cache/fastembed-native. */
export function defaultCacheDir(): string {
  if (process.env.FASTEMBED_CACHE_DIR) return path.resolve(process.env.FASTEMBED_CACHE_DIR);
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'fastembed-native');
}

export interface ResolveOptions {
  cacheDir?: string;
  /** Hub base URL; HF_ENDPOINT overrides the default (mirrors, tests). */
  endpoint?: string;
  showProgress?: boolean;
  onDownloadProgress?: (p: DownloadProgress) => void;
  signal?: AbortSignal;
}

const REQUIRED = ['model.onnx', 'tokenizer.json'];

/** Checks that `dir` holds a model; the error lists what is missing. Returns the model.onnx path. */
export function checkModelDir(dir: string): string {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new FastembedError(`Model directory ${dir} does not exist; it must contain ${REQUIRED.join(' and ')}`, 'ERR_MODEL_FILES');
  }
  const missing = REQUIRED.filter((f) => !fs.existsSync(path.join(dir, f)));
  if (missing.length > 0) {
    throw new FastembedError(
      `Model directory ${dir} is missing ${missing.join(', ')}; a model directory needs model.onnx and ` +
        'tokenizer.json (plus config.json, special_tokens_map.json, tokenizer_config.json when available)',
      'ERR_MODEL_FILES',
    );
  }
  return path.join(dir, 'model.onnx');
}

/** Optional files the hub does not have at a revision (HTTP 404), so a restart neither asks again nor needs the network. */
const ABSENT_FILE = '.fastembed-absent.json';

interface AbsentRecord {
  revision: string;
  files: string[];
}

function readAbsent(dir: string, revision: string): Set<string> {
  try {
    const record = JSON.parse(fs.readFileSync(path.join(dir, ABSENT_FILE), 'utf8')) as AbsentRecord;
    return new Set(record.revision === revision ? record.files : []);
  } catch {
    return new Set();
  }
}

/** Digests of the cache's pinned files, each valid while the file keeps the size and mtime it was hashed at. */
const VERIFIED_FILE = '.fastembed-verified.json';

type VerifiedRecord = Record<string, { size: number; mtimeMs: number; sha256: string }>;

function readVerified(dir: string): VerifiedRecord {
  try {
    const record = JSON.parse(fs.readFileSync(path.join(dir, VERIFIED_FILE), 'utf8')) as unknown;
    return record !== null && typeof record === 'object' && !Array.isArray(record) ? (record as VerifiedRecord) : {};
  } catch {
    return {}; // none yet, or unreadable: the files are hashed again
  }
}

const describeFile = (sha256: string | undefined, size: number | undefined) =>
  [sha256 && `sha256 ${sha256}`, size !== undefined && `${size} bytes`].filter(Boolean).join(', ');

/**
 * Checks every pinned file present in `dir` against the registry: the size at every call, the sha256 once per size
 * and mtime (remembered in VERIFIED_FILE). `fresh` holds digests download just computed, so they are not read twice.
 */
async function verifyPinnedFiles(spec: ModelSpec, dir: string, fresh: ReadonlyMap<string, string>): Promise<void> {
  const record = readVerified(dir);
  let learned = false;
  for (const file of spec.files) {
    if (file.sha256 === undefined && file.size === undefined) continue;
    const full = path.join(dir, file.local);
    const st = fs.statSync(full, { throwIfNoEntry: false });
    if (!st) continue; // an optional file the hub does not have
    const pin = file.sha256?.toLowerCase();
    const known = record[file.local];
    let digest = known && known.size === st.size && known.mtimeMs === st.mtimeMs ? known.sha256 : undefined;
    const sizeOk = file.size === undefined || st.size === file.size;
    if (sizeOk && (pin === undefined || digest === pin)) continue;
    digest ??= fresh.get(file.local) ?? (await sha256Of(full));
    if (sizeOk && digest === pin) {
      record[file.local] = { size: st.size, mtimeMs: st.mtimeMs, sha256: digest };
      learned = true;
      continue;
    }
    throw new FastembedError(
      `${full} is not the file model '${spec.id}' pins (it has ${describeFile(digest, st.size)}; the pin is ` +
        `${describeFile(pin, file.size)}). Delete ${dir} to download the model again, or pass modelPath ` +
        '(CLI: --model-path) pointing at a folder of your own files, which are not checked against the pins.',
      'ERR_CHECKSUM',
    );
  }
  if (!learned) return;
  try {
    writeFileAtomic(path.join(dir, VERIFIED_FILE), Buffer.from(JSON.stringify(record)));
  } catch {
    // A read-only cache (a mounted volume) still works: its files are hashed at every start instead.
  }
}

/** The model's directory in the cache, downloading missing files first; pinned files are verified before it returns. */
export async function ensureModelDir(spec: ModelSpec, options: ResolveOptions = {}): Promise<string> {
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const dir = path.join(cacheDir, spec.id);
  const revision = spec.revision ?? 'main';
  const absent = readAbsent(dir, revision);
  const missing = spec.files.filter((f) => !fs.existsSync(path.join(dir, f.local)) && !absent.has(f.local));
  const fresh = new Map<string, string>();
  if (missing.length > 0) await downloadMissing(spec, dir, missing, absent, fresh, options);
  await verifyPinnedFiles(spec, dir, fresh);
  return dir;
}

async function downloadMissing(
  spec: ModelSpec,
  dir: string,
  missing: ModelSpec['files'],
  absent: Set<string>,
  fresh: Map<string, string>,
  options: ResolveOptions,
): Promise<void> {
  const revision = spec.revision ?? 'main';
  const endpoint = (options.endpoint ?? process.env.HF_ENDPOINT ?? DEFAULT_HUB_ENDPOINT).replace(/\/+$/, '');
  const progress = options.onDownloadProgress ?? (options.showProgress && process.stderr.isTTY ? terminalProgress() : undefined);
  for (const file of missing) {
    const url = `${endpoint}/${spec.hfRepo}/resolve/${revision}/${file.path}`;
    const required = REQUIRED.includes(file.local);
    try {
      const digest = await downloadFile(url, path.join(dir, file.local), {
        sha256: file.sha256,
        size: file.size,
        signal: options.signal,
        onProgress: progress,
      });
      fresh.set(file.local, digest);
    } catch (err) {
      if (!required && err instanceof FastembedError && err.code === 'ERR_DOWNLOAD') {
        // An optional file: remembered when the hub says it has none, retried next time when the network failed.
        if (/HTTP 404/.test(err.message)) {
          absent.add(file.local);
          writeFileAtomic(path.join(dir, ABSENT_FILE), Buffer.from(JSON.stringify({ revision, files: [...absent] } satisfies AbsentRecord)));
        }
        continue;
      }
      if (err instanceof FastembedError && err.code === 'ERR_DOWNLOAD') {
        throw new FastembedError(
          `${err.message}\nModel '${spec.id}' is not in the cache (${dir}) and could not be downloaded. If this machine ` +
            `is offline, copy the model's files (${spec.files.map((f) => f.local).join(', ')}) from ` +
            `${spec.hfRepo} into ${dir}, or pass modelPath (on the command line: --model-path or FASTEMBED_MODEL_PATH) pointing at a directory that holds them.`,
          'ERR_DOWNLOAD',
          { cause: err },
        );
      }
      throw err;
    }
  }
}
