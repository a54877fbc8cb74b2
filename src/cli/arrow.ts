// apache-arrow is an optional peer (≈ 9 MB installed, the CLI's Arrow format alone uses it), loaded on first use.
import { UsageError } from './args.js';

export type ArrowModule = typeof import('apache-arrow');

let loaded: Promise<ArrowModule> | undefined;

/** The apache-arrow module, or a UsageError saying how to install it. */
export function loadArrow(): Promise<ArrowModule> {
  loaded ??= import('apache-arrow').catch((err: NodeJS.ErrnoException) => {
    loaded = undefined;
    if (err.code !== 'ERR_MODULE_NOT_FOUND' && err.code !== 'MODULE_NOT_FOUND') throw err;
    throw new UsageError('the Arrow format needs the apache-arrow package, an optional dependency: npm install apache-arrow (or use --format ndjson or npy)');
  });
  return loaded;
}
