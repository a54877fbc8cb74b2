// The load suite's client, in its own process so it doesn't share the server's event loop:
// `node overload-client.mjs '<json>'` runs closed-loop callers against /v1/embeddings for a while and prints one
// JSON line. Bulk callers send `bulkTexts` texts per request, short callers one; a 429 is waited out for its
// Retry-After, as a well-behaved client does, and retried with new texts.
const o = JSON.parse(process.argv[2]);
const WORDS = 'the model reads every passage in the corpus and the index keeps each vector near the others that share its meaning while queries arrive from many callers at once'.split(' ');

let serial = 0;
/** A text of about `words` words, unique (so no cache answers it). */
function text(words) {
  const id = serial++;
  const out = [`request ${id}`];
  for (let i = 0; i < words; i++) out.push(WORDS[(id * 7 + i * 13) % WORDS.length]);
  return out.join(' ');
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const start = performance.now();
const measureFrom = start + o.warmupSeconds * 1000;
const end = start + o.seconds * 1000;

function caller(kind, n, words) {
  const stats = { kind, ok: 0, texts: 0, latencies: [], refusals: [], statuses: {} };
  const loop = async () => {
    while (performance.now() < end) {
      const body = JSON.stringify({ input: Array.from({ length: n }, () => text(words)), model: o.model, encoding_format: 'base64' });
      const t0 = performance.now();
      let res;
      try {
        res = await fetch(`${o.base}/v1/embeddings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        await res.arrayBuffer();
      } catch (err) {
        stats.statuses[`network: ${err.cause?.code ?? err.message}`] = (stats.statuses[`network: ${err.cause?.code ?? err.message}`] ?? 0) + 1;
        continue;
      }
      const t1 = performance.now();
      stats.statuses[res.status] = (stats.statuses[res.status] ?? 0) + 1;
      if (res.status === 200) {
        stats.ok++;
        // Delivered within the measured window (after the warm-up, before the end).
        if (t1 >= measureFrom && t1 <= end) stats.texts += n;
        if (t0 >= measureFrom) stats.latencies.push(t1 - t0);
      } else if (res.status === 429) {
        stats.refusals.push(t1 - t0);
        const wait = Number(res.headers.get('retry-after') ?? '1') * 1000;
        await sleep(Math.max(0, Math.min(wait, end - performance.now())));
      }
    }
  };
  return { stats, loop };
}

const callers = [
  ...Array.from({ length: o.bulk }, () => caller('bulk', o.bulkTexts, o.bulkWords)),
  ...Array.from({ length: o.short }, () => caller('short', 1, o.shortWords)),
];
await Promise.all(callers.map((c) => c.loop()));
const window = o.seconds - o.warmupSeconds;
const merge = (kind) => {
  const all = callers.filter((c) => c.stats.kind === kind).map((c) => c.stats);
  const statuses = {};
  for (const s of all) for (const [k, v] of Object.entries(s.statuses)) statuses[k] = (statuses[k] ?? 0) + v;
  return {
    ok: all.reduce((a, s) => a + s.ok, 0),
    textsPerSecond: all.reduce((a, s) => a + s.texts, 0) / window,
    latencies: all.flatMap((s) => s.latencies),
    refusals: all.flatMap((s) => s.refusals),
    statuses,
  };
};
process.stdout.write(`${JSON.stringify({ bulk: merge('bulk'), short: merge('short') })}\n`);
