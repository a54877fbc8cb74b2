// The runtime layer: what runs on this machine beneath the engine — the native addon (ORT session pools, SIMD
// vector kernels), the ONNX Runtime library search, the tokenizer's native binding, and CPU/libc detection. It may
// import util/ only.
//
// The one typed interface to the native addon, and the ONNX Runtime library search.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { FastembedError } from '../util/errors.js';
import { linuxLibc, MUSL_MESSAGE } from './libc.js';
import { packageRoot } from '../util/paths.js';
import type { CompactNativeBinding } from './compact-native.js';

export type IdArray = Int32Array | Uint32Array | BigInt64Array;
export type Metric = 'cosine' | 'dot';
export type Pooling = 'mean' | 'cls' | 'none';

export interface TopKResult {
  /** Row indices, best first. */
  indices: Uint32Array;
  /** Scores of those rows, same order. */
  scores: Float32Array;
}

export interface NativeModelInfo {
  dim: number;
  inputNames: string[];
  outputName: string;
  outputRank: number;
  poolSize: number;
  intraOpThreads: number;
  loadedFromCache: boolean;
  closed: boolean;
}

/** Opaque handle from NativeModel.cancelToken(). */
export type CancelToken = { readonly __brand: 'CancelToken' };

export interface NativeModel {
  /** With a token, cancel(token) stops the run before or while ONNX Runtime runs it (rejects with ERR_CANCELLED). */
  run(inputIds: IdArray, attentionMask: IdArray, tokenTypeIds: IdArray | null, shape: [number, number], cancel?: CancelToken): Promise<Float32Array>;
  cancelToken(): CancelToken;
  cancel(token: CancelToken): void;
  close(): Promise<void>;
  info(): NativeModelInfo;
}

export interface CreateModelOptions {
  poolSize?: number;
  intraOpThreads?: number;
  /**
   * A folder where ORT's optimised graph is cached (model.onnx, and model.data with the weights and their prepacked
   * forms): made once, then every session maps the data file, so a pool shares one copy of the weights.
   */
  optimizedModelPath?: string;
  /** ORT's prepacked (GEMM-ready) weights (default true): faster; read from the cache folder, else one copy per session. */
  prepackWeights?: boolean;
  allowSpinning?: boolean;
  /** Nice value (0–19) of the threads that run inference (Linux). */
  threadNice?: number;
  pooling?: Pooling;
  normalize?: boolean;
}

export interface NativeBinding extends CompactNativeBinding {
  loadRuntime(candidates: string[]): { path: string; version: string };
  createModel(modelPath: string, options?: CreateModelOptions): Promise<NativeModel>;
  apiVersion: number;
  dot(a: Float32Array, b: Float32Array): number;
  cosine(a: Float32Array, b: Float32Array): number;
  normalize(v: Float32Array, dim?: number): Float32Array;
  scoreAll(query: Float32Array, matrix: Float32Array, metric?: Metric): Float32Array;
  topK(query: Float32Array, matrix: Float32Array, k: number, metric?: Metric): TopKResult;
  /** `threads`: worker threads to split the rows over (default: every hardware thread). */
  topKAsync(query: Float32Array, matrix: Float32Array, k: number, metric?: Metric, threads?: number): Promise<TopKResult>;
  simdLevel: string;
  /** JSON text of `v`'s values, each the shortest decimal that reads back as the same float32; with `dim`, an array
   *  of rows of `dim` values. */
  floatsJson(v: Float32Array, dim?: number): string;
  /** Frees glibc's malloc arena memory back to the OS (false elsewhere, or when there was none). */
  trimMemory(): Promise<boolean>;
}

let cached: NativeBinding | undefined;

/** Loads the addon (prebuild or local build) once; a failure says what was looked for and how to fix it. */
export function binding(): NativeBinding {
  if (cached) return cached;
  if (linuxLibc() === 'musl') throw new FastembedError(MUSL_MESSAGE, 'ERR_UNSUPPORTED_LIBC');
  const require = createRequire(import.meta.url);
  try {
    const load = require('node-gyp-build') as (dir: string) => NativeBinding;
    cached = load(packageRoot);
  } catch (err) {
    throw new FastembedError(
      `Could not load the fastembed-native addon for ${process.platform}-${process.arch} (Node ${process.version}).\n` +
        `Looked for prebuilds/${process.platform}-${process.arch}/ and build/Release/ under ${packageRoot}.\n` +
        'Fix: reinstall the package (npm install fastembed-native); to build from source you need cmake and a C++17 ' +
        "compiler, then run 'npm run build:native' in the package folder.\n" +
        `Cause: ${(err as Error).message}`,
      'ERR_ADDON_LOAD',
      { cause: err },
    );
  }
  const forced = process.env.FASTEMBED_SIMD;
  if (forced && forced !== cached.simdLevel) {
    process.emitWarning(`FASTEMBED_SIMD=${forced} is not available on this CPU (or not a level: scalar, avx2); using ${cached.simdLevel}`, {
      code: 'FASTEMBED_SIMD',
    });
  }
  return cached;
}

const libName = process.platform === 'darwin' ? 'libonnxruntime.dylib' : 'libonnxruntime.so.1';

/** Where libonnxruntime is looked for, in order: explicit option, ONNX_PATH, beside the addon, onnxruntime-node. */
export function runtimeCandidates(explicit?: string): string[] {
  const out: string[] = [];
  if (explicit) out.push(explicit);
  if (process.env.ONNX_PATH) out.push(process.env.ONNX_PATH);
  out.push(path.join(packageRoot, 'prebuilds', `${process.platform}-${process.arch}`, libName));
  out.push(path.join(packageRoot, 'build', 'Release', libName));
  try {
    const require = createRequire(import.meta.url);
    const ortNode = path.dirname(require.resolve('onnxruntime-node/package.json'));
    out.push(path.join(ortNode, 'bin', 'napi-v6', process.platform, process.arch, libName));
  } catch {
    // onnxruntime-node is optional at run time
  }
  // A directory given as ONNX_PATH/onnxRuntimePath means the library inside it.
  return out.map((p) => (fs.existsSync(p) && fs.statSync(p).isDirectory() ? path.join(p, libName) : p));
}

let runtime: { path: string; version: string } | undefined;

/**
 * Loads ONNX Runtime once per process. The first library that loads wins; asking for a different one later is an
 * error, not a silent no-op. When the requested library fails and a fallback loads, a process warning says so.
 */
export function loadOnnxRuntime(explicit?: string): { path: string; version: string } {
  const wanted = explicit ?? process.env.ONNX_PATH;
  const candidates = runtimeCandidates(explicit);
  if (!runtime) {
    runtime = binding().loadRuntime(candidates);
    if (wanted && path.resolve(candidates[0]) !== path.resolve(runtime.path)) {
      process.emitWarning(`fastembed-native: could not load ONNX Runtime from ${wanted}; using ${runtime.path}`);
    }
    return runtime;
  }
  if (wanted && path.resolve(candidates[0]) !== path.resolve(runtime.path)) {
    throw new FastembedError(
      `ONNX Runtime is already loaded from ${runtime.path} in this process; it cannot also load ${wanted}. ` +
        'Use one onnxRuntimePath/ONNX_PATH per process.',
      'ERR_ORT_ALREADY_LOADED',
    );
  }
  return runtime;
}
