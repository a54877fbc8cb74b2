// Load: many concurrent callers in process and a sustained HTTP load on loopback, with zero errors.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { expect, test } from 'vitest';
import { buildServer } from '../../src/http/server.js';
import { SimilarityService } from '../../src/service/service.js';
import { cosineJs } from '../fixtures/reference.js';
import { makeTinyModelDir } from '../fixtures/tiny-bert.js';

const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fe-load-'));

test('1,000 concurrent in-process calls all succeed with the right answers', async () => {
  const service = await SimilarityService.create({ modelPath: makeTinyModelDir({ hidden: 16 }), cacheDir, enableCache: false });
  const texts = Array.from({ length: 1000 }, (_, i) => `concurrent caller ${i} asks about topic ${i % 37}`);
  const vectors = await Promise.all(texts.map((t) => service.computeEmbedding(t)));
  const direct = await service.computeBatchEmbeddings(texts.slice(0, 20));
  direct.forEach((v, i) => expect(cosineJs(v, vectors[i])).toBeGreaterThan(0.99999));
  const stats = service.getStats();
  expect(stats.errors).toBe(0);
  expect(stats.microBatches.batches).toBeLessThan(100); // coalesced
  await service.close();
});

test('sustained HTTP load (5 s, 32 connections): zero errors, bounded latency', async () => {
  const service = await SimilarityService.create({ modelPath: makeTinyModelDir({ hidden: 16 }), cacheDir, enableCache: false });
  const app = await buildServer(service, { logger: false });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  let n = 0;
  const result = await autocannon({
    url: `${url}/api/similarity/compute`,
    connections: 32,
    duration: 5,
    requests: [
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        setupRequest: (req: autocannon.Request) => ({ ...req, body: JSON.stringify({ text1: `request ${n++}`, text2: 'a fixed text' }) }),
      },
    ],
  });
  expect(result.errors).toBe(0);
  expect(result.non2xx).toBe(0);
  expect(result.timeouts).toBe(0);
  expect(result.requests.total).toBeGreaterThan(100);
  expect(result.latency.p99).toBeLessThan(2000);
  await app.close();
  await service.close();
});
