// Dynamic int8 quantisation of an ONNX encoder: MatMuls by a constant float weight become ONNX Runtime's
// DynamicQuantizeMatMul (weights int8 with a 7-bit range, symmetric, one scale per output column; activations quantised at run time,
// one scale per batch), with the bias Add that follows folded in (added in the GEMM's output pass, not in one of its
// own). Down projections (K > N: the FFN's second MatMul, fed by GELU) have heavy-tailed inputs: one uint8 scale for
// the whole batch cost all-MiniLM-L6-v2 its worst texts (min cosine to fp32 0.968). Given their outlier channels
// (outlier-channels.ts) their FFN is split (ffn-split.ts): those channels in fp32, the rest in int8; without, they
// stay fp32. Everything else in the model is copied byte for byte.
import { findFfn, splitFfn, type Ffn } from './ffn-split.js';
import { biasAdd, constantMatMul, parseModel, withGraph, type OnnxNode } from './onnx-graph.js';
import { DataType, type TensorSpec, writeInitializer, writeNode } from './onnx-writer.js';
import type { DownProjection } from './outlier-channels.js';
import { ProtoWriter, type Field } from './protobuf.js';

export interface QuantizeReport {
  matmuls: number;
  quantized: number;
  /** Down projections left in fp32 (no outlier channels given for them, or an FFN of a shape the split can't read). */
  keptFp32: number;
  /** FFNs split into fp32 outlier channels and int8 for the rest. */
  split: number;
  /** Bias Adds folded into the int8 MatMul before them. */
  foldedBiases: number;
  bytesBefore: number;
  bytesAfter: number;
}

/**
 * The weights' range: 7 bits, not 8. ONNX Runtime's u8×s8 kernel on CPUs without VNNI (AVX2, AVX-512 without VNNI)
 * multiplies with vpmaddubsw, which adds two u8×s8 products into a saturating int16: with full-range weights a
 * pair can pass 32,767 and is clipped. all-MiniLM-L6-v2 rarely got there; bge-small-zh-v1.5 did on every text
 * (mean cosine to fp32 0.866 with 8 bits, 0.996 with 7). ONNX Runtime's own quantizer documents the same remedy
 * (reduce_range). The file is the same on every CPU, so replicas on mixed hardware can share it.
 */
const WEIGHT_MAX = 63;

/** Symmetric 7-bit weights in int8, one scale per column of a row-major [K, N] matrix. */
function quantizeColumns(weights: Float32Array, K: number, N: number): { q: Int8Array; scale: Float32Array } {
  const scale = new Float32Array(N);
  for (let k = 0; k < K; k++) for (let c = 0; c < N; c++) scale[c] = Math.max(scale[c], Math.abs(weights[k * N + c]));
  for (let c = 0; c < N; c++) scale[c] = scale[c] > 0 ? scale[c] / WEIGHT_MAX : 1;
  const q = new Int8Array(K * N);
  for (let k = 0; k < K; k++) {
    for (let c = 0; c < N; c++) q[k * N + c] = Math.max(-WEIGHT_MAX, Math.min(WEIGHT_MAX, Math.round(weights[k * N + c] / scale[c])));
  }
  return { q, scale };
}

/** The FFN down projections (K > N, weight used by them alone) that the calibration measures. */
export function downProjections(model: Uint8Array): DownProjection[] {
  const g = parseModel(model);
  return g.nodes.flatMap((n) => {
    const m = constantMatMul(g, n);
    return m && m.K > m.N && g.consumers.get(m.weight.name)?.length === 1 ? [{ input: n.inputs[0], weight: m.weight.name, K: m.K }] : [];
  });
}

/**
 * Quantises `model` (ONNX bytes). `outliers` (weight name → input channels, from outlierChannels) lets the down
 * projections be quantised too. Throws if it is not a model this can read.
 */
export function quantizeInt8(model: Uint8Array, outliers: Map<string, number[]> = new Map()): { bytes: Uint8Array; report: QuantizeReport } {
  const g = parseModel(model);
  const report: QuantizeReport = { matmuls: 0, quantized: 0, keptFp32: 0, split: 0, foldedBiases: 0, bytesBefore: model.length, bytesAfter: 0 };
  const rewritten = new Map<Field, Uint8Array>(); // node → what replaces it (empty: removed)
  const added: TensorSpec[] = [];
  const uses = new Map([...g.inits.keys()].map((name) => [name, g.consumers.get(name)?.length ?? 0]));
  const released = new Set<string>();
  const release = (name: string) => {
    released.add(name);
    uses.set(name, uses.get(name)! - 1);
  };

  const dqmm = (input: string, weight: string, weights: Float32Array, K: number, N: number, bias: string | undefined, output: string) => {
    const qName = `${weight}_int8`;
    if (!added.some((t) => t.name === qName)) {
      const { q, scale } = quantizeColumns(weights, K, N);
      added.push({ name: qName, dims: [K, N], type: DataType.INT8, data: q }, { name: `${qName}_scale`, dims: [N], type: DataType.FLOAT, data: scale });
    }
    const w = new ProtoWriter();
    writeNode(w, {
      op: 'DynamicQuantizeMatMul',
      domain: 'com.microsoft',
      inputs: [input, qName, `${qName}_scale`, ...(bias ? ['', bias] : [])],
      outputs: [output],
      name: `${output}_int8`,
    });
    return w.finish();
  };
  /**
   * `n` quantised, the bias Add after it folded in. `output` is what the graph reads from them (the Add's output, or
   * `n`'s); the int8 node writes it, or `into` when given.
   */
  const quantized = (n: OnnxNode, weight: string, weights: Float32Array, K: number, N: number, into?: string) => {
    const bias = biasAdd(g, n, N);
    if (bias) {
      rewritten.set(bias.add.field, new Uint8Array());
      report.foldedBiases++;
    }
    report.quantized++;
    const output = bias ? bias.add.outputs[0] : n.outputs[0];
    return { node: dqmm(n.inputs[0], weight, weights, K, N, bias?.bias, into ?? output), output };
  };

  // FFNs to split, found first: their up projection comes before the down projection that decides.
  const splits = new Map<OnnxNode, { ffn: Ffn; channels: number[] }>();
  for (const n of g.nodes) {
    const m = constantMatMul(g, n);
    const channels = m && m.K > m.N ? outliers.get(m.weight.name) : undefined;
    const ffn = channels?.length ? findFfn(g, n, m!.K) : undefined;
    if (ffn) splits.set(n, { ffn, channels: channels! });
  }
  const ups = new Set([...splits.values()].map((s) => s.ffn.up));

  for (const n of g.nodes) {
    if (n.op === 'MatMul' && n.domain === '') report.matmuls++;
    const m = constantMatMul(g, n);
    if (!m || ups.has(n)) continue;
    const split = splits.get(n);
    if (split) {
      const { ffn, channels } = split;
      const s = splitFfn(ffn, channels, m);
      added.push(...s.inits, s.up.bias);
      // The up projection's rest takes its bias along and writes the tensor the activation reads.
      rewritten.set(ffn.up.field, dqmm(ffn.up.inputs[0], `${ffn.upMatMul.weight.name}_rest`, s.up.weights, s.up.K, s.up.N, s.up.bias.name, ffn.upBias.add.outputs[0]));
      rewritten.set(ffn.upBias.add.field, new Uint8Array());
      report.quantized++;
      report.foldedBiases++;
      release(ffn.upMatMul.weight.name);
      release(ffn.upBias.bias);
      // The down projection's int8 rest plus the fp32 outlier branch, where the down projection stood.
      const int8 = quantized(n, `${m.weight.name}_rest`, s.down.weights, s.down.K, s.down.N, `${s.output}_rest`);
      const sum = new ProtoWriter();
      writeNode(sum, { op: 'Add', inputs: [`${s.output}_rest`, s.output], outputs: [int8.output], name: `${s.output}_sum` });
      rewritten.set(n.field, Buffer.concat([s.nodes, int8.node, sum.finish()]));
      report.split++;
    } else if (m.K > m.N && outliers.get(m.weight.name)?.length !== 0) {
      report.keptFp32++; // not calibrated, or an FFN the split can't read
      continue;
    } else {
      rewritten.set(n.field, quantized(n, m.weight.name, m.weights, m.K, m.N).node);
    }
    release(m.weight.name);
  }

  const unused = new Set([...released].filter((n) => uses.get(n) === 0 && !g.graphInputs.has(n)).map((n) => g.inits.get(n)!.field));
  const graph = new ProtoWriter();
  for (const f of g.graph) if (!unused.has(f)) graph.raw(rewritten.get(f) ?? f.raw);
  // Repeated fields may come in any position on the wire: the new initializers simply follow everything else.
  for (const t of added) writeInitializer(graph, t);
  const bytes = withGraph(g.modelFields, graph.finish(), report.quantized > 0 ? { 'com.microsoft': 1 } : {});
  report.bytesAfter = bytes.length;
  return { bytes, report };
}
