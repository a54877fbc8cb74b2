// The load generator of `npm run bench:http`, in its own process so it doesn't take the server's event loop:
// `node bench/dist/load-client.js <json options>` runs autocannon against a running server and prints one JSON line.
import fs from 'node:fs';
import autocannon from 'autocannon';
import { type LoadOptions, loadRequest } from './load-requests.js';

async function main(): Promise<void> {
  const o = JSON.parse(process.argv[2]) as LoadOptions;
  const queries = fs.readFileSync(o.queries, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as string);
  let k = 0;
  const result = await autocannon({
    url: `${o.base}${loadRequest(o.scenario, queries, 0, o.target).url}`,
    connections: o.connections,
    duration: o.seconds,
    requests: [
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        setupRequest: (req: autocannon.Request) => ({ ...req, body: loadRequest(o.scenario, queries, k++, o.target).body }),
      },
    ],
  });
  const out = {
    requests_per_s: result.requests.total / (result.duration || o.seconds),
    p50_ms: result.latency.p50,
    p99_ms: result.latency.p99,
    errors: result.errors + result.non2xx + result.timeouts,
    // CPU the load generator itself took from the machine, as a share of one core.
    cpu_share: (() => {
      const { user, system } = process.cpuUsage();
      return (user + system) / 1e6 / (result.duration || o.seconds);
    })(),
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((err) => {
  process.stdout.write(`${JSON.stringify({ error: String(err?.stack ?? err) })}\n`);
  process.exitCode = 1;
});
