// Memory freed by native work goes back to the OS once the work stops: the trim runs after a quiet spell, once per
// burst, never while tokenising or inference continues.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { Embedder } from '../../src/engine/embedder.js';
import { binding } from '../../src/runtime/binding.js';
import { memoryTrims } from '../../src/runtime/native-memory.js';
import { makeTinyModelDir } from '../fixtures/tiny-bert.js';

const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fe-trim-'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('native memory trim', () => {
  let embedder: Embedder | undefined;
  afterAll(async () => {
    await embedder?.close();
    fs.rmSync(cacheDir, { recursive: true, force: true });
  });

  test('the native trim runs and says whether it released anything', async () => {
    expect(typeof (await binding().trimMemory())).toBe('boolean');
  });

  test('after a burst of embedding, memory is trimmed once, about 2 s after the last native work', async () => {
    embedder = await Embedder.create({ modelPath: makeTinyModelDir({ hidden: 16 }), cacheDir });
    await sleep(2_500); // the load's own tokenising settles
    const before = memoryTrims();
    const texts = Array.from({ length: 200 }, (_, i) => `text number ${i} for the trim test`);
    // Work keeps going for longer than the idle period: no trim in between.
    const until = Date.now() + 3_000;
    while (Date.now() < until) await embedder.embed(texts);
    expect(memoryTrims()).toBe(before);
    await sleep(1_000);
    expect(memoryTrims(), 'not before the quiet spell').toBe(before);
    await sleep(3_500); // generous: a busy machine runs the 2 s timer late
    expect(memoryTrims()).toBe(before + 1);
    await sleep(2_500);
    expect(memoryTrims(), 'once per burst').toBe(before + 1);
  }, 30_000);
});
