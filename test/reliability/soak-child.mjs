// Run by soak.test.ts as `node --expose-gc soak-child.mjs <modelDir> <cacheDir> <count>`: embeds <count> distinct texts
// with the full-size model through the built package, collecting garbage before each RSS reading, and prints
// {"startMb", "endMb", "samplesMb"} as JSON.
import { Embedder } from '../../dist/index.js';

const [modelPath, cacheDir, countArg] = process.argv.slice(2);
const count = Number(countArg);
const rssMb = () => {
  globalThis.gc();
  return process.memoryUsage().rss / 2 ** 20;
};
const batch = (k) => Array.from({ length: 500 }, (_, i) => `soak ${k} ${i} words ${i % 13}`);
const e = await Embedder.create({ model: 'all-MiniLM-L6-v2', modelPath, cacheDir });
for (let k = 0; k < 4; k++) await e.embedMatrix(batch(k)); // warm-up: arenas and caches reach their size
const startMb = rssMb();
const samplesMb = [];
for (let k = 4; k < count / 500; k++) {
  await e.embedMatrix(batch(k));
  if (k % 8 === 0) samplesMb.push(Math.round(rssMb()));
}
const endMb = rssMb();
await e.close();
process.stdout.write(JSON.stringify({ startMb, endMb, samplesMb }));
