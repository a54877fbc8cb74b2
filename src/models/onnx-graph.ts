// An ONNX model read for rewriting: its nodes with their inputs and outputs resolved, who produces and who consumes
// each tensor, its initializers; and the model written back with a new graph, every untouched field copied byte for
// byte. The int8 rewrite (quantize.ts, ffn-split.ts) and the calibration graph (outlier-channels.ts) use it.
import { DataType } from './onnx-writer.js';
import { fieldString, ProtoWriter, readFields, repeatedInts, type Field } from './protobuf.js';

export interface OnnxNode {
  /** The node as read, for verbatim copying. */
  field: Field;
  fields: Field[];
  op: string;
  domain: string;
  name?: string;
  inputs: string[];
  outputs: string[];
}

export interface Initializer {
  /** The TensorProto as read. */
  field: Field;
  name: string;
  dims: number[];
  dataType: number;
  fields: Field[];
}

export interface OnnxGraph {
  modelFields: Field[];
  /** The GraphProto's fields in order. */
  graph: Field[];
  nodes: OnnxNode[];
  inits: Map<string, Initializer>;
  graphInputs: Set<string>;
  graphOutputs: Set<string>;
  producer: Map<string, OnnxNode>;
  consumers: Map<string, OnnxNode[]>;
}

const strings = (fields: Field[], field: number) => fields.filter((x) => x.field === field).map(fieldString);
const valueNames = (graph: Field[], field: number) => new Set(graph.filter((g) => g.field === field).map((g) => strings(readFields(g.bytes!), 1)[0]));

/** Parses `model` (ONNX bytes); throws if it has no graph. */
export function parseModel(model: Uint8Array): OnnxGraph {
  const modelFields = readFields(model);
  const graphField = modelFields.find((f) => f.field === 7);
  if (!graphField) throw new Error('not an ONNX model: no graph');
  const graph = readFields(graphField.bytes!);
  const inits = new Map<string, Initializer>();
  for (const f of graph.filter((g) => g.field === 5)) {
    const fields = readFields(f.bytes!);
    const name = strings(fields, 8)[0];
    if (name === undefined) continue;
    inits.set(name, { field: f, name, dims: repeatedInts(fields, 1), dataType: Number(fields.find((x) => x.field === 2)?.value ?? 0n), fields });
  }
  const nodes = graph
    .filter((g) => g.field === 1)
    .map((field): OnnxNode => {
      const fields = readFields(field.bytes!);
      return { field, fields, op: strings(fields, 4)[0] ?? '', domain: strings(fields, 7)[0] ?? '', name: strings(fields, 3)[0], inputs: strings(fields, 1), outputs: strings(fields, 2) };
    });
  const producer = new Map<string, OnnxNode>();
  const consumers = new Map<string, OnnxNode[]>();
  for (const n of nodes) {
    for (const o of n.outputs) producer.set(o, n);
    for (const i of n.inputs) {
      if (!consumers.has(i)) consumers.set(i, []);
      consumers.get(i)!.push(n);
    }
  }
  return { modelFields, graph, nodes, inits, graphInputs: valueNames(graph, 11), graphOutputs: valueNames(graph, 12), producer, consumers };
}

/** An initializer's float values (a copy), or undefined when they are not stored inline. */
export function floatsOf(t: Initializer): Float32Array | undefined {
  const raw = t.fields.find((f) => f.field === 9)?.bytes;
  if (raw) {
    const copy = new Uint8Array(raw); // aligned copy
    return new Float32Array(copy.buffer, 0, copy.length / 4);
  }
  // float_data: packed (wire 2) or one fixed32 per value (wire 5); both carry little-endian float bytes.
  const parts = t.fields.filter((f) => f.field === 4).map((f) => f.bytes!);
  if (parts.length === 0) return undefined; // external data or empty: leave it alone
  const all = Buffer.concat(parts);
  return new Float32Array(new Uint8Array(all).buffer, 0, all.length / 4);
}

/** The node `n` with its inputs and outputs renamed, `suffix` on its name, every other field (op, attributes) kept. */
export function renamedNode(n: OnnxNode, rename: (tensor: string) => string, suffix: string): Uint8Array {
  const w = new ProtoWriter();
  w.message(1, (node) => {
    for (const i of n.inputs) node.string(1, rename(i));
    for (const o of n.outputs) node.string(2, rename(o));
    if (n.name !== undefined) node.string(3, n.name + suffix);
    for (const f of n.fields) if (f.field > 3) node.raw(f.raw);
  });
  return w.finish();
}

/** The model with `graph` (a GraphProto, encoded or being written) in place of its graph, and `opsets` (domain → version) added. */
export function modelWriter(modelFields: Field[], graph: Uint8Array | ProtoWriter, opsets: Record<string, number> = {}): ProtoWriter {
  const m = new ProtoWriter();
  const have = new Set(
    modelFields.filter((f) => f.field === 8).map((f) => strings(readFields(f.bytes!), 1)[0] ?? ''),
  );
  for (const f of modelFields) {
    if (f.field !== 7) m.raw(f.raw);
    else if (graph instanceof ProtoWriter) m.nested(7, graph);
    else m.bytes(7, graph);
  }
  for (const [domain, version] of Object.entries(opsets)) if (!have.has(domain)) m.message(8, (w) => w.string(1, domain).int(2, version));
  return m;
}

/** modelWriter's model as bytes. */
export const withGraph = (modelFields: Field[], graph: Uint8Array | ProtoWriter, opsets: Record<string, number> = {}): Uint8Array =>
  modelWriter(modelFields, graph, opsets).finish();

const elements = (dims: number[]) => dims.reduce((a, d) => a * d, 1);

/** True when `tensor` is a constant with at most one element (an initializer or a Constant node's value). */
export function isScalarConstant(g: OnnxGraph, tensor: string): boolean {
  const init = g.inits.get(tensor);
  if (init) return elements(init.dims) <= 1;
  const p = g.producer.get(tensor);
  if (p?.op !== 'Constant' || p.domain !== '') return false;
  for (const a of p.fields.filter((f) => f.field === 5).map((f) => readFields(f.bytes!))) {
    const name = strings(a, 1)[0];
    if (name === 'value_float' || name === 'value_int') return true;
    const t = name === 'value' ? a.find((x) => x.field === 5) : undefined;
    if (t) return elements(repeatedInts(readFields(t.bytes!), 1)) <= 1;
  }
  return false;
}

export interface ConstantMatMul {
  weight: Initializer;
  weights: Float32Array;
  /** The weight's rows (input channels) and columns (output channels). */
  K: number;
  N: number;
}

/** The attribute `name` of `n` as read (AttributeProto fields), or undefined. */
function attribute(n: OnnxNode, name: string): Field[] | undefined {
  for (const f of n.fields) {
    if (f.field !== 5) continue;
    const a = readFields(f.bytes!);
    if (strings(a, 1)[0] === name) return a;
  }
  return undefined;
}

/** An integer-list attribute of `n` (perm, axes), or undefined. */
export const intsAttribute = (n: OnnxNode, name: string): number[] | undefined => {
  const a = attribute(n, name);
  return a ? repeatedInts(a, 8) : undefined;
};

/** An integer attribute of `n` (axis, to), or undefined. */
export const intAttribute = (n: OnnxNode, name: string): number | undefined => {
  const v = attribute(n, name)?.find((x) => x.field === 3)?.value;
  return v === undefined ? undefined : Number(BigInt.asIntN(64, v));
};

/** A TensorProto's values as numbers (float, int32 or int64, inline), or undefined. */
function tensorValues(t: Field[]): number[] | undefined {
  const type = Number(t.find((x) => x.field === 2)?.value ?? 0n);
  const raw = t.find((x) => x.field === 9)?.bytes;
  if (type === DataType.FLOAT) {
    const init = { fields: t } as Initializer;
    const f = floatsOf(init);
    return f ? [...f] : undefined;
  }
  if (type === DataType.INT64 || type === DataType.INT32) {
    if (raw) {
      const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      const size = type === DataType.INT64 ? 8 : 4;
      return Array.from({ length: raw.length / size }, (_, i) => (size === 8 ? Number(v.getBigInt64(i * 8, true)) : v.getInt32(i * 4, true)));
    }
    return repeatedInts(t, type === DataType.INT64 ? 7 : 5);
  }
  return undefined;
}

/** The values of a small constant (an initializer or a Constant node's value), or undefined for anything else. */
export function constantValues(g: OnnxGraph, tensor: string): number[] | undefined {
  const init = g.inits.get(tensor);
  if (init) return g.graphInputs.has(tensor) ? undefined : tensorValues(init.fields);
  const p = g.producer.get(tensor);
  if (p?.op !== 'Constant' || p.domain !== '') return undefined;
  const value = attribute(p, 'value')?.find((x) => x.field === 5);
  if (value) return tensorValues(readFields(value.bytes!));
  const f = attribute(p, 'value_float')?.find((x) => x.field === 2)?.bytes;
  if (f) return [new DataView(f.buffer, f.byteOffset, 4).getFloat32(0, true)];
  const i = intAttribute(p, 'value_int');
  if (i !== undefined) return [i];
  return intsAttribute(p, 'value_ints');
}

/** `n` as a MatMul by a 2-D float initializer (both sides ≥ 16), or undefined for anything else. */
export function constantMatMul(g: OnnxGraph, n: OnnxNode): ConstantMatMul | undefined {
  if (n.op !== 'MatMul' || n.domain !== '') return undefined;
  const b = g.inits.get(n.inputs[1]);
  if (!b || b.dataType !== DataType.FLOAT || b.dims.length !== 2 || b.dims[0] < 16 || b.dims[1] < 16) return undefined;
  const weights = floatsOf(b);
  return weights && weights.length === b.dims[0] * b.dims[1] ? { weight: b, weights, K: b.dims[0], N: b.dims[1] } : undefined;
}

/** The Add that is the only consumer of `n`'s output and adds it a float vector of `size` (a bias), if there is one. */
export function biasAdd(g: OnnxGraph, n: OnnxNode, size: number): { add: OnnxNode; bias: string } | undefined {
  const out = n.outputs[0];
  const users = g.consumers.get(out) ?? [];
  const add = users[0];
  if (users.length !== 1 || g.graphOutputs.has(out) || add.op !== 'Add' || add.domain !== '' || add.inputs.length !== 2) return undefined;
  const bias = add.inputs[0] === out ? add.inputs[1] : add.inputs[0];
  const t = g.inits.get(bias);
  return t && !g.graphInputs.has(bias) && t.dataType === DataType.FLOAT && t.dims.length === 1 && t.dims[0] === size ? { add, bias } : undefined;
}
