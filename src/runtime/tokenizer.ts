// Tokenisation with the model's own tokenizer.json (npm `tokenizers`), with its baked-in padding removed and
// truncation set to our max length: padding is done per batch, to that batch's longest text.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Tokenizer } from 'tokenizers';
import { FastembedError } from '../util/errors.js';
import { packageRoot } from '../util/paths.js';
import { nativeWork } from './native-memory.js';

type TokenizersModule = typeof import('tokenizers');
let tokenizersModule: TokenizersModule | undefined;

/**
 * The tokenizers binding: this platform's copy bundled with our prebuilds (the same binary the `tokenizers` package
 * would load, without its other 12 platforms), else the `tokenizers` package itself.
 */
function tokenizers(): TokenizersModule {
  if (tokenizersModule) return tokenizersModule;
  const require = createRequire(import.meta.url);
  const tuple = `${process.platform}-${process.arch}`;
  const bundled = path.join(packageRoot, 'prebuilds', tuple, 'tokenizers', `tokenizers.${tuple}-gnu.node`);
  try {
    tokenizersModule = (fs.existsSync(bundled) ? require(bundled) : require('tokenizers')) as TokenizersModule;
  } catch (err) {
    throw new FastembedError(
      `No tokenizers binding for ${tuple}: none bundled in prebuilds/ and the 'tokenizers' package is not installed. ` +
        "Fix: npm install tokenizers (needed where fastembed-native has no prebuild).",
      'ERR_TOKENIZER_LOAD',
      { cause: err },
    );
  }
  return tokenizersModule;
}

export interface TokenizedText {
  ids: number[];
  /** Token count (attention mask of ones over it; no padding yet). */
  length: number;
  /** True when the text was longer than maxLength and lost tokens. */
  truncated: boolean;
}

/** One token as TEI's /tokenize shows it: id, text, special, character offsets. */
export interface TokenDetail {
  id: number;
  text: string;
  special: boolean;
  start: number;
  stop: number;
}

/** Which end of an over-long text is cut: its end (as sentence-transformers does) or its start. */
export type TruncationDirection = 'right' | 'left';

const loaded = new Map<string, TextTokenizer>();

export class TextTokenizer {
  readonly maxLength: number;
  /** Ids run from 0 to vocabSize - 1 (added tokens included). */
  readonly vocabSize: number;
  readonly #tokenizer: Tokenizer;

  private constructor(tokenizer: Tokenizer, maxLength: number) {
    this.#tokenizer = tokenizer;
    this.maxLength = maxLength;
    this.vocabSize = tokenizer.getVocabSize(true);
  }

  /**
   * Loads `dir/tokenizer.json`. `maxLength` is capped by the model's position limit (config.json
   * max_position_embeddings) and tokenizer_config.json's model_max_length when present.
   */
  static load(dir: string, maxLength: number, direction: TruncationDirection = 'right'): TextTokenizer {
    const file = path.join(dir, 'tokenizer.json');
    // Tokenizers are immutable once configured and hold megabytes of native memory that V8 cannot see (so GC
    // would not hurry to free them): services created and closed repeatedly share one per file and length.
    let key: string | undefined;
    try {
      const st = fs.statSync(file);
      key = `${path.resolve(file)}\0${st.size}\0${st.mtimeMs}\0${maxLength}\0${direction}`;
    } catch {
      key = undefined; // missing file: fall through to the clear error below
    }
    const shared = key ? loaded.get(key) : undefined;
    if (shared) return shared;
    const created = TextTokenizer.#create(dir, file, maxLength, direction);
    if (key) {
      loaded.set(key, created);
      if (loaded.size > 8) loaded.delete(loaded.keys().next().value as string);
    }
    return created;
  }

  static #create(dir: string, file: string, maxLength: number, direction: TruncationDirection): TextTokenizer {
    let tokenizer: Tokenizer;
    try {
      tokenizer = tokenizers().Tokenizer.fromFile(file);
    } catch (err) {
      throw new FastembedError(`Could not load tokenizer ${file}: ${(err as Error).message}`, 'ERR_TOKENIZER', { cause: err });
    }
    const limit = Math.min(maxLength, modelLengthLimit(dir));
    tokenizer.disablePadding();
    tokenizer.setTruncation(limit, { direction });
    return new TextTokenizer(tokenizer, limit);
  }

  async encodeBatch(texts: string[]): Promise<TokenizedText[]> {
    if (texts.length === 0) return [];
    const encodings = await nativeWork(this.#tokenizer.encodeBatch(texts));
    return encodings.map((e) => {
      const ids = e.getIds();
      return { ids, length: ids.length, truncated: e.getOverflowing().length > 0 };
    });
  }

  /** Each text's tokens with their strings and character offsets (after truncation). */
  async details(texts: string[]): Promise<TokenDetail[][]> {
    const encodings = await nativeWork(this.#tokenizer.encodeBatch(texts));
    return encodings.map((e) => {
      const ids = e.getIds();
      const tokens = e.getTokens();
      const offsets = e.getOffsets();
      const special = e.getSpecialTokensMask();
      return ids.map((id, i) => ({ id, text: tokens[i], special: special[i] === 1, start: offsets[i][0], stop: offsets[i][1] }));
    });
  }

  /** Token ids back to text. */
  decode(ids: number[][], skipSpecialTokens: boolean): Promise<string[]> {
    return this.#tokenizer.decodeBatch(ids, skipSpecialTokens);
  }
}

function readJson(file: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** The longest input the model accepts, from its config files (512 when they don't say). */
export function modelLengthLimit(dir: string): number {
  let limit = Number.POSITIVE_INFINITY;
  const positions = readJson(path.join(dir, 'config.json'))?.max_position_embeddings;
  if (typeof positions === 'number' && positions > 0) limit = Math.min(limit, positions);
  const declared = readJson(path.join(dir, 'tokenizer_config.json'))?.model_max_length;
  // Some tokenizer configs carry a sentinel like 1e30 meaning "unset".
  if (typeof declared === 'number' && declared > 0 && declared < 1e6) limit = Math.min(limit, declared);
  return Number.isFinite(limit) ? limit : 512;
}
