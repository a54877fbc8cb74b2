// Exports a BERT checkpoint (config.json + model.safetensors, as sentence-transformers and Hugging Face save them) to
// an ONNX graph this library runs, without PyTorch: the graph is the standard BERT encoder written op by op, with the
// shapes ONNX Runtime's optimiser recognises (LayerNorm, Gelu, SkipLayerNorm fusions).
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';
import { FastembedError } from '../util/errors.js';
import { recipeFiles } from './folder-recipe.js';
import { DataType, encodeModel, type NodeSpec, type TensorSpec } from './onnx-writer.js';
import { readSafetensors, type Tensor } from './safetensors.js';

interface BertConfig {
  model_type?: string;
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  intermediate_size: number;
  hidden_act?: string;
  layer_norm_eps?: number;
  position_embedding_type?: string;
}

/** Files copied beside model.onnx when the checkpoint has them (and its sentence-transformers recipe files). */
const SIDE_FILES = ['tokenizer.json', 'config.json', 'special_tokens_map.json', 'tokenizer_config.json', 'vocab.txt'];

function readConfig(dir: string): BertConfig {
  const file = path.join(dir, 'config.json');
  if (!fs.existsSync(file)) throw new FastembedError(`${dir} has no config.json; export needs a BERT checkpoint folder`, 'ERR_MODEL_FILES');
  const config = JSON.parse(fs.readFileSync(file, 'utf8')) as BertConfig;
  const unsupported: string[] = [];
  if (config.model_type !== 'bert') unsupported.push(`model_type '${config.model_type}' (only 'bert')`);
  if ((config.hidden_act ?? 'gelu') !== 'gelu') unsupported.push(`hidden_act '${config.hidden_act}' (only 'gelu')`);
  if ((config.position_embedding_type ?? 'absolute') !== 'absolute') {
    unsupported.push(`position_embedding_type '${config.position_embedding_type}' (only 'absolute')`);
  }
  if (unsupported.length > 0) {
    throw new FastembedError(`Cannot export ${dir}: unsupported ${unsupported.join(', ')}`, 'ERR_MODEL_FILES');
  }
  return config;
}

/** [out, in] (torch Linear) → [in, out] (ONNX MatMul). */
function transposed(t: Tensor): Tensor {
  const [rows, cols] = t.shape;
  const data = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) data[c * rows + r] = t.data[r * cols + c];
  return { shape: [cols, rows], data };
}

/** The ONNX bytes of the BERT encoder in `weights` (names as BertModel saves them, with or without a `bert.` prefix). */
export function bertToOnnx(config: BertConfig, weights: Map<string, Tensor>): Uint8Array {
  const H = config.hidden_size;
  const heads = config.num_attention_heads;
  const eps = config.layer_norm_eps ?? 1e-12;
  const inits: TensorSpec[] = [];
  const nodes: NodeSpec[] = [];
  const node = (op: string, inputs: string[], outputs: string[], attrs?: NodeSpec['attrs']) => nodes.push({ op, inputs, outputs, attrs });
  const weight = (name: string, linear = false): string => {
    const t = weights.get(name) ?? weights.get(`bert.${name}`);
    if (!t) throw new FastembedError(`The checkpoint has no tensor '${name}'; is it a BertModel?`, 'ERR_MODEL_FILES');
    const { shape, data } = linear ? transposed(t) : t;
    inits.push({ name, dims: shape, type: DataType.FLOAT, data });
    return name;
  };
  const constant = (name: string, type: DataType.FLOAT | DataType.INT64, values: number[], dims: number[] = []) =>
    inits.push({
      name,
      dims,
      type,
      data: type === DataType.FLOAT ? Float32Array.from(values) : BigInt64Array.from(values.map(BigInt)),
    });
  constant('one', DataType.FLOAT, [1]);
  constant('half', DataType.FLOAT, [0.5]);
  constant('sqrt2', DataType.FLOAT, [Math.SQRT2]);
  constant('mask_min', DataType.FLOAT, [-10000]);
  constant('head_scale', DataType.FLOAT, [Math.sqrt(H / heads)]);
  constant('zero_i', DataType.INT64, [0]);
  constant('one_i', DataType.INT64, [1]);
  constant('mask_axes', DataType.INT64, [1, 2], [2]);
  constant('split_heads', DataType.INT64, [0, 0, heads, H / heads], [4]);
  constant('merge_heads', DataType.INT64, [0, 0, H], [3]);

  const layerNorm = (input: string, prefix: string, output: string) =>
    node('LayerNormalization', [input, weight(`${prefix}.weight`), weight(`${prefix}.bias`)], [output], { axis: -1, epsilon: { float: eps } });
  const dense = (input: string, prefix: string, output: string) => {
    node('MatMul', [input, weight(`${prefix}.weight`, true)], [`${output}_mm`]);
    node('Add', [`${output}_mm`, weight(`${prefix}.bias`)], [output]);
  };

  // Embeddings: word + position + token type, LayerNorm.
  node('Gather', [weight('embeddings.word_embeddings.weight'), 'input_ids'], ['emb_word']);
  node('Shape', ['input_ids'], ['ids_shape']);
  node('Gather', ['ids_shape', 'one_i'], ['seq_len'], { axis: 0 });
  node('Range', ['zero_i', 'seq_len', 'one_i'], ['positions']);
  node('Gather', [weight('embeddings.position_embeddings.weight'), 'positions'], ['emb_pos']);
  node('Gather', [weight('embeddings.token_type_embeddings.weight'), 'token_type_ids'], ['emb_type']);
  node('Add', ['emb_word', 'emb_pos'], ['emb_sum0']);
  node('Add', ['emb_sum0', 'emb_type'], ['emb_sum']);
  layerNorm('emb_sum', 'embeddings.LayerNorm', 'h0');

  // Padding mask as an additive bias [batch, 1, 1, seq], shared by every layer.
  node('Cast', ['attention_mask'], ['mask_f'], { to: DataType.FLOAT });
  node('Unsqueeze', ['mask_f', 'mask_axes'], ['mask_4d']);
  node('Sub', ['one', 'mask_4d'], ['mask_inv']);
  node('Mul', ['mask_inv', 'mask_min'], ['mask_bias']);

  let x = 'h0';
  for (let l = 0; l < config.num_hidden_layers; l++) {
    const p = `encoder.layer.${l}`;
    const n = (s: string) => `l${l}_${s}`;
    for (const [proj, perm] of [['query', [0, 2, 1, 3]], ['key', [0, 2, 3, 1]], ['value', [0, 2, 1, 3]]] as const) {
      dense(x, `${p}.attention.self.${proj}`, n(proj));
      node('Reshape', [n(proj), 'split_heads'], [n(`${proj}_heads`)]);
      node('Transpose', [n(`${proj}_heads`)], [n(`${proj}_t`)], { perm: [...perm] });
    }
    node('MatMul', [n('query_t'), n('key_t')], [n('scores')]);
    node('Div', [n('scores'), 'head_scale'], [n('scores_scaled')]);
    node('Add', [n('scores_scaled'), 'mask_bias'], [n('scores_masked')]);
    node('Softmax', [n('scores_masked')], [n('probs')], { axis: -1 });
    node('MatMul', [n('probs'), n('value_t')], [n('context_heads')]);
    node('Transpose', [n('context_heads')], [n('context_t')], { perm: [0, 2, 1, 3] });
    node('Reshape', [n('context_t'), 'merge_heads'], [n('context')]);
    dense(n('context'), `${p}.attention.output.dense`, n('attn_out'));
    node('Add', [n('attn_out'), x], [n('attn_res')]);
    layerNorm(n('attn_res'), `${p}.attention.output.LayerNorm`, n('attn'));

    // Feed-forward with the exact (erf) GELU: x * 0.5 * (1 + erf(x / sqrt 2)).
    dense(n('attn'), `${p}.intermediate.dense`, n('ff_in'));
    node('Div', [n('ff_in'), 'sqrt2'], [n('gelu_div')]);
    node('Erf', [n('gelu_div')], [n('gelu_erf')]);
    node('Add', [n('gelu_erf'), 'one'], [n('gelu_add')]);
    node('Mul', [n('ff_in'), n('gelu_add')], [n('gelu_mul')]);
    node('Mul', [n('gelu_mul'), 'half'], [n('gelu')]);
    dense(n('gelu'), `${p}.output.dense`, n('ff_out'));
    node('Add', [n('ff_out'), n('attn')], [n('ff_res')]);
    const out = l === config.num_hidden_layers - 1 ? 'last_hidden_state' : `h${l + 1}`;
    layerNorm(n('ff_res'), `${p}.output.LayerNorm`, out);
    x = out;
  }

  const ids = (name: string) => ({ name, type: DataType.INT64, shape: ['batch', 'sequence'] });
  return encodeModel({
    name: 'bert',
    nodes,
    initializers: inits,
    inputs: [ids('input_ids'), ids('attention_mask'), ids('token_type_ids')],
    outputs: [{ name: 'last_hidden_state', type: DataType.FLOAT, shape: ['batch', 'sequence', H] }],
    opset: 17,
  });
}

/**
 * Writes `outDir` as a model directory (model.onnx + tokenizer files) from a BERT checkpoint folder such as a
 * sentence-transformers model (config.json, model.safetensors, tokenizer.json). The checkpoint's
 * sentence-transformers files (max length, pooling, prompts) come along, so the folder embeds as the checkpoint
 * does with no options. Returns the model.onnx path.
 */
export function exportBertCheckpoint(checkpointDir: string, outDir: string): string {
  const config = readConfig(checkpointDir);
  const weightsFile = path.join(checkpointDir, 'model.safetensors');
  if (!fs.existsSync(weightsFile)) {
    throw new FastembedError(`${checkpointDir} has no model.safetensors (pytorch_model.bin is not read: convert it to safetensors first)`, 'ERR_MODEL_FILES');
  }
  if (!fs.existsSync(path.join(checkpointDir, 'tokenizer.json'))) {
    throw new FastembedError(`${checkpointDir} has no tokenizer.json; the model directory needs one`, 'ERR_MODEL_FILES');
  }
  const onnx = bertToOnnx(config, readSafetensors(weightsFile));
  fs.mkdirSync(outDir, { recursive: true });
  for (const f of [...SIDE_FILES, ...recipeFiles(checkpointDir)]) {
    const src = path.join(checkpointDir, f);
    if (!fs.existsSync(src)) continue;
    fs.mkdirSync(path.dirname(path.join(outDir, f)), { recursive: true });
    fs.copyFileSync(src, path.join(outDir, f));
  }
  const modelFile = path.join(outDir, 'model.onnx');
  writeFileAtomic(modelFile, onnx);
  return modelFile;
}
