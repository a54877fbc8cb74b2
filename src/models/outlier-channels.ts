// Outlier channels of the FFN down projections, found on real text. Their input — the GELU output — has a few channels
// far larger than the rest, and with one int8 scale per batch those few decide the scale and the small ones lose
// their precision. Measured once at quantisation time (CALIBRATION_TEXTS through a copy of the model that outputs
// each channel's largest |value|), the outliers are then multiplied in fp32 and the rest in int8 (LLM.int8()'s
// decomposition, with the outlier channels fixed ahead of time instead of found per batch).
import { DataType, type NodeSpec, writeNode, writeOutput } from './onnx-writer.js';
import { withGraph } from './onnx-graph.js';
import { ProtoWriter, readFields } from './protobuf.js';

/** A channel is an outlier when its largest |value| is this many times the median channel's. */
export const OUTLIER_RATIO = 3;
/** At most this share of a projection's channels go fp32 (more would cost the int8 speed). */
const MAX_OUTLIER_SHARE = 1 / 32;
export const CALIBRATION_OUTPUT = 'fastembed_calibration_amax';

export interface DownProjection {
  /** The MatMul's activation input (the GELU output). */
  input: string;
  weight: string;
  /** Input channels (the weight's rows). */
  K: number;
}

const node = (g: ProtoWriter, op: string, inputs: string[], output: string, attrs?: NodeSpec['attrs']) =>
  writeNode(g, { op, inputs, outputs: [output], attrs });

/**
 * The model with one output, [batch, 1, ΣK]: for each down projection in order, every channel's largest |input| over
 * the tokens of each text (Abs, then GlobalMaxPool over tokens), concatenated.
 */
export function calibrationModel(model: Uint8Array, downs: DownProjection[]): Uint8Array {
  const modelFields = readFields(model);
  const graph = readFields(modelFields.find((f) => f.field === 7)!.bytes!);
  const g = new ProtoWriter();
  for (const f of graph) if (f.field !== 12) g.raw(f.raw); // everything but the graph's outputs
  const pooled = downs.map((d, i) => {
    const p = `fastembed_calib_${i}`;
    node(g, 'Abs', [d.input], `${p}_abs`);
    node(g, 'Transpose', [`${p}_abs`], `${p}_t`, { perm: [0, 2, 1] }); // [B, K, T]
    node(g, 'GlobalMaxPool', [`${p}_t`], `${p}_max`); // [B, K, 1]
    return `${p}_max`;
  });
  node(g, 'Concat', pooled, 'fastembed_calib_all', { axis: 1 });
  node(g, 'Transpose', ['fastembed_calib_all'], CALIBRATION_OUTPUT, { perm: [0, 2, 1] }); // [B, 1, ΣK]
  const total = downs.reduce((a, d) => a + d.K, 0);
  writeOutput(g, { name: CALIBRATION_OUTPUT, type: DataType.FLOAT, shape: ['batch', 1, total] });
  return withGraph(modelFields, g.finish());
}

/** Per down projection (by weight name), its outlier channels, from the calibration maxima concatenated as above. */
export function outlierChannels(downs: DownProjection[], amax: Float32Array): Map<string, number[]> {
  const out = new Map<string, number[]>();
  let offset = 0;
  for (const d of downs) {
    const a = amax.subarray(offset, offset + d.K);
    const median = [...a].sort((x, y) => x - y)[d.K >> 1];
    const found = [...a.keys()].filter((k) => a[k] > OUTLIER_RATIO * median).length;
    // Rounded up to a multiple of 8 with the next largest: the int8 rest keeps a K the GEMM kernels tile evenly.
    const channels = [...a.keys()]
      .sort((x, y) => a[y] - a[x])
      .slice(0, Math.min(Math.ceil(found / 8) * 8, Math.floor(d.K * MAX_OUTLIER_SHARE)))
      .sort((x, y) => x - y);
    out.set(d.weight, channels);
    offset += d.K;
  }
  return out;
}
