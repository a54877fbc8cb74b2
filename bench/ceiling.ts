// The compute ceiling: the FLOPs a batch plan costs (from the model's shape) and the machine's measured sgemm rate
// (ONNX Runtime's own MatMul kernels on a large [M,K]×[K,N] product).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { DataType, encodeModel } from '../src/models/onnx-writer.js';

export interface BertShape {
  layers: number;
  hidden: number;
  ffn: number;
}

export function bertShape(modelDir: string): BertShape {
  const c = JSON.parse(fs.readFileSync(path.join(modelDir, 'config.json'), 'utf8'));
  return { layers: c.num_hidden_layers, hidden: c.hidden_size, ffn: c.intermediate_size };
}

/** FLOPs of one padded batch through a BERT encoder (projections, FFN and attention; embeddings and norms ignored). */
export function batchFlops(s: BertShape, rows: number, seqLen: number): number {
  const tokens = rows * seqLen;
  const projections = 2 * tokens * 4 * s.hidden * s.hidden;
  const ffn = 2 * tokens * 2 * s.hidden * s.ffn;
  const attention = 2 * 2 * rows * seqLen * seqLen * s.hidden;
  return s.layers * (projections + ffn + attention);
}

/**
 * GFLOP/s of float MatMuls in ONNX Runtime with `threads` intra-op threads: the best of the encoder's two GEMM
 * shapes ([M,384]×[384,1536] and [M,1536]×[384]) at M = 4096 tokens.
 */
export async function sgemmGflops(requireFrom: string, threads: number): Promise<number> {
  const ort = createRequire(requireFrom)('onnxruntime-node');
  const M = 4096;
  let best = 0;
  for (const [K, N] of [
    [384, 1536],
    [1536, 384],
  ]) {
    const w = new Float32Array(K * N).map((_, i) => ((i * 2654435761) % 1000) / 1000 - 0.5);
    const bytes = encodeModel({
      name: 'sgemm',
      opset: 17,
      nodes: [{ op: 'MatMul', inputs: ['a', 'w'], outputs: ['c'] }],
      initializers: [{ name: 'w', dims: [K, N], type: DataType.FLOAT, data: w }],
      inputs: [{ name: 'a', type: DataType.FLOAT, shape: [M, K] }],
      outputs: [{ name: 'c', type: DataType.FLOAT, shape: [M, N] }],
    });
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fe-sgemm-')), 'sgemm.onnx');
    fs.writeFileSync(file, bytes);
    const session = await ort.InferenceSession.create(file, { intraOpNumThreads: threads, graphOptimizationLevel: 'all' });
    const a = new ort.Tensor('float32', new Float32Array(M * K).fill(0.5), [M, K]);
    for (let i = 0; i < 3; i++) await session.run({ a });
    const reps = 20;
    const t = performance.now();
    for (let i = 0; i < reps; i++) await session.run({ a });
    const seconds = (performance.now() - t) / 1000;
    await session.release();
    best = Math.max(best, (reps * 2 * M * K * N) / seconds / 1e9);
  }
  return best;
}
