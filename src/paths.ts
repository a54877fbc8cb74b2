import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root: src/ (tests) and dist/ (published) both sit one level below it. */
export const packageRoot: string = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
