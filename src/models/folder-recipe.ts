// What a model folder says about its own recipe, read as sentence-transformers reads it: modules.json names the
// modules' folders (the Transformer's at the root, the Pooling module's in 1_Pooling unless it says otherwise),
// sentence_bert_config.json the max length, <pooling folder>/config.json the pooling mode,
// config_sentence_transformers.json the prompts. A folder without these files states nothing.
import fs from 'node:fs';
import path from 'node:path';
import { FastembedError } from '../util/errors.js';
import type { ModelSpec, PoolingKind } from './registry.js';

/** The parts of a recipe a folder states; a field is undefined where it states nothing. */
export interface FolderRecipe {
  pooling?: PoolingKind;
  maxLength?: number;
  queryPrefix?: string;
  passagePrefix?: string;
}

interface Module {
  path?: string;
  type?: string;
}

function readJson<T>(dir: string, file: string): T | undefined {
  const full = path.join(dir, file);
  if (!fs.existsSync(full)) return undefined;
  try {
    return JSON.parse(fs.readFileSync(full, 'utf8')) as T;
  } catch (err) {
    throw new FastembedError(
      `${full} is not valid JSON (${(err as Error).message}); fix or delete it (it states the model's recipe)`,
      'ERR_MODEL_FILES',
      { cause: err },
    );
  }
}

/** The folders (relative to `dir`) of the Transformer and Pooling modules, as modules.json lays them out. */
function moduleDirs(dir: string): { transformer: string; pooling: string } {
  const modules = readJson<Module[]>(dir, 'modules.json') ?? [];
  const find = (kind: string) => (Array.isArray(modules) ? modules.find((m) => m.type?.endsWith(`.${kind}`)) : undefined)?.path;
  return { transformer: find('Transformer') ?? '', pooling: find('Pooling') ?? '1_Pooling' };
}

/**
 * The sentence-transformers files of `dir` that state its recipe, as paths relative to it (for `convert` to carry
 * them into the model folder).
 */
export function recipeFiles(dir: string): string[] {
  const { transformer, pooling } = moduleDirs(dir);
  return [
    'modules.json',
    path.join(transformer, 'sentence_bert_config.json'),
    path.join(pooling, 'config.json'),
    'config_sentence_transformers.json',
  ].filter((f) => fs.existsSync(path.join(dir, f)));
}

interface PoolingConfig {
  pooling_mode?: string;
  pooling_mode_cls_token?: boolean;
  pooling_mode_mean_tokens?: boolean;
  pooling_mode_max_tokens?: boolean;
  pooling_mode_mean_sqrt_len_tokens?: boolean;
  pooling_mode_weightedmean_tokens?: boolean;
  pooling_mode_lasttoken?: boolean;
}

/**
 * The recipe `dir` states. `poolingGiven`: the caller sets pooling itself, so a mode this library cannot run (max,
 * weighted mean, several at once) is not an error.
 */
export function readFolderRecipe(dir: string, { poolingGiven = false } = {}): FolderRecipe {
  const { transformer, pooling: poolingDir } = moduleDirs(dir);
  const recipe: FolderRecipe = {};

  const stFile = path.join(transformer, 'sentence_bert_config.json');
  const st = readJson<{ max_seq_length?: unknown }>(dir, stFile);
  if (st?.max_seq_length !== undefined && st.max_seq_length !== null) {
    const n = st.max_seq_length;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) {
      throw new FastembedError(`${path.join(dir, stFile)}: max_seq_length must be a positive integer, got ${JSON.stringify(n)}`, 'ERR_MODEL_FILES');
    }
    recipe.maxLength = n;
  }

  const poolFile = path.join(poolingDir, 'config.json');
  const pool = readJson<PoolingConfig>(dir, poolFile);
  if (pool) {
    const modes = Object.entries(pool)
      .filter(([k, v]) => k.startsWith('pooling_mode_') && v === true)
      .map(([k]) => k.slice('pooling_mode_'.length));
    const mode = modes.length === 1 ? modes[0] : undefined;
    if (mode === 'cls_token') recipe.pooling = 'cls';
    else if (mode === 'mean_tokens') recipe.pooling = 'mean';
    else if (!poolingGiven) {
      throw new FastembedError(
        `${path.join(dir, poolFile)} asks for pooling ${modes.join(' + ') || '(none)'}; this library pools by CLS token or ` +
          "by mean: set pooling ('mean' or 'cls'; CLI: --pooling) to run the model that way anyway",
        'ERR_MODEL_FILES',
      );
    }
  }

  const prompts = readJson<{ prompts?: Record<string, unknown> }>(dir, 'config_sentence_transformers.json')?.prompts;
  const prompt = (...names: string[]) => names.map((n) => prompts?.[n]).find((p): p is string => typeof p === 'string');
  recipe.queryPrefix = prompt('query');
  recipe.passagePrefix = prompt('passage', 'document');
  return recipe;
}

const RECIPE_FIELDS = ['pooling', 'maxLength', 'queryPrefix', 'passagePrefix'] as const;

/**
 * Where `folder` states something other than `spec` (fields in `decided` are skipped: the caller set them), as
 * "maxLength 512 (registry: 256)".
 */
export function recipeConflicts(folder: FolderRecipe, spec: ModelSpec, decided: Partial<Record<keyof FolderRecipe, unknown>> = {}): string[] {
  return RECIPE_FIELDS.filter((f) => folder[f] !== undefined && decided[f] === undefined && folder[f] !== spec[f]).map(
    (f) => `${f} ${JSON.stringify(folder[f])} (registry: ${JSON.stringify(spec[f])})`,
  );
}
