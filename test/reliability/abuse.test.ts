// Abuse at the scale of a bad day on a real server: 1,000 requests abandoned by their clients and 300 connections
// that upload their body a byte at a time. Afterwards no slot is held, /ready says so, and requests are answered.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { startTinyServer, type TinyServer } from '../fixtures/tiny-server.js';

let srv: TinyServer;
let port: number;

beforeAll(async () => {
  srv = await startTinyServer({ enableCache: false }, { maxInFlight: 16, bodyTimeoutMs: 3_000 });
  port = Number(new URL(srv.base).port);
});
afterAll(() => srv.close());

const post = (route: string, body: object) =>
  fetch(`${srv.base}${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

async function inFlightGauge(): Promise<number> {
  const text = await (await fetch(`${srv.base}/metrics`)).text();
  return Number(/^fastembed_http_in_flight (\d+)/m.exec(text)?.[1]);
}

/** Sends `raw` on a new connection; resolves once the server has closed it or `after` ms passed (then destroys it). */
function send(raw: string, after: number): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(raw);
      setTimeout(() => socket.destroy(), after);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => resolve());
  });
}

describe('abuse at scale', () => {
  test('1,000 requests abandoned mid-work leave no slot held; the server answers and is ready', async () => {
    const documents = Array.from({ length: 400 }, (_, i) => `abandoned document ${i} with a handful of words to embed`);
    const body = JSON.stringify({ query: 'q', documents });
    const raw = `POST /api/similarity/search HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    // In waves of 50, each request sent whole and its connection dropped while the model works on it (or before
    // it started: either way its slot must come back).
    for (let wave = 0; wave < 20; wave++) await Promise.all(Array.from({ length: 50 }, (_, i) => send(raw, (i * 7) % 60)));
    await vi.waitFor(async () => expect(await inFlightGauge()).toBe(0), { timeout: 60_000, interval: 200 });
    const ready = await fetch(`${srv.base}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ready: true, in_flight: 0, max_in_flight: 16 });
    // As many at once as there are slots: every one is answered.
    const answers = await Promise.all(Array.from({ length: 16 }, (_, i) => post('/api/similarity/compute', { text1: `a ${i}`, text2: `a ${i}` })));
    for (const r of answers) expect(r.status).toBe(200);
    for (const r of answers) expect((await r.json()).similarity).toBeCloseTo(1, 5);
  });

  test('300 slow-body connections hold no slot while they trickle, and are cut off after the body timeout', async () => {
    const sockets: net.Socket[] = [];
    const closed: Promise<void>[] = [];
    const trickle = setInterval(() => {
      for (const s of sockets) if (!s.destroyed) s.write(' ');
    }, 500);
    try {
      for (let i = 0; i < 300; i++) {
        const socket = net.connect(port, '127.0.0.1');
        socket.on('error', () => undefined);
        socket.write('POST /api/similarity/compute HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n{"text1":');
        closed.push(new Promise<void>((resolve) => socket.on('close', () => resolve())));
        sockets.push(socket);
      }
      // While all 300 are uploading: more concurrent requests than slots (16) are answered, and the server is ready.
      const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => post('/api/similarity/compute', { text1: `b ${i}`, text2: 'c' })));
      expect(answers.map((r) => r.status).filter((s) => s !== 200 && s !== 429)).toEqual([]);
      expect(answers.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(16);
      expect((await fetch(`${srv.base}/ready`)).status).toBe(200);
      // A byte every 500 ms does not keep a connection past the 3 s body timeout (generous bound).
      await Promise.race([
        Promise.all(closed),
        new Promise((_, reject) => setTimeout(() => reject(new Error(`${sockets.filter((s) => !s.destroyed).length} slow connections still open`)), 30_000)),
      ]);
    } finally {
      clearInterval(trickle);
      for (const s of sockets) s.destroy();
    }
    expect(await inFlightGauge()).toBe(0);
    expect((await post('/api/similarity/compute', { text1: 'after', text2: 'after' })).status).toBe(200);
  });
});
