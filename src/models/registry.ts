// The supported models: one typed table, and the aliases the old Go service's config files used.
import { FastembedError } from '../errors.js';

export type PoolingKind = 'mean' | 'cls';

export interface ModelFile {
  /** Path inside the Hugging Face repository. */
  path: string;
  /** Local file name in the model directory. */
  local: string;
  sha256?: string;
  size?: number;
}

export interface ModelSpec {
  id: string;
  /** Hugging Face repository the files come from. */
  hfRepo: string;
  files: ModelFile[];
  dim: number;
  pooling: PoolingKind;
  normalize: boolean;
  maxLength: number;
  queryPrefix: string;
  passagePrefix: string;
  language: string;
  /** Approximate size of model.onnx in MB. */
  sizeMb: number;
  license: string;
  description: string;
}

const standardFiles = (onnxPath: string): ModelFile[] => [
  { path: onnxPath, local: 'model.onnx' },
  { path: 'tokenizer.json', local: 'tokenizer.json' },
  { path: 'config.json', local: 'config.json' },
  { path: 'special_tokens_map.json', local: 'special_tokens_map.json' },
  { path: 'tokenizer_config.json', local: 'tokenizer_config.json' },
];

const BGE_EN_QUERY = 'Represent this sentence for searching relevant passages: ';
const BGE_ZH_QUERY = '为这个句子生成表示以用于检索相关文章：';

export const MODELS: readonly ModelSpec[] = Object.freeze([
  {
    id: 'all-MiniLM-L6-v2',
    hfRepo: 'Qdrant/all-MiniLM-L6-v2-onnx',
    files: standardFiles('model.onnx'),
    dim: 384,
    pooling: 'mean',
    normalize: true,
    maxLength: 256,
    queryPrefix: '',
    passagePrefix: '',
    language: 'en',
    sizeMb: 90,
    license: 'Apache-2.0',
    description: 'Small, fast English sentence embeddings (sentence-transformers).',
  },
  {
    id: 'bge-small-en-v1.5',
    hfRepo: 'Qdrant/bge-small-en-v1.5-onnx-Q',
    files: standardFiles('model_optimized.onnx'),
    dim: 384,
    pooling: 'cls',
    normalize: true,
    maxLength: 512,
    queryPrefix: BGE_EN_QUERY,
    passagePrefix: '',
    language: 'en',
    sizeMb: 67,
    license: 'MIT',
    description: 'BAAI general embedding, small English; best quality per millisecond.',
  },
  {
    id: 'bge-base-en-v1.5',
    hfRepo: 'Qdrant/bge-base-en-v1.5-onnx-Q',
    files: standardFiles('model_optimized.onnx'),
    dim: 768,
    pooling: 'cls',
    normalize: true,
    maxLength: 512,
    queryPrefix: BGE_EN_QUERY,
    passagePrefix: '',
    language: 'en',
    sizeMb: 210,
    license: 'MIT',
    description: 'BAAI general embedding, base English.',
  },
  {
    id: 'bge-small-zh-v1.5',
    hfRepo: 'Xenova/bge-small-zh-v1.5',
    files: standardFiles('onnx/model.onnx'),
    dim: 512,
    pooling: 'cls',
    normalize: true,
    maxLength: 512,
    queryPrefix: BGE_ZH_QUERY,
    passagePrefix: '',
    language: 'zh',
    sizeMb: 95,
    license: 'MIT',
    description: 'BAAI general embedding, small Chinese.',
  },
  {
    id: 'bge-base-zh-v1.5',
    hfRepo: 'Xenova/bge-base-zh-v1.5',
    files: standardFiles('onnx/model.onnx'),
    dim: 768,
    pooling: 'cls',
    normalize: true,
    maxLength: 512,
    queryPrefix: BGE_ZH_QUERY,
    passagePrefix: '',
    language: 'zh',
    sizeMb: 390,
    license: 'MIT',
    description: 'BAAI general embedding, base Chinese.',
  },
  {
    id: 'multilingual-e5-small',
    hfRepo: 'Xenova/multilingual-e5-small',
    files: standardFiles('onnx/model.onnx'),
    dim: 384,
    pooling: 'mean',
    normalize: true,
    maxLength: 512,
    queryPrefix: 'query: ',
    passagePrefix: 'passage: ',
    language: 'multilingual',
    sizeMb: 470,
    license: 'MIT',
    description: 'Multilingual E5 small (100 languages).',
  },
]);

/** Names used in the old Go service's config files. */
export const MODEL_ALIASES: Readonly<Record<string, string>> = Object.freeze({
  'bge-small-en': 'bge-small-en-v1.5',
  'bge-base-en': 'bge-base-en-v1.5',
  'all-minilm-l6-v2': 'all-MiniLM-L6-v2',
  'bge-base-zh': 'bge-base-zh-v1.5',
  'bge-small-zh': 'bge-small-zh-v1.5',
  'sentence-transformers/all-MiniLM-L6-v2': 'all-MiniLM-L6-v2',
  'BAAI/bge-small-en-v1.5': 'bge-small-en-v1.5',
  'BAAI/bge-base-en-v1.5': 'bge-base-en-v1.5',
  'BAAI/bge-small-zh-v1.5': 'bge-small-zh-v1.5',
  'BAAI/bge-base-zh-v1.5': 'bge-base-zh-v1.5',
  'intfloat/multilingual-e5-small': 'multilingual-e5-small',
});

/** Looks a model up by id or alias; an unknown name is an error listing every known id. */
export function getModelSpec(name: string): ModelSpec {
  if (typeof name !== 'string' || name.length === 0) {
    throw new TypeError(`model must be a non-empty string (one of: ${MODELS.map((m) => m.id).join(', ')})`);
  }
  const id = MODEL_ALIASES[name] ?? MODEL_ALIASES[name.toLowerCase()] ?? name;
  const spec = MODELS.find((m) => m.id === id || m.id.toLowerCase() === id.toLowerCase());
  if (!spec) {
    throw new FastembedError(
      `Unknown model '${name}'. Known models: ${MODELS.map((m) => m.id).join(', ')} ` +
        `(aliases: ${Object.keys(MODEL_ALIASES).join(', ')}). For your own ONNX model, pass modelPath with ` +
        'model.onnx and tokenizer.json and set pooling.',
      'ERR_UNKNOWN_MODEL',
    );
  }
  return spec;
}
