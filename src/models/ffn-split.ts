// An FFN whose activations have outlier channels, split in two by channel: the outliers' whole path — their columns
// of the up projection, the activation, their rows of the down projection — runs in fp32, the rest in int8
// (LLM.int8()'s decomposition, channels fixed by calibration). Splitting the weights instead of the activations costs
// no pass over the [tokens, 4H] activation (a mask and a gather did: 7 % of the int8 model's time).
import { DataType, type TensorSpec, writeNode } from './onnx-writer.js';
import { biasAdd, constantMatMul, floatsOf, isScalarConstant, renamedNode, type ConstantMatMul, type OnnxGraph, type OnnxNode } from './onnx-graph.js';
import { ProtoWriter } from './protobuf.js';

/** Element-wise ops activations are written with: GELU (erf or tanh form, or one op), ReLU, SiLU. */
const ELEMENTWISE = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Sqrt', 'Erf', 'Tanh', 'Sigmoid', 'Relu', 'Gelu']);

export interface Ffn {
  up: OnnxNode;
  upMatMul: ConstantMatMul;
  /** The Add of the up projection's bias: its output enters the activation. */
  upBias: { add: OnnxNode; bias: string; values: Float32Array };
  /** The activation's nodes, in graph order (none for an FFN without one). */
  activation: OnnxNode[];
  down: OnnxNode;
}

/**
 * The FFN ending in `down` (a MatMul whose input has `K` channels): up projection to K channels, its bias, then only
 * element-wise ops with scalar constants, used by nothing else. undefined for any other shape.
 */
export function findFfn(g: OnnxGraph, down: OnnxNode, K: number): Ffn | undefined {
  const activation = new Set<OnnxNode>();
  let up: { node: OnnxNode; m: ConstantMatMul; bias: Ffn['upBias'] } | undefined;
  const upOf = (add: OnnxNode) => {
    for (const i of add.inputs) {
      const node = g.producer.get(i);
      const m = node && constantMatMul(g, node);
      const bias = m && m.N === K && (g.consumers.get(m.weight.name) ?? []).length === 1 ? biasAdd(g, node, K) : undefined;
      const values = bias?.add === add ? floatsOf(g.inits.get(bias.bias)!) : undefined;
      if (values) return { node: node!, m: m!, bias: { ...bias!, values } };
    }
    return undefined;
  };
  const visit = (tensor: string): boolean => {
    const p = g.producer.get(tensor);
    if (!p || g.graphOutputs.has(tensor)) return false;
    if (p === up?.bias.add || activation.has(p)) return true;
    const found = up ? undefined : upOf(p);
    if (found) {
      up = found;
      return true;
    }
    const domainOk = p.domain === '' || (p.domain === 'com.microsoft' && p.op === 'Gelu');
    if (!ELEMENTWISE.has(p.op) || !domainOk || p.outputs.length !== 1) return false;
    activation.add(p);
    return p.inputs.every((i) => isScalarConstant(g, i) || visit(i));
  };
  if (!visit(down.inputs[0]) || !up) return undefined;
  // Self-contained: what the up projection and activation compute is used only inside them and by `down`.
  const inside = new Set([...activation, down]);
  for (const n of [up.bias.add, ...activation]) {
    if (!(g.consumers.get(n.outputs[0]) ?? []).every((c) => inside.has(c))) return undefined;
  }
  return { up: up.node, upMatMul: up.m, upBias: up.bias, activation: g.nodes.filter((n) => activation.has(n)), down };
}

/** Columns `cols` of a row-major [rows, n] matrix, as a [rows, cols.length] one. */
function columns(m: Float32Array, n: number, cols: number[]): Float32Array {
  const rows = m.length / n;
  const out = new Float32Array(rows * cols.length);
  for (let r = 0; r < rows; r++) cols.forEach((c, i) => (out[r * cols.length + i] = m[r * n + c]));
  return out;
}

/** Rows `rows` of a row-major [*, n] matrix. */
function rowsOf(m: Float32Array, n: number, rows: number[]): Float32Array {
  const out = new Float32Array(rows.length * n);
  rows.forEach((r, i) => out.set(m.subarray(r * n, (r + 1) * n), i * n));
  return out;
}

export interface FfnSplit {
  /** The up projection's weights and bias without the outlier channels, for int8. */
  up: { weights: Float32Array; K: number; N: number; bias: TensorSpec };
  /** The down projection's weights without the outlier channels, for int8. */
  down: { weights: Float32Array; K: number; N: number };
  /** fp32 nodes computing the outlier channels' share of the down projection into `output`, and their weights. */
  nodes: Uint8Array;
  inits: TensorSpec[];
  output: string;
}

/** Splits `ffn` at `channels` (the activation's outlier channels, ascending). */
export function splitFfn(ffn: Ffn, channels: number[], down: ConstantMatMul): FfnSplit {
  const { K: H, N: K } = ffn.upMatMul;
  const biasValues = ffn.upBias.values;
  const outliers = new Set(channels);
  const rest = [...Array(K).keys()].filter((c) => !outliers.has(c));
  const p = `${down.weight.name}_outliers`;
  const inits: TensorSpec[] = [
    { name: `${p}_up_w`, dims: [H, channels.length], type: DataType.FLOAT, data: columns(ffn.upMatMul.weights, K, channels) },
    { name: `${p}_up_b`, dims: [channels.length], type: DataType.FLOAT, data: Float32Array.from(channels, (c) => biasValues[c]) },
    { name: `${p}_down_w`, dims: [channels.length, down.N], type: DataType.FLOAT, data: rowsOf(down.weights, down.N, channels) },
  ];
  // The outlier branch: its own up projection and bias, a renamed copy of the activation, its rows of the down one.
  const internal = new Set([ffn.upBias.add, ...ffn.activation].map((n) => n.outputs[0]));
  const rename = (t: string) => (internal.has(t) ? `${t}__${p}` : t);
  const w = new ProtoWriter();
  writeNode(w, { op: 'MatMul', inputs: [ffn.up.inputs[0], `${p}_up_w`], outputs: [`${p}_up`], name: `${p}_up` });
  writeNode(w, { op: 'Add', inputs: [`${p}_up`, `${p}_up_b`], outputs: [rename(ffn.upBias.add.outputs[0])], name: `${p}_up_bias` });
  for (const n of ffn.activation) w.raw(renamedNode(n, rename, `__${p}`));
  writeNode(w, { op: 'MatMul', inputs: [rename(ffn.down.inputs[0]), `${p}_down_w`], outputs: [`${p}_fp32`], name: `${p}_down` });
  return {
    up: {
      weights: columns(ffn.upMatMul.weights, K, rest),
      K: H,
      N: rest.length,
      bias: { name: `${ffn.upBias.bias}_rest`, dims: [rest.length], type: DataType.FLOAT, data: Float32Array.from(rest, (c) => biasValues[c]) },
    },
    down: { weights: rowsOf(down.weights, down.N, rest), K: rest.length, N: down.N },
    nodes: w.finish(),
    inits,
    output: `${p}_fp32`,
  };
}
