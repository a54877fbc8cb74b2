// Leaks: RSS stays flat over many embeddings and many create/close cycles (reduced in CI; `npm run soak` is full).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from 'vitest';
import { Embedder } from '../../src/embedder.js';
import { SimilarityService } from '../../src/service.js';
import { makeTinyModelDir } from '../fixtures/tiny-bert.js';

const full = process.env.FASTEMBED_SOAK === 'full';
const EMBEDDINGS = full ? 100_000 : 20_000;
const CYCLES = full ? 200 : 60; // measured after 40 warm-up cycles
const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fe-soak-'));
const rssMb = () => process.memoryUsage().rss / 2 ** 20;
const settle = async () => {
  (globalThis as { gc?: () => void }).gc?.();
  await new Promise((r) => setTimeout(r, 50));
};

test(`${EMBEDDINGS} embeddings: RSS growth after warm-up stays under 40 MB`, async () => {
  const e = await Embedder.create({ modelPath: makeTinyModelDir({ hidden: 32 }), cacheDir });
  const batch = (k: number) => Array.from({ length: 500 }, (_, i) => `soak text ${k}-${i} with a few more words ${i % 13}`);
  for (let k = 0; k < 4; k++) await e.embedMatrix(batch(k));
  await settle();
  const start = rssMb();
  for (let k = 4; k < EMBEDDINGS / 500; k++) await e.embedMatrix(batch(k));
  await settle();
  const growth = rssMb() - start;
  console.log(`soak: ${EMBEDDINGS} embeddings, RSS ${start.toFixed(0)} → ${rssMb().toFixed(0)} MB`);
  expect(growth).toBeLessThan(40);
  await e.close();
});

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
