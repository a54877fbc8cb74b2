// Dynamic int8 quantisation of an ONNX encoder: MatMuls by a constant float weight become ONNX Runtime's
// DynamicQuantizeMatMul (weights int8, symmetric, one scale per output column; activations quantised at run time,
// one scale per batch). Down projections (K > N: the FFN's second MatMul, fed by GELU) have heavy-tailed inputs: one
// uint8 scale for the whole batch cost all-MiniLM-L6-v2 its worst texts (min cosine to fp32 0.968). Given their
// outlier channels (outlier-channels.ts) they are split: those channels multiply in fp32, the rest in int8, and the
// two products are added; without, they stay fp32. Everything else in the model is copied byte for byte.
import { DataType, type TensorSpec, writeInitializer, writeNode } from './onnx-writer.js';
import type { DownProjection } from './outlier-channels.js';
import { fieldString, ProtoWriter, readFields, repeatedInts, type Field } from './protobuf.js';

export interface QuantizeReport {
  matmuls: number;
  quantized: number;
  /** Down projections left in fp32 (no outlier channels given for them). */
  keptFp32: number;
  /** Down projections split into fp32 outlier channels and int8 for the rest. */
  split: number;
  bytesBefore: number;
  bytesAfter: number;
}

interface Initializer {
  name: string;
  dims: number[];
  dataType: number;
  fields: Field[];
}

function floatsOf(t: Initializer): Float32Array | undefined {
  const raw = t.fields.find((f) => f.field === 9)?.bytes;
  if (raw) {
    const copy = new Uint8Array(raw); // aligned copy
    return new Float32Array(copy.buffer, 0, copy.length / 4);
  }
  // float_data: packed (wire 2) or one fixed32 per value (wire 5); both carry little-endian float bytes.
  const parts = t.fields.filter((f) => f.field === 4).map((f) => f.bytes!);
  if (parts.length === 0) return undefined; // external data or empty: leave it alone
  const total = parts.reduce((a, p) => a + p.length, 0);
  const all = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  return new Float32Array(all.buffer, 0, total / 4);
}

const initializer = (t: TensorSpec): Uint8Array => {
  const w = new ProtoWriter();
  writeInitializer(w, t);
  return w.finish();
};

function parse(model: Uint8Array) {
  const modelFields = readFields(model);
  const graphField = modelFields.find((f) => f.field === 7);
  if (!graphField) throw new Error('not an ONNX model: no graph');
  const graph = readFields(graphField.bytes!);

  const inits = new Map<string, Initializer>();
  for (const f of graph.filter((g) => g.field === 5)) {
    const fields = readFields(f.bytes!);
    const name = fields.find((x) => x.field === 8);
    if (!name) continue;
    inits.set(fieldString(name), {
      name: fieldString(name),
      dims: repeatedInts(fields, 1),
      dataType: Number(fields.find((x) => x.field === 2)?.value ?? 0n),
      fields,
    });
  }
  const graphInputs = new Set(graph.filter((g) => g.field === 11).map((g) => fieldString(readFields(g.bytes!).find((x) => x.field === 1)!)));
  const nodes = graph.filter((g) => g.field === 1).map((g) => ({ field: g, fields: readFields(g.bytes!) }));
  const uses = new Map<string, number>();
  for (const n of nodes) for (const i of n.fields.filter((x) => x.field === 1)) uses.set(fieldString(i), (uses.get(fieldString(i)) ?? 0) + 1);
  const opset = modelFields
    .filter((f) => f.field === 8)
    .map((f) => readFields(f.bytes!))
    .filter((o) => !o.some((x) => x.field === 1 && fieldString(x) !== ''))
    .map((o) => Number(o.find((x) => x.field === 2)?.value ?? 0n))[0];
  return { modelFields, graph, inits, graphInputs, nodes, uses, opset };
}

/** MatMul by a 2-D float initializer, the weight and its values; undefined for anything else. */
function constantMatMul(n: { fields: Field[] }, inits: Map<string, Initializer>) {
  const op = n.fields.find((x) => x.field === 4);
  const domain = n.fields.find((x) => x.field === 7);
  if (!op || fieldString(op) !== 'MatMul' || (domain && fieldString(domain) !== '')) return undefined;
  const inputs = n.fields.filter((x) => x.field === 1).map(fieldString);
  const b = inits.get(inputs[1]);
  if (!b || b.dataType !== DataType.FLOAT || b.dims.length !== 2 || b.dims[0] < 16 || b.dims[1] < 16) return undefined;
  const weights = floatsOf(b);
  return weights && weights.length === b.dims[0] * b.dims[1] ? { inputs, b, weights } : undefined;
}

/** The FFN down projections (K > N, weight used by them alone) that the calibration measures. */
export function downProjections(model: Uint8Array): DownProjection[] {
  const { nodes, inits, uses, opset } = parse(model);
  if (!(opset >= 11)) return []; // Gather with axis -1, which the split needs
  return nodes.flatMap((n) => {
    const m = constantMatMul(n, inits);
    return m && m.b.dims[0] > m.b.dims[1] && uses.get(m.b.name) === 1 ? [{ input: m.inputs[0], weight: m.b.name, K: m.b.dims[0] }] : [];
  });
}

/**
 * Quantises `model` (ONNX bytes). `outliers` (weight name → input channels, from outlierChannels) lets the down
 * projections be quantised too. Throws if it is not a model this can read.
 */
export function quantizeInt8(model: Uint8Array, outliers: Map<string, number[]> = new Map()): { bytes: Uint8Array; report: QuantizeReport } {
  const { modelFields, graph, inits, graphInputs, nodes, uses } = parse(model);
  const report: QuantizeReport = { matmuls: 0, quantized: 0, keptFp32: 0, split: 0, bytesBefore: model.length, bytesAfter: 0 };
  const dropped = new Set<string>();
  const added: Uint8Array[] = [];
  const rewritten = new Map<Field, Uint8Array>();
  for (const n of nodes) {
    const op = n.fields.find((x) => x.field === 4);
    if (op && fieldString(op) === 'MatMul') report.matmuls++;
    const m = constantMatMul(n, inits);
    if (!m) continue;
    const { inputs, b } = m;
    const outputs = n.fields.filter((x) => x.field === 2).map(fieldString);
    const [K, N] = b.dims;
    let weights = m.weights;
    const channels = K > N ? outliers.get(b.name) : [];
    if (channels === undefined) {
      report.keptFp32++;
      continue;
    }
    let split: { input: string; output: string; nodes: Uint8Array } | undefined;
    if (channels.length > 0) {
      // Outlier channels: zeroed in the int8 product's input (so they don't set its scale) and weight, and
      // multiplied in fp32 instead: y = int8(x · mask, W · mask) + x[:, outliers] · W[outliers, :].
      const mask = new Float32Array(K).fill(1);
      const wOut = new Float32Array(channels.length * N);
      weights = weights.slice();
      channels.forEach((k, i) => {
        mask[k] = 0;
        wOut.set(weights.subarray(k * N, (k + 1) * N), i * N);
        weights.fill(0, k * N, (k + 1) * N);
      });
      const p = `${b.name}_split`;
      added.push(initializer({ name: `${p}_mask`, dims: [K], type: DataType.FLOAT, data: mask }));
      added.push(initializer({ name: `${p}_idx`, dims: [channels.length], type: DataType.INT64, data: BigInt64Array.from(channels, BigInt) }));
      added.push(initializer({ name: `${p}_w`, dims: [channels.length, N], type: DataType.FLOAT, data: wOut }));
      const g = new ProtoWriter();
      const op2 = (op: string, ins: string[], out: string, axis?: number) =>
        writeNode(g, { op, inputs: ins, outputs: [out], name: `${out}_node`, attrs: axis === undefined ? {} : { axis } });
      op2('Mul', [inputs[0], `${p}_mask`], `${p}_inliers`);
      op2('Gather', [inputs[0], `${p}_idx`], `${p}_outliers`, -1);
      op2('MatMul', [`${p}_outliers`, `${p}_w`], `${p}_fp32`);
      split = { input: `${p}_inliers`, output: `${p}_int8`, nodes: g.finish() };
      report.split++;
    }
    const scale = new Float32Array(N);
    for (let k = 0; k < K; k++) for (let c = 0; c < N; c++) scale[c] = Math.max(scale[c], Math.abs(weights[k * N + c]));
    for (let c = 0; c < N; c++) scale[c] = scale[c] > 0 ? scale[c] / 127 : 1;
    const q = new Int8Array(K * N);
    for (let k = 0; k < K; k++) {
      for (let c = 0; c < N; c++) q[k * N + c] = Math.max(-127, Math.min(127, Math.round(weights[k * N + c] / scale[c])));
    }
    const qName = `${b.name}_int8`;
    const sName = `${b.name}_int8_scale`;
    if (!inits.has(qName)) {
      inits.set(qName, { name: qName, dims: [K, N], dataType: DataType.INT8, fields: [] });
      added.push(initializer({ name: qName, dims: [K, N], type: DataType.INT8, data: q }));
      added.push(initializer({ name: sName, dims: [N], type: DataType.FLOAT, data: scale }));
    }
    const node = new ProtoWriter();
    const name = n.fields.find((x) => x.field === 3);
    writeNode(node, {
      op: 'DynamicQuantizeMatMul',
      domain: 'com.microsoft',
      inputs: [split?.input ?? inputs[0], qName, sName],
      outputs: split ? [split.output] : outputs,
      ...(name ? { name: `${fieldString(name)}_int8` } : {}),
    });
    // A split's nodes replace the MatMul where it stood, keeping the graph in topological order.
    if (split) writeNode(node, { op: 'Add', inputs: [split.output, `${b.name}_split_fp32`], outputs: [outputs[0]], name: `${b.name}_split_add` });
    rewritten.set(n.field, split ? Buffer.concat([split.nodes, node.finish()]) : node.finish());
    report.quantized++;
    uses.set(b.name, (uses.get(b.name) ?? 1) - 1);
    if (uses.get(b.name) === 0 && !graphInputs.has(b.name)) dropped.add(b.name);
  }

  const g = new ProtoWriter();
  for (const f of graph) {
    if (f.field === 5) {
      const name = readFields(f.bytes!).find((x) => x.field === 8);
      if (name && dropped.has(fieldString(name))) continue;
    }
    g.raw(rewritten.get(f) ?? f.raw);
  }
  // Repeated fields may come in any position on the wire: the new initializers simply follow everything else.
  for (const a of added) g.raw(a);
  const graphBytes = g.finish();

  const m = new ProtoWriter();
  const opsetDomain = (f: Field) => {
    const domain = readFields(f.bytes!).find((x) => x.field === 1);
    return domain ? fieldString(domain) : '';
  };
  const hasMs = modelFields.some((f) => f.field === 8 && opsetDomain(f) === 'com.microsoft');
  for (const f of modelFields) {
    if (f.field === 7) m.bytes(7, graphBytes);
    else m.raw(f.raw);
  }
  if (!hasMs && report.quantized > 0) m.message(8, (w) => w.string(1, 'com.microsoft').int(2, 1));
  const bytes = m.finish();
  report.bytesAfter = bytes.length;
  return { bytes, report };
}
