// Exercises the ASan build of the addon (path in argv[2]): create/run/close, errors, close with jobs in flight, math
// (fp32 and compact top-k, on the calling thread and the helper threads).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'package.json'));
const b = require(process.argv[2]);
const ortLib = path.join(path.dirname(require.resolve('onnxruntime-node/package.json')), 'bin/napi-v6/linux', process.arch, 'libonnxruntime.so.1');
b.loadRuntime([ortLib]);

// ORT itself is not instrumented, so the full-size shared model costs no more than a tiny one here.
const shared = process.env.FASTEMBED_SHARED ?? path.resolve(root, '../shared');
const modelFile = process.env.LEAK_MODEL ?? path.join(shared, 'models', 'minilm-l6-shape', 'model.onnx');
const model = await b.createModel(modelFile, { poolSize: 2 });
const ids = new Int32Array([101, 7592, 2088, 102, 101, 2023, 102, 0]);
const mask = new Int32Array([1, 1, 1, 1, 1, 1, 1, 0]);
for (let i = 0; i < 50; i++) await model.run(ids, mask, null, [2, 4]);
await Promise.all(Array.from({ length: 20 }, () => model.run(ids, mask, null, [2, 4])));
await model.run(new Int32Array([101, 999999, 102]), new Int32Array([1, 1, 1]), null, [1, 3]).catch(() => undefined);
try { model.run(ids, mask.subarray(1), null, [2, 4]); } catch {}
const pending = Array.from({ length: 10 }, () => model.run(ids, mask, null, [2, 4]));
await model.close();
await Promise.allSettled(pending);
await b.createModel(path.join(os.tmpdir(), 'missing-model.onnx')).catch(() => undefined);
for (let i = 0; i < 5; i++) {
  const m = await b.createModel(modelFile, {});
  await m.run(ids, mask, null, [2, 4]);
  await m.close();
}
const q = Float32Array.from({ length: 384 }, (_, i) => Math.sin(i));
const m = Float32Array.from({ length: 384 * 3000 }, (_, i) => Math.cos(i));
b.topK(q, m, 10);
await b.topKAsync(q, m, 10);
await Promise.all(Array.from({ length: 6 }, () => b.topKAsync(q, m, 10, 'dot', 4))); // parts on the helper threads
b.scoreAll(q, m);
b.normalize(Float32Array.from(q));
// Compact vectors: int8 and sign-bit rows, searched on this thread and on the helpers, several searches at once.
const rows = 3000;
const codes = new Int8Array(rows * 384);
const scales = new Float32Array(rows);
b.quantizeInt8(m, 384, codes, scales);
const bits = new Uint8Array(Math.ceil(rows / 32) * 32 * 48);
b.packSigns(m, 384, bits, 0);
b.storeSigns(new Uint8Array(48 * 2), 384, bits, rows - 2);
for (const index of [{ dim: 384, codes, scales }, { dim: 384, rows, bits }, { dim: 384, rows, bits, floats: m }]) {
  b.compactScoreAll(q, index);
  b.compactTopK(q, index, 10, 500);
  await Promise.all(Array.from({ length: 6 }, () => b.compactTopKAsync(q, index, 10, 2500, 4)));
}
try { b.compactTopK(q, { dim: 384, rows: rows + 40, bits }, 10, 10); } catch {}
console.log('leak-check driver: done');
