// inferenceNice: the threads that run inference get the nice value asked for; the JS thread keeps its own.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { Embedder } from '../../src/engine/embedder.js';
import { makeTinyModelDir } from '../fixtures/tiny-bert.js';

/** Nice value of each thread of this process (field 19 of /proc/self/task/<tid>/stat). */
function niceByThread(): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of fs.readdirSync('/proc/self/task')) {
    const stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // after "pid (comm) "
    out.set(Number(tid), Number(fields[16]));
  }
  return out;
}

describe.skipIf(process.platform !== 'linux')('inference thread priority', () => {
  test('inferenceNice 10: the threads that ran inference are at nice 10, the JS thread is not', async () => {
    const before = niceByThread();
    const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fe-nice-'));
    const embedder = await Embedder.create({ modelPath: makeTinyModelDir({ hidden: 16 }), cacheDir, inferenceNice: 10, poolSize: 2 });
    try {
      await Promise.all(Array.from({ length: 8 }, (_, i) => embedder.embed([`text ${i}`, `another text ${i}`])));
      const after = niceByThread();
      expect(after.get(process.pid), 'the JS thread').toBe(before.get(process.pid));
      expect([...after.values()].filter((n) => n === 10).length, 'threads at nice 10').toBeGreaterThanOrEqual(1);
    } finally {
      await embedder.close();
      fs.rmSync(cacheDir, { recursive: true, force: true });
    }
  });

  test('out-of-range values are refused before anything loads', async () => {
    await expect(Embedder.create({ modelPath: '/nonexistent', inferenceNice: 20 })).rejects.toThrow(/inferenceNice must be an integer from 0 to 19, got 20/);
    await expect(Embedder.create({ modelPath: '/nonexistent', inferenceNice: -1 })).rejects.toThrow(RangeError);
  });
});
