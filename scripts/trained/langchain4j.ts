// langchain4j's embedding jars (group dev.langchain4j, version 0.36.2, fetched by scripts/trained-models.sh with the
// Maven client): each carries an ONNX export and its tokenizer.json at the jar's root. Their README names the source:
// Xenova/<model> on the hub, onnx/model.onnx (fp32) and onnx/model_quantized.onnx (the -q twin, dynamic int8).
// Every ONNX file is pinned by sha256 and size; bge-small-en-v1.5's pin is also the registry's hub pin.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const LANGCHAIN4J_VERSION = '0.36.2';

export interface JarModel {
  artifact: string;
  /** Folder name under the trained dir. */
  name: string;
  /** Registry id whose recipe the files follow. */
  recipe: string;
  precision: 'fp32' | 'int8';
  onnx: string;
  sha256: string;
  size: number;
}

const jar = (artifact: string, name: string, recipe: string, precision: JarModel['precision'], onnx: string, sha256: string, size: number): JarModel => ({
  artifact: `langchain4j-embeddings-${artifact}`,
  name,
  recipe,
  precision,
  onnx,
  sha256,
  size,
});

export const JAR_MODELS: JarModel[] = [
  jar('bge-small-en-v15', 'bge-small-en-v1.5', 'bge-small-en-v1.5', 'fp32', 'bge-small-en-v1.5.onnx', '828e1496d7fabb79cfa4dcd84fa38625c0d3d21da474a00f08db0f559940cf35', 133_093_490),
  jar('bge-small-en-v15-q', 'bge-small-en-v1.5-q-langchain4j', 'bge-small-en-v1.5', 'int8', 'bge-small-en-v1.5-q.onnx', '6c9c6101a956d62dfb5e7190c538226c0c5bb9cb27b651234b6df063ee7dbfe4', 34_014_426),
  jar('bge-small-en', 'bge-small-en', 'bge-small-en', 'fp32', 'bge-small-en.onnx', '644fdaf59ddebaca416903a593665b74bddab9b168b0799d4034c0e7809699bf', 133_093_490),
  jar('bge-small-en-q', 'bge-small-en-q-langchain4j', 'bge-small-en', 'int8', 'bge-small-en-q.onnx', '93b3c104db8309d72a822d18eaae67ccdedaf81bdea0d03dd477dfb666e75e77', 34_014_426),
  jar('bge-small-zh-v15', 'bge-small-zh-v1.5', 'bge-small-zh-v1.5', 'fp32', 'bge-small-zh-v1.5.onnx', '69a0b846f4f116b5e6aabf9546ea6754d02264f3211a13a1bd69b31b8040749a', 94_851_877),
  jar('bge-small-zh-v15-q', 'bge-small-zh-v1.5-q-langchain4j', 'bge-small-zh-v1.5', 'int8', 'bge-small-zh-v1.5-q.onnx', '15b717c382bcb518ba457b93ea6850ede7f4f1cd8937454aa06972366cd19bcc', 24_010_842),
  jar('e5-small-v2', 'e5-small-v2', 'e5-small-v2', 'fp32', 'e5-small-v2.onnx', 'b2a43b66f7f9b6f29643a21340ad7c03d2d91e6bd5d43429a77799a9ee880eb0', 133_093_467),
  jar('e5-small-v2-q', 'e5-small-v2-q-langchain4j', 'e5-small-v2', 'int8', 'e5-small-v2-q.onnx', '7d9092cb25f2bd1c023b7e8d2aa459044a02030ac880e5a59fdaf27af69f1ded', 34_014_367),
];

/** The two tokenizer.json files the jars carry (English WordPiece, lower-cased; Chinese, cased). */
const TOKENIZER_SHA256 = {
  en: 'd241a60d5e8f04cc1b2b3e9ef7a4921b27bf526d9f6050ab90f9267a1f9e5c66',
  zh: '48cea5d44424912a6fd1ea647bf4fe50b55ab8b1e5879c3275f80e339e8fae26',
};

export const jarFile = (jarsDir: string, m: JarModel) => path.join(jarsDir, `${m.artifact}-${LANGCHAIN4J_VERSION}.jar`);

/**
 * Unpacks a jar into `dir` as a model folder: model.onnx and tokenizer.json (each checked against its pin) and the
 * small configs the loader reads, derived from them (BERT small: 512 positions; the hidden size from the ONNX file's
 * output is left to the loader, which learns it from the model).
 */
export function unpackJar(python: string, jarPath: string, m: JarModel, dir: string, sha256: (file: string) => string): void {
  const unpacked = `${dir}.jar`;
  fs.rmSync(unpacked, { recursive: true, force: true });
  execFileSync(python, ['-m', 'zipfile', '-e', jarPath, unpacked]);
  try {
    const onnx = path.join(unpacked, m.onnx);
    const size = fs.statSync(onnx).size;
    const digest = sha256(onnx);
    if (digest !== m.sha256 || size !== m.size) {
      throw new Error(`${m.artifact}: ${m.onnx} has sha256 ${digest} (${size} bytes), pinned ${m.sha256} (${m.size} bytes); refusing it`);
    }
    const tokenizer = path.join(unpacked, m.onnx.replace(/\.onnx$/, '-tokenizer.json'));
    const tokDigest = sha256(tokenizer);
    const language = Object.entries(TOKENIZER_SHA256).find(([, d]) => d === tokDigest)?.[0];
    if (!language) throw new Error(`${m.artifact}: its tokenizer.json has sha256 ${tokDigest}, not one of the pinned ${Object.values(TOKENIZER_SHA256).join(', ')}`);
    fs.mkdirSync(dir, { recursive: true });
    fs.renameSync(onnx, path.join(dir, 'model.onnx'));
    fs.renameSync(tokenizer, path.join(dir, 'tokenizer.json'));
    const vocabSize = Object.keys((JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer.json'), 'utf8')) as { model: { vocab: object } }).model.vocab).length;
    const json = (file: string, value: object) => fs.writeFileSync(path.join(dir, file), `${JSON.stringify(value, null, 2)}\n`);
    json('config.json', { model_type: 'bert', architectures: ['BertModel'], max_position_embeddings: 512, vocab_size: vocabSize, pad_token_id: 0 });
    json('tokenizer_config.json', { model_max_length: 512, do_lower_case: language === 'en', tokenizer_class: 'BertTokenizer' });
    json('special_tokens_map.json', { cls_token: '[CLS]', sep_token: '[SEP]', pad_token: '[PAD]', unk_token: '[UNK]', mask_token: '[MASK]' });
  } finally {
    fs.rmSync(unpacked, { recursive: true, force: true });
  }
}
