// Shared CLI option parsing: model options, config file, and the service config they make.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { configFromEnv, loadConfigFile, presets, resolveConfig, type SimilarityConfig } from '../service/config.js';

export const MODEL_OPTIONS = {
  model: { type: 'string', short: 'm' },
  'model-path': { type: 'string' },
  'cache-dir': { type: 'string' },
  'pool-size': { type: 'string' },
  threads: { type: 'string' },
  'max-length': { type: 'string' },
  pooling: { type: 'string' },
  'query-prefix': { type: 'string' },
  'passage-prefix': { type: 'string' },
  'batch-size': { type: 'string' },
  quantize: { type: 'string' },
  config: { type: 'string', short: 'c' },
  preset: { type: 'string' },
  fallback: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

export const MODEL_HELP = `Model options:
  -m, --model <id>        registry id or alias (default all-MiniLM-L6-v2; see 'models list')
      --model-path <dir>  local model directory (model.onnx + tokenizer.json); nothing is downloaded
      --cache-dir <dir>   model cache (default FASTEMBED_CACHE_DIR or ~/.cache/fastembed-native)
      --pool-size <n>     ONNX Runtime sessions (default 1)
      --threads <n>       threads per session (default cores / pool size)
      --max-length <n>    longest input in tokens (default: the model's; 512 for a custom model)
      --pooling <p>       mean | cls (a custom model's pooling; a registry id brings its own)
      --query-prefix <s>  text put before queries (search), e.g. 'query: '
      --passage-prefix <s> text put before documents (search), e.g. 'passage: '
      --batch-size <n>    texts per inference batch
      --quantize <q>      int8 | none: int8 runs the model quantised on first use (faster; README *Quality*)
  -c, --config <file>     JSON config in the {"fastembed": {...}} format
      --preset <name>     development | production | highPerformance
      --fallback          if the model can't load, answer with Jaccard similarity (marked jaccard_fallback)
                          instead of failing; 'serve' does this by default for its first model (and reports it in
                          /health and /ready), and for the others only with this flag`;

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export function parse<O extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function intOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new UsageError(`--${name} must be an integer, got '${value}'`);
  return n;
}

/** A flag that must be a positive integer when given. */
export function positiveIntOption(value: string | undefined, name: string): number | undefined {
  const n = intOption(value, name);
  if (n !== undefined && n < 1) throw new UsageError(`--${name} must be a positive integer, got '${value}'`);
  return n;
}

/** Config from (lowest first): defaults or preset, config file, FASTEMBED_* env, command-line flags. */
/** The config from a preset, the config file, the environment and the flags, over `defaults` (a command's own). */
export function configFromArgs(values: Record<string, string | string[] | boolean | undefined>, defaults: Partial<SimilarityConfig> = {}): SimilarityConfig {
  const preset = values.preset as string | undefined;
  if (preset !== undefined && !(preset in presets)) {
    throw new UsageError(`--preset must be one of ${Object.keys(presets).join(', ')}, got '${preset}'`);
  }
  let config = resolveConfig({ ...(preset ? presets[preset as keyof typeof presets]() : {}), ...defaults });
  if (values.config) config = loadConfigFile(values.config as string, config);
  config = configFromEnv(process.env, config);
  const flags: Partial<SimilarityConfig> = {};
  if (values.model !== undefined) flags.model = values.model as string;
  if (values['model-path'] !== undefined) flags.modelPath = values['model-path'] as string;
  if (values['cache-dir'] !== undefined) flags.cacheDir = values['cache-dir'] as string;
  if (values.fallback !== undefined) flags.fallback = values.fallback as boolean;
  if (values.pooling !== undefined) flags.pooling = values.pooling as SimilarityConfig['pooling'];
  if (values.quantize !== undefined) flags.quantize = values.quantize as SimilarityConfig['quantize'];
  if (values['query-prefix'] !== undefined) flags.queryPrefix = values['query-prefix'] as string;
  if (values['passage-prefix'] !== undefined) flags.passagePrefix = values['passage-prefix'] as string;
  const ints: Array<[string, keyof SimilarityConfig]> = [
    ['pool-size', 'poolSize'],
    ['threads', 'threads'],
    ['max-length', 'maxLength'],
    ['batch-size', 'batchSize'],
  ];
  for (const [flag, key] of ints) {
    const v = intOption(values[flag] as string | undefined, flag);
    if (v !== undefined) (flags as Record<string, number>)[key] = v;
  }
  return resolveConfig(flags, config);
}
