// The abort storm's client, in its own process: `node abort-storm-client.mjs '<json>'` warms the server up with
// complete requests (few at a time, so none is refused) and `warmupRounds` rounds of the storm itself (the heap
// grows to the traffic's size once), then runs rounds of aborted requests (each cancelled by its client 5–150 ms
// after sending, while queued or running), pausing after each round, and prints the server's RSS (read from /proc)
// after the warm-up and after every round as one JSON line.
import fs from 'node:fs';
import { embeddingsBody } from './load-texts.mjs';

const o = JSON.parse(process.argv[2]);
const rssMb = () => Number(fs.readFileSync(`/proc/${o.pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]) / 1024;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const post = (signal) => fetch(`${o.base}/v1/embeddings`, { method: 'POST', signal, headers: { 'content-type': 'application/json' }, body: embeddingsBody(o.model, o.texts, o.words) });

/** `total` calls of `one`, `concurrency` at a time. */
async function run(total, concurrency, one) {
  let left = total;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (left-- > 0) await one();
  }));
}

const statuses = {};
await run(o.warmup, o.warmupConcurrency, async () => {
  const res = await post();
  const body = await res.text();
  statuses[res.status] = (statuses[res.status] ?? 0) + 1;
  if (res.status !== 200) statuses.last = body.slice(0, 300);
});
/** One round of `o.aborts` requests, each aborted by this client 5–150 ms after it was sent; returns how many were. */
async function storm() {
  let aborted = 0;
  await run(o.aborts, o.concurrency, async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 5 + Math.random() * 145);
    try {
      await (await post(controller.signal)).arrayBuffer();
    } catch {
      aborted++;
    }
  });
  await sleep(o.pauseMs);
  return aborted;
}

for (let r = 0; r < o.warmupRounds; r++) await storm();
const warm = rssMb();
const rounds = [];
let aborted = 0;
for (let r = 0; r < o.rounds; r++) {
  aborted += await storm();
  rounds.push(rssMb());
}
process.stdout.write(`${JSON.stringify({ warm, rounds, aborted, statuses })}\n`);
