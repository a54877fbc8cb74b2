// Fuses each BERT self-attention block into one of ONNX Runtime's attention operators (com.microsoft). In fp32 it
// becomes Attention: the Q, K and V projections one GEMM with N = 3 × hidden, and the heads' reshapes and transposes,
// QKᵀ, its scale, the padding mask, softmax and ·V one kernel. In the int8 model (quantize.ts) the int8 projections
// stay and the rest becomes MultiHeadAttention. ORT's own optimiser recognises these blocks in neither export we run
// (ours, bert-export.ts, and PyTorch's), and leaves ~12 nodes per layer; a short query pays ORT's per-node cost for
// each (measured on all-MiniLM-L6-v2: one 19-token query ~10% faster fused in fp32, bulk 2–6%). The maths is the
// same in another summation order (outputs within ~1e-5 of the unfused graph's).
//
// A block is fused only when it has exactly the expected shape: Softmax(Add(MatMul(Qᵗ, Kᵗ) ÷ √d, maskBias)) · Vᵗ,
// where each of Qᵗ, Kᵗ, Vᵗ is Transpose(Reshape(projection)) of one input h, the mask bias is
// (1 − mask[b, 1, 1, s]) × (large negative) of a graph input, and the context is transposed back and reshaped to
// [batch, seq, hidden]. Anything else stays as it is, and a rewrite that would leave a tensor unproduced is dropped.
import { constantMatMul, constantValues, intAttribute, intsAttribute, modelWriter, parseModel, type ConstantMatMul, type OnnxGraph, type OnnxNode } from './onnx-graph.js';
import { DataType, writeInitializer, writeNode, type TensorSpec } from './onnx-writer.js';
import { fieldString, ProtoWriter, readFields, type Field } from './protobuf.js';

export interface AttentionFusionReport {
  /** Softmax nodes seen (one per attention block in a BERT). */
  softmaxes: number;
  fused: number;
}

/** Q, K or V: a [batch, seq, N] projection of the block's input, split into heads. */
interface Projection {
  /** The projection itself (before the heads are split) and what it projects. */
  output: string;
  input: string;
  N: number;
  /** The Reshape and Transpose(s) that split the heads. */
  split: OnnxNode[];
  /** An fp32 MatMul by a constant plus its bias Add, which Attention's single QKV GEMM can take over. */
  fp32?: { matmul: ConstantMatMul; bias: Float32Array; nodes: OnnxNode[] };
}

interface Block {
  q: Projection;
  k: Projection;
  v: Projection;
  heads: number;
  scale: number;
  mask: string;
  output: string;
  /** QKᵀ to the context's Reshape, and the projections' head splits. */
  nodes: OnnxNode[];
}

const same = (a: number[] | undefined, b: number[]) => a !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);

function op(g: OnnxGraph, tensor: string, type: string): OnnxNode | undefined {
  const n = g.producer.get(tensor);
  return n && n.op === type && n.domain === '' && !g.graphOutputs.has(tensor) ? n : undefined;
}

/**
 * Transpose(s) with `perms` (outermost last) over Reshape(x), where x is Add(MatMul(h, W), b) in fp32 or an int8
 * DynamicQuantizeMatMul(h, W) (quantize.ts; its bias folded in).
 */
function projection(g: OnnxGraph, tensor: string, perms: number[][]): Projection | undefined {
  const split: OnnxNode[] = [];
  let t = tensor;
  for (const perm of perms) {
    const tr = op(g, t, 'Transpose');
    if (!tr || !same(intsAttribute(tr, 'perm'), perm)) return undefined;
    split.push(tr);
    t = tr.inputs[0];
  }
  const reshape = op(g, t, 'Reshape');
  if (!reshape) return undefined;
  split.push(reshape);
  const output = reshape.inputs[0];
  const int8 = g.producer.get(output);
  if (int8?.op === 'DynamicQuantizeMatMul' && int8.domain === 'com.microsoft') {
    const dims = g.inits.get(int8.inputs[1])?.dims;
    return dims?.length === 2 ? { output, input: int8.inputs[0], N: dims[1], split } : undefined;
  }
  const add = op(g, output, 'Add');
  if (!add) return undefined;
  const [mmOut, biasName] = g.producer.get(add.inputs[0])?.op === 'MatMul' ? add.inputs : [add.inputs[1], add.inputs[0]];
  const mm = op(g, mmOut, 'MatMul');
  const matmul = mm && constantMatMul(g, mm);
  const bias = constantValues(g, biasName);
  if (!matmul || !bias || bias.length !== matmul.N) return undefined;
  return { output, input: mm.inputs[0], N: matmul.N, split, fp32: { matmul, bias: Float32Array.from(bias), nodes: [add, mm] } };
}

/** The graph input of a (1 − mask[b, 1, 1, s]) × c bias with c ≤ −1000, and the nodes that make it. */
function maskInput(g: OnnxGraph, tensor: string): string | undefined {
  const mul = op(g, tensor, 'Mul');
  if (!mul) return undefined;
  const [subOut, c] = g.producer.get(mul.inputs[0])?.op === 'Sub' ? mul.inputs : [mul.inputs[1], mul.inputs[0]];
  const big = constantValues(g, c);
  const sub = op(g, subOut, 'Sub');
  if (!big || big.length !== 1 || !(big[0] <= -1000) || !sub || !same(constantValues(g, sub.inputs[0]), [1])) return undefined;
  // Cast and Unsqueeze back to a graph input of shape [batch, seq]; the axes must make it [batch, 1, 1, seq].
  const chain: OnnxNode[] = [];
  let t = sub.inputs[1];
  while (!g.graphInputs.has(t)) {
    const n = g.producer.get(t);
    if (!n || n.domain !== '' || (n.op !== 'Cast' && n.op !== 'Unsqueeze')) return undefined;
    chain.unshift(n);
    t = n.inputs[0];
  }
  let dims = ['batch', 'seq'];
  for (const n of chain) {
    if (n.op === 'Cast') continue;
    const axes = intsAttribute(n, 'axes') ?? constantValues(g, n.inputs[1] ?? '');
    if (!axes) return undefined;
    for (const a of [...axes].map((x) => (x < 0 ? x + dims.length + axes.length : x)).sort((x, y) => x - y)) dims.splice(a, 0, '1');
  }
  return dims.join() === 'batch,1,1,seq' ? t : undefined;
}

function matchBlock(g: OnnxGraph, softmax: OnnxNode): Block | undefined {
  const axis = intAttribute(softmax, 'axis');
  if (axis !== -1 && axis !== 3) return undefined;
  const add = op(g, softmax.inputs[0], 'Add');
  if (!add) return undefined;
  const scaledAt = [0, 1].find((i) => maskInput(g, add.inputs[1 - i]) !== undefined);
  if (scaledAt === undefined) return undefined;
  const mask = maskInput(g, add.inputs[1 - scaledAt])!;
  const scaled = op(g, add.inputs[scaledAt], 'Div') ?? op(g, add.inputs[scaledAt], 'Mul');
  if (!scaled) return undefined;
  // Div(scores, c), or Mul by c on either side.
  const at = scaled.op === 'Mul' && constantValues(g, scaled.inputs[0]) ? 0 : 1;
  const c = constantValues(g, scaled.inputs[at]);
  const qk = op(g, scaled.inputs[1 - at], 'MatMul');
  if (!c || c.length !== 1 || !(c[0] > 0) || !qk) return undefined;
  const scale = scaled.op === 'Div' ? 1 / c[0] : c[0];
  const q = projection(g, qk.inputs[0], [[0, 2, 1, 3]]);
  const k = projection(g, qk.inputs[1], [[0, 2, 3, 1]]) ?? projection(g, qk.inputs[1], [[0, 1, 3, 2], [0, 2, 1, 3]]);
  const users = g.consumers.get(softmax.outputs[0]) ?? [];
  const pv = users.length === 1 && users[0].op === 'MatMul' && users[0].inputs[0] === softmax.outputs[0] ? users[0] : undefined;
  const v = pv && projection(g, pv.inputs[1], [[0, 2, 1, 3]]);
  if (!q || !k || !v) return undefined;
  // The heads come from the scale (1/√d): every layout we know scales by it, and the Reshape shapes may be computed.
  const d = Math.round(1 / (scale * scale));
  const N = q.N;
  const sameProjection = (p: Projection) => p.N === N && p.input === q.input;
  if (!sameProjection(k) || !sameProjection(v) || d < 1 || N % d !== 0 || Math.abs(1 / Math.sqrt(d) - scale) > 1e-6 * scale) return undefined;
  // The context, back to [batch, seq, hidden].
  const back = g.consumers.get(pv!.outputs[0]) ?? [];
  const tr = back.length === 1 && back[0].op === 'Transpose' && same(intsAttribute(back[0], 'perm'), [0, 2, 1, 3]) ? back[0] : undefined;
  const reshape = tr && (g.consumers.get(tr.outputs[0]) ?? []).find((n) => n.op === 'Reshape' && n.inputs[0] === tr.outputs[0]);
  if (!reshape) return undefined;
  return {
    q,
    k,
    v,
    heads: N / d,
    scale,
    mask,
    output: reshape.outputs[0],
    nodes: [...q.split, ...k.split, ...v.split, qk, scaled, add, softmax, pv!, tr, reshape],
  };
}

/** [K, N] × 3 → [K, 3N] (rows of Q, K, V side by side, as Attention reads its weights). */
function packWeights(ms: ConstantMatMul[]): Float32Array {
  const { K, N } = ms[0];
  const out = new Float32Array(K * 3 * N);
  for (let r = 0; r < K; r++) ms.forEach((m, i) => out.set(m.weights.subarray(r * N, (r + 1) * N), r * 3 * N + i * N));
  return out;
}

/**
 * `model` (ONNX bytes) with every self-attention block it can read fused into one Attention (fp32) or
 * MultiHeadAttention (int8) node, in parts (most of them views of `model`: join them, or write them in order). With
 * none fused, `[model]`.
 */
export function fuseAttention(model: Uint8Array): { chunks: readonly Uint8Array[]; report: AttentionFusionReport } {
  const g = parseModel(model);
  const report: AttentionFusionReport = { softmaxes: 0, fused: 0 };
  const blocks: Block[] = [];
  for (const n of g.nodes) {
    if (n.op !== 'Softmax' || n.domain !== '') continue;
    report.softmaxes++;
    const b = matchBlock(g, n);
    if (b) blocks.push(b);
  }
  if (blocks.length === 0) return { chunks: [model], report };

  // fp32 blocks become Attention (their Q, K, V GEMMs packed into one); int8 ones keep their int8 projections and
  // fuse the rest into MultiHeadAttention.
  const packed = (b: Block) => (b.q.fp32 && b.k.fp32 && b.v.fp32 ? [b.q.fp32, b.k.fp32, b.v.fp32] : undefined);
  const removed = new Set(blocks.flatMap((b) => [...b.nodes, ...(packed(b)?.flatMap((p) => p.nodes) ?? [])]));
  const added: TensorSpec[] = [];
  const replaced = new Map<OnnxNode, Uint8Array>(); // the block's last node → the fused node (and a mask Cast) in its place
  const casts = new Set<string>();
  blocks.forEach((b, i) => {
    const name = `fastembed_attention_${i}`;
    const w = new ProtoWriter();
    const mask = `${b.mask}_fastembed_int32`;
    if (!casts.has(mask)) {
      casts.add(mask);
      writeNode(w, { op: 'Cast', inputs: [b.mask], outputs: [mask], attrs: { to: DataType.INT32 }, name: `${mask}_cast` });
    }
    const attrs = { num_heads: b.heads, scale: { float: b.scale } };
    const p = packed(b);
    if (p) {
      added.push(
        { name: `${name}_qkv_weight`, dims: [p[0].matmul.K, 3 * b.q.N], type: DataType.FLOAT, data: packWeights(p.map((x) => x.matmul)) },
        { name: `${name}_qkv_bias`, dims: [3 * b.q.N], type: DataType.FLOAT, data: Float32Array.from(p.flatMap((x) => [...x.bias])) },
      );
      const inputs = [b.q.input, `${name}_qkv_weight`, `${name}_qkv_bias`, mask];
      writeNode(w, { op: 'Attention', domain: 'com.microsoft', inputs, outputs: [b.output], attrs, name });
    } else {
      const inputs = [b.q.output, b.k.output, b.v.output, '', mask]; // query, key, value, bias, key_padding_mask
      writeNode(w, { op: 'MultiHeadAttention', domain: 'com.microsoft', inputs, outputs: [b.output], attrs, name });
    }
    replaced.set(b.nodes.at(-1)!, w.finish());
  });

  // What only the fused blocks used (the mask bias, computed reshape shapes) goes too.
  const kept = new Set(g.nodes.filter((n) => !removed.has(n)));
  const needed = () => {
    const used = new Set<string>([...g.graphOutputs, ...blocks.flatMap((b) => [b.mask, ...(packed(b) ? [b.q.input] : [b.q.output, b.k.output, b.v.output])])]);
    for (const n of kept) for (const t of n.inputs) used.add(t);
    return used;
  };
  for (let changed = true; changed; ) {
    changed = false;
    const used = needed();
    for (const n of kept) {
      if (!n.outputs.some((t) => used.has(t))) {
        kept.delete(n);
        changed = true;
      }
    }
  }
  const used = needed();
  // Every input must still be made: a graph input, an initializer, or a kept node's (or a fused block's) output.
  const made = new Set<string>(['', ...g.graphInputs, ...g.inits.keys(), ...blocks.map((b) => b.output)]);
  for (const n of kept) for (const t of n.outputs) made.add(t);
  if (![...used].every((t) => made.has(t))) return { chunks: [model], report };

  const nodeOf = new Map(g.nodes.map((n) => [n.field, n]));
  const initOf = new Map([...g.inits.values()].map((t) => [t.field, t.name]));
  const graph = new ProtoWriter();
  const valueName = (f: Field) => fieldString(readFields(f.bytes!).find((x) => x.field === 1)!);
  for (const f of g.graph) {
    if (f.field === 1) {
      const n = nodeOf.get(f);
      if (n && replaced.has(n)) graph.raw(replaced.get(n)!);
      else if (n && kept.has(n)) graph.raw(f.raw);
    } else if (f.field === 5) {
      const name = initOf.get(f);
      if (name === undefined || used.has(name) || g.graphInputs.has(name)) graph.raw(f.raw);
    } else if (f.field === 13) {
      if (made.has(valueName(f))) graph.raw(f.raw); // value_info of tensors that are gone would only mislead
    } else {
      graph.raw(f.raw);
    }
  }
  for (const t of added) writeInitializer(graph, t);
  report.fused = blocks.length;
  return { chunks: modelWriter(g.modelFields, graph, { 'com.microsoft': 1 }).chunks(), report };
}
