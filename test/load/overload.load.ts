// npm run test:load — overload without collapse (issue #33), a real server on loopback over the full-size model, the
// load from a separate process (overload-client.mjs). Bounded loops; FASTEMBED_LOAD_SECONDS sets each phase's length
// (45 by default; CI runs a short version).
//
//   1. idle: one short query at a time — the short-query p50 the others are held to;
//   2. capacity: 4 bulk callers (256 texts a request) alone — the texts/s the overloaded server must keep;
//   3. 64 bulk + 8 short callers, then 256 bulk + 8 short: texts/s delivered ≥ 90 % of (2), no accepted request
//      times out (no 504), every refusal (429) answered within 100 ms, short-query p99 ≤ 10× the idle p50.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../src/http/server.js';
import { SimilarityService } from '../../src/service/service.js';
import { fullSizeModel, needsFullSize } from '../fixtures/shared.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const SECONDS = Number(process.env.FASTEMBED_LOAD_SECONDS ?? 45);
const WARMUP = Math.min(10, Math.round(SECONDS / 4));
/** The server's timeout: the deadline admission holds accepted work to. */
const TIMEOUT_MS = Number(process.env.FASTEMBED_LOAD_TIMEOUT_MS ?? 30_000);
const BULK_TEXTS = 256;
const BULK_WORDS = 60;
const SHORT_WORDS = 8;

interface Side {
  ok: number;
  textsPerSecond: number;
  latencies: number[];
  refusals: number[];
  statuses: Record<string, number>;
}
interface Outcome {
  bulk: Side;
  short: Side;
}

const quantile = (xs: number[], q: number) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

function load(base: string, bulk: number, short: number, seconds = SECONDS, warmupSeconds = WARMUP): Promise<Outcome> {
  const options = { base, model: 'all-MiniLM-L6-v2', bulk, short, seconds, warmupSeconds, bulkTexts: BULK_TEXTS, bulkWords: BULK_WORDS, shortWords: SHORT_WORDS };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(here, 'overload-client.mjs'), JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as Outcome) : reject(new Error(`the load client exited with ${code}: ${out}`))));
  });
}

const describeLoad = (o: Outcome) =>
  `bulk ${o.bulk.textsPerSecond.toFixed(0)} texts/s, ${o.bulk.ok} ok, statuses ${JSON.stringify(o.bulk.statuses)}, refusals max ${Math.max(0, ...o.bulk.refusals).toFixed(1)} ms; ` +
  `short p50 ${quantile(o.short.latencies, 0.5).toFixed(1)} ms p99 ${quantile(o.short.latencies, 0.99).toFixed(1)} ms, statuses ${JSON.stringify(o.short.statuses)}`;

describe(`overload: admission by work and deadline${needsFullSize}`, () => {
  let service: SimilarityService;
  let app: FastifyInstance;
  let base: string;
  let idleP50 = NaN;
  let capacity = NaN;

  beforeAll(async () => {
    if (!fullSizeModel) return;
    const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fe-overload-'));
    service = await SimilarityService.create({ model: 'all-MiniLM-L6-v2', modelPath: fullSizeModel, cacheDir, enableCache: false, poolSize: 2, timeout: TIMEOUT_MS });
    app = await buildServer(service, { logger: false });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await app?.close();
    await service?.close();
  });

  test.skipIf(!fullSizeModel)('idle and capacity', { timeout: 600_000 }, async () => {
    const idle = await load(base, 0, 1, Math.max(4, SECONDS / 5), 1);
    idleP50 = quantile(idle.short.latencies, 0.5);
    const alone = await load(base, 4, 0);
    capacity = alone.bulk.textsPerSecond;
    console.info(`idle short p50 ${idleP50.toFixed(1)} ms; 4 bulk callers alone: ${describeLoad(alone)}`);
    expect(idle.short.latencies.length).toBeGreaterThan(10);
    // A cold model's first bulk calls may be refused until its speed is measured; none may time out.
    expect(Object.keys(alone.bulk.statuses).filter((s) => s !== '200' && s !== '429')).toEqual([]);
    expect(capacity).toBeGreaterThan(0);
  });

  test.skipIf(!fullSizeModel).each([64, 256])('%i bulk callers + 8 short: goodput kept, nothing accepted times out, refusals at once, queries fast', { timeout: 600_000 }, async (bulk) => {
    expect(capacity, 'the capacity phase ran').toBeGreaterThan(0);
    const o = await load(base, bulk, 8);
    console.info(`${bulk} bulk + 8 short: ${describeLoad(o)}; ${(o.bulk.textsPerSecond / capacity).toFixed(2)}× the capacity of 4 callers; queue ${JSON.stringify(service.getStats().queue)}`);
    expect(o.bulk.statuses['504'] ?? 0, 'accepted bulk requests that timed out').toBe(0);
    expect(o.short.statuses['504'] ?? 0, 'short queries that timed out').toBe(0);
    const unexpected = Object.keys({ ...o.bulk.statuses, ...o.short.statuses }).filter((s) => s !== '200' && s !== '429');
    expect(unexpected, 'statuses other than 200 and 429').toEqual([]);
    expect(o.bulk.refusals.length, 'past capacity some bulk requests are refused').toBeGreaterThan(0);
    expect(Math.max(...o.bulk.refusals, ...o.short.refusals), 'slowest refusal, ms').toBeLessThanOrEqual(100);
    expect(o.bulk.textsPerSecond / capacity, 'texts/s delivered against 4 callers alone').toBeGreaterThanOrEqual(0.9);
    expect(quantile(o.short.latencies, 0.99) / idleP50, 'short-query p99 against the idle p50').toBeLessThanOrEqual(10);
  });
});
