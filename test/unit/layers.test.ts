// The source tree's layering (docs/architecture.md): every relative import in src/ goes to the importer's own folder
// or to a layer below it, so the folders read top to bottom as the architecture does.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve(__dirname, '../../src');
/** Higher imports lower; equal ranks (models, cache, lexical) do not import each other. */
const RANK: Record<string, number> = { util: 0, runtime: 1, models: 2, cache: 2, lexical: 2, engine: 3, service: 4, adapters: 5, http: 5, cli: 6, '.': 7 };

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? sources(full) : e.name.endsWith('.ts') ? [full] : [];
  });
}

const layerOf = (file: string) => path.relative(SRC, path.dirname(file)).split(path.sep)[0] || '.';

describe('source layers', () => {
  const files = sources(SRC);

  it('every folder of src/ is a known layer', () => {
    const layers = new Set(files.map(layerOf));
    expect([...layers].filter((l) => !(l in RANK))).toEqual([]);
    expect(layers.size).toBeGreaterThanOrEqual(9);
  });

  it('imports run only downward (or within a layer)', () => {
    const upward: string[] = [];
    for (const file of files) {
      const from = layerOf(file);
      for (const [, spec] of fs.readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
        const to = layerOf(path.resolve(path.dirname(file), spec));
        if (to !== from && !(RANK[to] < RANK[from])) upward.push(`${path.relative(SRC, file)} imports ${spec} (${from} -> ${to})`);
      }
    }
    expect(upward).toEqual([]);
  });
});
