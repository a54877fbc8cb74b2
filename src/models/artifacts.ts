// Files made from a model and kept in the cache directory: the int8 copy, the fused-attention copy and ONNX Runtime's
// optimised graph, each named by what it was made from; plus the content fingerprint that identifies a model file
// across replicas.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeFileAtomicAsync } from '../util/atomic-write.js';
import { binding } from '../runtime/binding.js';
import { FastembedError } from '../util/errors.js';
import { TextTokenizer } from '../runtime/tokenizer.js';
import { fuseAttention } from './attention-fusion.js';
import { CALIBRATION_TEXTS } from './calibration-text.js';
import { calibrationModel, outlierChannels } from './outlier-channels.js';
import { downProjections, quantizeInt8 } from './quantize.js';

/** Changes whenever quantizeInt8 makes different graphs: it names the cached file and enters the fingerprint. */
export const INT8_VERSION = 'int8-v6';

/**
 * Names the cached copies with fused attention (fp32's fused copy, and the int8 copy, which is fused too). Not in the
 * fingerprint: a fused graph computes the same vectors in another summation order (within ~1e-5, as a different
 * thread count does), so cached vectors stay valid.
 */
const FUSED_VERSION = 'attention-v1';

/**
 * A file's identity by content, cheap enough for start-up and the same on every replica (unlike mtime): its size and
 * the sha256 of its first and last 64 KiB, where an ONNX file keeps its graph and the first and last weights.
 */
export function contentFingerprint(file: string): string {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const chunk = Buffer.alloc(Math.min(size, 1 << 16));
    const hash = createHash('sha256').update(String(size));
    fs.readSync(fd, chunk, 0, chunk.length, 0);
    hash.update(chunk);
    fs.readSync(fd, chunk, 0, chunk.length, size - chunk.length);
    return hash.update(chunk).digest('hex');
  } finally {
    fs.closeSync(fd);
  }
}

/** The int8 copy of `modelFile` (its attention fused too), made on first use and written atomically into cacheDir/quantized. */
export async function quantizedModel(cacheDir: string, modelFile: string): Promise<string> {
  const st = fs.statSync(modelFile);
  const out = cacheFile(path.join(cacheDir, 'quantized'), [path.resolve(modelFile)], [st.size, st.mtimeMs, INT8_VERSION, FUSED_VERSION], '.onnx');
  if (fs.existsSync(out)) return claim(out);
  await fs.promises.mkdir(path.dirname(out), { recursive: true });
  const source = await fs.promises.readFile(modelFile);
  const { bytes, report } = quantizeInt8(source, await calibrate(source, path.dirname(modelFile), path.dirname(out)));
  if (report.quantized === 0) {
    throw new FastembedError(`quantize: 'int8' found no MatMul with constant weights in ${modelFile}; use the model as is`, 'ERR_QUANTIZE');
  }
  await writeFileAtomicAsync(out, fuseAttention(bytes).chunks);
  return claim(out);
}

/**
 * The fp32 model with its self-attention blocks fused (attention-fusion.ts), made on first use and written atomically
 * into cacheDir/fused; `modelFile` itself when it has no block that fuses, or is no ONNX this can read (ONNX Runtime
 * then says what is wrong with it), or the copy can't be written (with a warning: it runs, a little slower).
 */
export async function fusedModel(cacheDir: string, modelFile: string): Promise<string> {
  const st = fs.statSync(modelFile);
  const out = cacheFile(path.join(cacheDir, 'fused'), [path.resolve(modelFile)], [st.size, st.mtimeMs, FUSED_VERSION], '.onnx');
  if (fs.existsSync(out)) return claim(out);
  // Written in parts, most of them views of the source: the copy never sits in memory whole beside it.
  let fused: readonly Uint8Array[];
  try {
    const { chunks, report } = fuseAttention(await fs.promises.readFile(modelFile));
    if (report.fused === 0) return modelFile;
    fused = chunks;
  } catch {
    return modelFile;
  }
  try {
    await fs.promises.mkdir(path.dirname(out), { recursive: true });
    await writeFileAtomicAsync(out, fused);
  } catch (err) {
    process.emitWarning(`Cannot write the fused-attention copy of ${modelFile} (${(err as Error).message}); running it unfused, a little slower`, {
      code: 'FASTEMBED_ATTENTION_FUSION',
    });
    return modelFile;
  }
  return claim(out);
}

/**
 * The outlier channels of the model's FFN down projections, from every channel's largest |input| over
 * CALIBRATION_TEXTS (through a copy of the model that outputs them). A model this can't calibrate keeps its down
 * projections in fp32, with a warning.
 */
async function calibrate(model: Uint8Array, modelDir: string, tmpDir: string): Promise<Map<string, number[]>> {
  const downs = downProjections(model);
  if (downs.length === 0) return new Map();
  const tmp = path.join(tmpDir, `calibration-${process.pid}-${Date.now()}.onnx`);
  try {
    await writeFileAtomicAsync(tmp, calibrationModel(model, downs));
    const native = await binding().createModel(tmp, { pooling: 'none', normalize: false, prepackWeights: false });
    try {
      const amax = new Float32Array(downs.reduce((a, d) => a + d.K, 0));
      // One text per run: no padding tokens in the maxima.
      for (const t of await TextTokenizer.load(modelDir, 128).encodeBatch([...CALIBRATION_TEXTS])) {
        const ids = Int32Array.from(t.ids);
        const out = await native.run(ids, new Int32Array(ids.length).fill(1), null, [1, ids.length]);
        for (let j = 0; j < amax.length; j++) amax[j] = Math.max(amax[j], out[j]);
      }
      return outlierChannels(downs, amax);
    } finally {
      await native.close();
    }
  } catch (err) {
    process.emitWarning(`quantize: 'int8' could not calibrate ${modelDir} (${(err as Error).message}); its FFN down projections stay fp32`, {
      code: 'FASTEMBED_INT8_CALIBRATION',
    });
    return new Map();
  } finally {
    await fs.promises.rm(tmp, { force: true });
  }
}

/**
 * The folder where the optimised graph of `modelFile` is cached (its model.onnx and model.data). `sourceModel` and
 * `variant` name the slot it fills, with the CPU and the SIMD level, since ORT's "all" level bakes in hardware-specific
 * kernels; the file it is made from and the ORT version name its version. undefined if cacheDir isn't writable.
 */
export function optimizedGraphPath(
  cacheDir: string,
  sourceModel: string,
  variant: string,
  modelFile: string,
  ortVersion: string,
): string | undefined {
  try {
    const st = fs.statSync(modelFile);
    const cpu = os.cpus()[0]?.model ?? 'cpu';
    const dir = path.join(cacheDir, 'optimized');
    fs.mkdirSync(dir, { recursive: true });
    fs.accessSync(dir, fs.constants.W_OK);
    const slot = [path.resolve(sourceModel), variant, cpu, binding().simdLevel];
    // An int8 copy is named by what it was made from; its own mtime moves when claim() marks it used.
    const made = path.resolve(modelFile) !== path.resolve(sourceModel);
    const version = [path.resolve(modelFile), ortVersion, st.size, made ? '' : st.mtimeMs];
    return claim(cacheFile(dir, slot, version, ''));
  } catch {
    return undefined;
  }
}

const hash12 = (parts: unknown[]) => createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 12);

/** `<slot>-<version><ext>` in dir: a cache file fills one slot (what it is for); newer versions replace it. */
function cacheFile(dir: string, slot: unknown[], version: unknown[], ext: string): string {
  return path.join(dir, `${hash12(slot)}-${hash12(version)}${ext}`);
}

/** How long a cache file may go unused before another version of its slot replaces it for good. */
export const STALE_AFTER_MS = 24 * 3600 * 1000;

/**
 * Marks `file` used (its atime; no cache key reads a made file's mtime) and deletes the other versions in its slot,
 * and files of the older one-hash naming, unused for STALE_AFTER_MS: a re-exported model or a new ORT or int8 pass
 * would otherwise leave ~the model's size behind each time, while two installs of different versions sharing the
 * default cache dir keep both their files. Best effort: a file that won't go stays.
 */
function claim(file: string): string {
  const dir = path.dirname(file);
  const name = path.basename(file);
  const slot = name.slice(0, 13);
  const now = Date.now();
  try {
    fs.utimesSync(file, new Date(now), fs.statSync(file).mtime);
  } catch {
    // not made yet, or read-only: nothing to mark
  }
  // Temp files a crashed writer left count too; one being written now was touched a moment ago.
  const ours = (f: string) => f !== name && (f.startsWith(slot) || /^[0-9a-f]{24}\.(onnx|ort)$/.test(f));
  let names: string[] = [];
  try {
    names = fs.readdirSync(dir).filter(ours);
  } catch {
    // no folder yet, or not readable: nothing to tidy
  }
  for (const f of names) {
    try {
      const p = path.join(dir, f);
      if (now - fs.statSync(p).atimeMs > STALE_AFTER_MS) fs.rmSync(p, { force: true, recursive: true });
    } catch {
      // removed by another process first, or not ours to remove (permissions)
    }
  }
  return file;
}
