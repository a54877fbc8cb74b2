// The load suite's client, in its own process so it doesn't share the server's event loop:
// `node overload-client.mjs '<json>'` runs closed-loop callers against /v1/embeddings for a while and prints one
// JSON line. Bulk callers send `bulkTexts` texts per request, short callers one; a 429 is waited out for its
// Retry-After, as a well-behaved client does, and retried with new texts. Work delivered is counted in texts and in
// tokens (the answers' usage.prompt_tokens) within the measured window, for each kind of caller and for all of them.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { embeddingsBody } from './load-texts.mjs';

const o = JSON.parse(process.argv[2]);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const start = performance.now();
const measureFrom = start + o.warmupSeconds * 1000;
const end = start + o.seconds * 1000;

// Bulk bodies are made once and reused (the server under test has no cache; each body's texts are distinct, so none
// is deduplicated): generating and serialising a bulk request's texts cost this process enough CPU, on the two cores
// it shares with the server, to show up in its own latencies.
const bulkBodies = o.bulk > 0 ? Array.from({ length: 16 }, () => embeddingsBody(o.model, o.bulkTexts, o.bulkWords)) : [];
let nextBulk = 0;

function caller(kind, n, words) {
  const stats = { kind, ok: 0, texts: 0, completions: [], latencies: [], refusals: [], statuses: {} };
  const loop = async () => {
    while (performance.now() < end) {
      const body = kind === 'bulk' ? bulkBodies[nextBulk++ % bulkBodies.length] : embeddingsBody(o.model, n, words);
      const t0 = performance.now();
      let res;
      let payload;
      try {
        res = await fetch(`${o.base}/v1/embeddings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        payload = await res.text();
      } catch (err) {
        stats.statuses[`network: ${err.cause?.code ?? err.message}`] = (stats.statuses[`network: ${err.cause?.code ?? err.message}`] ?? 0) + 1;
        continue;
      }
      const t1 = performance.now();
      stats.statuses[res.status] = (stats.statuses[res.status] ?? 0) + 1;
      if (res.status === 200) {
        stats.ok++;
        // Delivered within the measured window (after the warm-up, before the end).
        if (t1 >= measureFrom && t1 <= end) {
          stats.texts += n;
          stats.completions.push([t1, JSON.parse(payload).usage.prompt_tokens]);
        }
        if (t0 >= measureFrom) stats.latencies.push(t1 - t0);
      } else if (res.status === 429) {
        if (t0 >= measureFrom) stats.refusals.push(t1 - t0);
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
const lag = monitorEventLoopDelay({ resolution: 10 });
lag.enable();
await Promise.all(callers.map((c) => c.loop()));
lag.disable();
const window = o.seconds - o.warmupSeconds;
/**
 * Tokens a second between the first and the last answer of the window: a bulk answer is seconds of work, so
 * counting whole answers against the window's length would be off by up to one answer at each edge.
 */
function rate(completions) {
  if (completions.length < 2) return 0;
  const sorted = completions.sort((a, b) => a[0] - b[0]);
  const tokens = sorted.slice(1).reduce((a, c) => a + c[1], 0);
  return (tokens / (sorted.at(-1)[0] - sorted[0][0])) * 1000;
}

const merge = (kind) => {
  const all = callers.filter((c) => c.stats.kind === kind).map((c) => c.stats);
  const statuses = {};
  for (const s of all) for (const [k, v] of Object.entries(s.statuses)) statuses[k] = (statuses[k] ?? 0) + v;
  return {
    ok: all.reduce((a, s) => a + s.ok, 0),
    answers: all.reduce((a, s) => a + s.completions.length, 0),
    textsPerSecond: all.reduce((a, s) => a + s.texts, 0) / window,
    tokensPerSecond: rate(all.flatMap((s) => s.completions)),
    latencies: all.flatMap((s) => s.latencies),
    refusals: all.flatMap((s) => s.refusals),
    statuses,
  };
};
const delivered = rate(callers.flatMap((c) => c.stats.completions));
process.stdout.write(`${JSON.stringify({ bulk: merge('bulk'), short: merge('short'), deliveredTokensPerSecond: delivered, clientLagMs: { p99: lag.percentile(99) / 1e6, max: lag.max / 1e6 } })}\n`);
