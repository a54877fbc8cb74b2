// Finds a model's files: a local directory, the model cache, or (only when missing) a download from the hub.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';
import { FastembedError } from '../util/errors.js';
import { downloadFile, terminalProgress, type DownloadProgress } from './download.js';
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

/** The model's directory in the cache, downloading missing files first. */
export async function ensureModelDir(spec: ModelSpec, options: ResolveOptions = {}): Promise<string> {
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const dir = path.join(cacheDir, spec.id);
  const revision = spec.revision ?? 'main';
  const absent = readAbsent(dir, revision);
  const missing = spec.files.filter((f) => !fs.existsSync(path.join(dir, f.local)) && !absent.has(f.local));
  if (missing.length === 0) return dir;

  const endpoint = (options.endpoint ?? process.env.HF_ENDPOINT ?? DEFAULT_HUB_ENDPOINT).replace(/\/+$/, '');
  const progress = options.onDownloadProgress ?? (options.showProgress && process.stderr.isTTY ? terminalProgress() : undefined);
  for (const file of missing) {
    const url = `${endpoint}/${spec.hfRepo}/resolve/${revision}/${file.path}`;
    const required = REQUIRED.includes(file.local);
    try {
      await downloadFile(url, path.join(dir, file.local), {
        sha256: file.sha256,
        size: file.size,
        signal: options.signal,
        onProgress: progress,
      });
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
  return dir;
}
