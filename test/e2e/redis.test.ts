// Replicas sharing a real Redis as their L2 cache, over HTTP; Redis dying and coming back mid-run.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { RedisStore } from '../../src/cache/redis-store.js';
import { buildServer } from '../../src/http/server.js';
import { SimilarityService } from '../../src/service/service.js';
import { freePort, redisAvailable, RedisServer } from '../fixtures/redis-server.js';
import { makeTinyModelDir } from '../fixtures/tiny-bert.js';

const haveRedis = redisAvailable();
if (!haveRedis && process.env.CI) throw new Error('redis-server is not installed; .ci/run installs it (apt-get install redis-server)');

const post = (url: string, body: unknown) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

async function waitFor(check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(!haveRedis)(`Redis-backed L2 cache${haveRedis ? '' : ' — skipped: redis-server not installed'}`, () => {
  let redis: RedisServer;
  let tinyDir: string;
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fe-redis-'));
  beforeAll(async () => {
    redis = new RedisServer(await freePort());
    await redis.start();
    tinyDir = makeTinyModelDir({ hidden: 32 });
  });
  afterAll(() => redis.stop());

  test('two replicas behind a load balancer share embeddings through Redis', async () => {
    const replicas = await Promise.all(
      [0, 1].map(async () => {
        const service = await SimilarityService.create({ modelPath: tinyDir, cacheDir, redisUrl: redis.url });
        const app = await buildServer(service, { logger: false });
        return { service, app, base: await app.listen({ port: 0, host: '127.0.0.1' }) };
      }),
    );
    await waitFor(() => replicas.every((r) => r.service.health().status === 'healthy'));
    const a = await (await post(`${replicas[0].base}/api/embeddings`, { texts: ['shared text one', 'shared text two'] })).json();
    const b = await (await post(`${replicas[1].base}/api/embeddings`, { texts: ['shared text one', 'shared text two'] })).json();
    expect(b.embeddings).toEqual(a.embeddings);
    const stats1 = await (await fetch(`${replicas[1].base}/api/similarity/stats`)).json();
    expect(stats1.stats).toMatchObject({ texts_embedded: 0, cache: { l2: 'redis', l2_hits: 2 } });
    for (const r of replicas) {
      await r.app.close();
      await r.service.close();
    }
  });

  test('Redis dying mid-run: answers keep coming (cache misses), /health degraded, then recovery on reconnect', async () => {
    const service = await SimilarityService.create({ modelPath: tinyDir, cacheDir, redisUrl: redis.url, cacheSize: 0 });
    const app = await buildServer(service, { logger: false });
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    await waitFor(() => service.health().status === 'healthy');
    await post(`${base}/api/similarity/compute`, { text1: 'before the outage', text2: 'x' });

    await redis.stop();
    await waitFor(() => service.health().status === 'degraded');
    const during = await post(`${base}/api/similarity/compute`, { text1: 'during the outage', text2: 'x' });
    expect(during.status).toBe(200);
    expect((await during.json()).method).toBe('fastembed_cosine');
    const health = await (await fetch(`${base}/health`)).json();
    expect(health.status).toBe('degraded');
    expect(health.reasons.join()).toMatch(/redis cache unavailable/);
    expect(service.getStats().cache.l2Errors).toBeGreaterThan(0);

    await redis.start(); // an empty Redis comes back on the same port
    await waitFor(() => service.health().status === 'healthy');
    await post(`${base}/api/similarity/compute`, { text1: 'after the outage', text2: 'x' });
    const hitsBefore = service.getStats().cache.l2Hits;
    await post(`${base}/api/similarity/compute`, { text1: 'after the outage', text2: 'x' });
    expect(service.getStats().cache.l2Hits).toBe(hitsBefore + 2); // written after recovery, read back from Redis
    await app.close();
    await service.close();
  });
  test('Redis restarting: /health gives the failure that opened the breaker, not "undefined", once the connection is back', async () => {
    // A long cool-down keeps the breaker open after the reconnect (which clears the connection's own error).
    const store = new RedisStore(redis.url, { coolDownMs: 60_000 });
    const service = await SimilarityService.create({ modelPath: tinyDir, cacheDir, cacheSize: 0 }, { store });
    const app = await buildServer(service, { logger: false });
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      await waitFor(() => service.health().status === 'healthy');
      await redis.stop();
      expect((await service.computeSimilarity('during the restart', 'x')).method).toBe('fastembed_cosine'); // a failed command opens the breaker
      await redis.start();
      await waitFor(() => /skipped for/.test(store.health().error ?? '')); // connected again, still skipped
      const health = await (await fetch(`${base}/health`)).json();
      const reason = health.reasons.find((r: string) => /redis/.test(r));
      expect(reason).toMatch(/redis cache unavailable: skipped for 60000 ms after: \w/);
      expect(reason).not.toMatch(/undefined/);
    } finally {
      await app.close();
      await service.close();
    }
  });

  test('a frozen Redis (SIGSTOP): requests stop paying its timeout after the first, health says why, SIGCONT recovers', async () => {
    const service = await SimilarityService.create({ modelPath: tinyDir, cacheDir, redisUrl: redis.url, cacheSize: 0 });
    try {
      await waitFor(() => service.health().status === 'healthy');
      await service.computeSimilarity('warm', 'up');
      redis.signal('SIGSTOP');
      const t0 = Date.now();
      for (let i = 0; i < 20; i++) expect((await service.computeSimilarity(`frozen ${i}`, 'x')).method).toBe('fastembed_cosine');
      // Without the breaker each request waits out a 250 ms read and a 250 ms write: 10 s for these 20.
      expect(Date.now() - t0).toBeLessThan(2_500);
      expect(service.health().status).toBe('degraded');
      expect(service.health().reasons.join()).toMatch(/redis cache unavailable: skipped/);
    } finally {
      redis.signal('SIGCONT');
    }
    await waitFor(() => service.health().status === 'healthy');
    await service.close();
  });
});
