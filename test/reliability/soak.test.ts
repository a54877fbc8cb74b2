// Leaks: RSS stays flat over many embeddings and many create/close cycles (reduced in CI; `npm run soak` is full).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from 'vitest';
import { SimilarityService } from '../../src/service/service.js';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { fullSizeModel, needsFullSize } from '../fixtures/shared.js';
import { makeTinyModelDir } from '../fixtures/tiny-bert.js';

const full = process.env.FASTEMBED_SOAK === 'full';
const EMBEDDINGS = full ? 100_000 : 20_000;
const CYCLES = full ? 200 : 60; // measured after 40 warm-up cycles
const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fe-soak-'));
const here = path.dirname(fileURLToPath(import.meta.url));
const shared = fullSizeModel;
const rssMb = () => process.memoryUsage().rss / 2 ** 20;
const settle = async () => {
  (globalThis as { gc?: () => void }).gc?.();
  await new Promise((r) => setTimeout(r, 50));
};

// The full-size model in a child process run with --expose-gc, so each RSS reading follows a real collection and
// nothing else in the test process moves it.
test.skipIf(!shared)(`${EMBEDDINGS} embeddings with the full-size model: RSS growth after warm-up stays under 40 MB${needsFullSize}`, () => {
  const r = spawnSync(process.execPath, ['--expose-gc', path.join(here, 'soak-child.mjs'), shared!, cacheDir, String(EMBEDDINGS)], {
    encoding: 'utf8',
    timeout: 600_000,
  });
  expect(r.status, r.stderr).toBe(0);
  const { startMb, endMb, samplesMb } = JSON.parse(r.stdout) as { startMb: number; endMb: number; samplesMb: number[] };
  console.log(`soak: ${EMBEDDINGS} embeddings (full-size model), RSS ${startMb.toFixed(0)} → ${endMb.toFixed(0)} MB, samples ${samplesMb.join(' ')}`);
  expect(endMb - startMb).toBeLessThan(40);
}, 600_000);

test(`${CYCLES} service create/close cycles: RSS growth stays under 60 MB`, async () => {
  const modelPath = makeTinyModelDir({ hidden: 32 });
  const cycle = async () => {
    const s = await SimilarityService.create({ modelPath, cacheDir });
    await s.computeSimilarity('leak check', 'another text');
    await s.close();
  };
  // Warm-up until the heap and V8 reach their steady state (measured: about 40 cycles), then measure.
  for (let i = 0; i < 40; i++) await cycle();
  await settle();
  const start = rssMb();
  for (let i = 0; i < CYCLES; i++) await cycle();
  await settle();
  console.log(`soak: ${CYCLES} create/close cycles, RSS ${start.toFixed(0)} → ${rssMb().toFixed(0)} MB`);
  expect(rssMb() - start).toBeLessThan(60);
});
