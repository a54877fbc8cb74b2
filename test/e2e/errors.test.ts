// Every malformed request gets one sentence a client can act on (which field, what was given, what is allowed),
// in its API's own error body, over real HTTP: OpenAI {error:{message,type,param,code}}, TEI {error, error_type},
// the original routes {error, message, statusCode}.
import http from 'node:http';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTinyServer, type TinyServer } from '../fixtures/tiny-server.js';

let server: TinyServer;

beforeAll(async () => {
  server = await startTinyServer();
});
afterAll(() => server.close());

const post = async (url: string, body: unknown, contentType = 'application/json', headers: Record<string, string> = {}) => {
  const res = await fetch(`${server.base}${url}`, {
    method: 'POST',
    headers: { 'content-type': contentType, ...headers },
    body: (typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body)) as BodyInit,
  });
  return { status: res.status, body: await res.json() };
};

/** A POST with no Content-Type header at all (fetch would add text/plain to a string body). */
function postWithoutType(url: string, body: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${server.base}${url}`, { method: 'POST', headers: { 'content-length': Buffer.byteLength(body) } }, (res) => {
      let data = '';
      res.on('data', (d) => (data += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(data) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const strings = (n: number) => Array.from({ length: n }, (_, i) => `text ${i}`);
const INPUT_KINDS = 'a string, an array of strings, an array of integers or an array of arrays of integers';

describe('OpenAI /v1/embeddings: one sentence per failure, in {error:{message,type,param,code}}', () => {
  test.each([
    [{ input: [] }, 'input', 'input is an empty array: send at least 1 item'],
    [{ input: strings(3000) }, 'input', 'input has 3,000 items; at most 2,048 are allowed in one request: send several requests'],
    [{ input: 'x'.repeat(1_500_000) }, 'input', 'input has 1,500,000 characters; at most 1,000,000 are allowed: shorten or split it'],
    [{ input: ['a', 'x'.repeat(1_500_000)] }, 'input', 'input[1] has 1,500,000 characters; at most 1,000,000 are allowed: shorten or split it'],
    [{ input: [1, 'a'] }, 'input', `input must be ${INPUT_KINDS}; got an array of 2 items`],
    [{ input: [-1] }, 'input', 'input[0] must be at least 0; got the number -1'],
    [{}, 'input', `input is missing: send ${INPUT_KINDS}`],
    [{ input: 'a', encoding_format: 'hex' }, 'encoding_format', 'encoding_format must be one of "float", "base64"; got "hex"'],
    [{ input: 'a', model: '' }, 'model', 'model is an empty string: send at least 1 character'],
    [[1], null, 'the body must be an object; got an array of 1 item'],
  ])('%j', async (body, param, message) => {
    const r = await post('/v1/embeddings', body);
    expect(r.status).toBe(400);
    expect(r.body).toEqual({ error: { message, type: 'invalid_request_error', param, code: null } });
  });

  test('malformed and empty JSON bodies say so', async () => {
    expect((await post('/v1/embeddings', '{"input": ')).body.error.message).toMatch(/^the body is not valid JSON.*; send one JSON object$/);
    expect((await post('/v1/embeddings', '')).body.error.message).toBe('the body is empty: send a JSON object');
  });
});

describe('TEI: the same sentences in {error, error_type}, status 422', () => {
  test.each([
    ['/embed', { inputs: ['a', 5] }, 'inputs[1] must be a string or an array of integers; got the number 5'],
    ['/embed', { inputs: ['a', [-1]] }, 'inputs[1][0] must be an integer from 0 to 4,294,967,295; got the number -1'],
    ['/embed', { inputs: strings(3000) }, 'inputs has 3,000 items; at most 2,048 are allowed in one request: send several requests'],
    ['/embed', { inputs: 'a', truncation_direction: 'up' }, 'truncation_direction must be one of "right", "left", "Right", "Left"; got "up"'],
    ['/similarity', { inputs: { source_sentence: 'a' } }, 'inputs.sentences is missing: send an array of strings'],
    // The root route validates with the schema of the route it forwards to.
    ['/', { inputs: ['a', 5] }, 'inputs[1] must be a string or an array of integers; got the number 5'],
  ])('%s %j', async (url, body, error) => {
    const r = await post(url, body);
    expect(r.status).toBe(422);
    expect(r.body).toEqual({ error, error_type: 'Validation' });
  });
});

describe('the original routes: the same sentences in {error, message, statusCode}', () => {
  test.each([
    ['/api/similarity/compute', { text1: 'a' }, 'text2 is missing: send a string'],
    ['/api/similarity/compute', { text1: null, text2: 'b' }, 'text1 must be a string; got null'],
    ['/api/similarity/compute', { text1: 'a', text2: 'b', text3: 'c' }, 'the body has an unknown field "text3"; the fields it takes are text1, text2, model'],
    ['/api/similarity/search', { query: 'q', documents: ['a'], top_k: 1.5 }, 'top_k must be an integer; got the number 1.5'],
    ['/api/similarity/search', { query: 'q', documents: ['a', 7] }, 'documents[1] must be a string; got the number 7'],
    ['/api/similarity/search', { query: 'q', documents: strings(20_000) }, 'documents has 20,000 items; at most 10,000 are allowed in one request: send several requests'],
    ['/api/embeddings', { texts: ['a'], encoding: 'hex' }, 'encoding must be one of "float", "base64"; got "hex"'],
  ])('%s %j', async (url, body, message) => {
    const r = await post(url, body);
    expect(r.status).toBe(400);
    expect(r.body).toEqual({ error: 'Bad Request', message, statusCode: 400 });
  });
});

describe('content type', () => {
  test('a POST without a Content-Type, or with another one, is 415 naming application/json, in each API\'s shape', async () => {
    const none = await postWithoutType('/v1/embeddings', '{"input":"a"}');
    expect(none.status).toBe(415);
    expect(none.body.error.message).toBe('send the body as JSON with the header "Content-Type: application/json"; got no Content-Type header');
    const plain = await post('/embed', '{"inputs":"a"}', 'text/plain');
    expect(plain).toEqual({ status: 415, body: { error: 'send the body as JSON with the header "Content-Type: application/json"; got "text/plain"', error_type: 'Validation' } });
    const original = await postWithoutType('/api/similarity/compute', '{"text1":"a","text2":"b"}');
    expect(original).toEqual({ status: 415, body: { error: 'Unsupported Media Type', message: expect.stringMatching(/"Content-Type: application\/json"; got no Content-Type header$/), statusCode: 415 } });
  });
});

describe('top_k is a safe integer (0 or below means 5, as in the Go service), or a 400 naming the range', () => {
  const range = 'top_k must be an integer from -9,007,199,254,740,991 to 9,007,199,254,740,991';
  // Sent as written (1e308 and 2^53 + 1 would not survive JSON.stringify unchanged).
  test.each([
    ['1.5', 'top_k must be an integer; got the number 1.5'],
    ['1e308', `${range}; got the number 1e+308`],
    ['9007199254740993', `${range}; got the number 9007199254740992`],
  ])('top_k %s', async (raw, message) => {
    const r = await post('/api/similarity/search', `{"query":"q","documents":["a","b"],"top_k":${raw}}`);
    expect(r).toEqual({ status: 400, body: { error: 'Bad Request', message, statusCode: 400 } });
  });

  test('the largest safe integer, far past the documents, is every document', async () => {
    const r = await post('/api/similarity/search', `{"query":"q","documents":["a","b"],"top_k":9007199254740991}`);
    expect(r.status).toBe(200);
    expect(r.body.results).toHaveLength(2);
  });
});

describe('body encoding: uncompressed UTF-8 JSON, anything else a 415 saying what to send', () => {
  const json = JSON.stringify({ text1: 'a', text2: 'b' });
  test.each(['gzip', 'br', 'gzip, identity'])('Content-Encoding: %s', async (coding) => {
    const r = await post('/api/similarity/compute', gzipSync(json), 'application/json', { 'content-encoding': coding });
    const message = `Content-Encoding "${coding}" is not supported: send the body uncompressed (no Content-Encoding header)`;
    expect(r).toEqual({ status: 415, body: { error: 'Unsupported Media Type', message, statusCode: 415 } });
  });

  test.each(['application/json; charset=latin1', 'application/json;charset="ISO-8859-1"', 'application/json; charset=utf-16'])('%s', async (type) => {
    const r = await post('/api/similarity/compute', json, type);
    expect(r.status).toBe(415);
    expect(r.body.message).toMatch(/^charset "[^"]+" is not supported: send the body as UTF-8 JSON with "Content-Type: application\/json" \(or "application\/json; charset=utf-8"\)$/);
  });

  test('in each API\'s own shape', async () => {
    const gzip = { 'content-encoding': 'gzip' };
    const openai = await post('/v1/embeddings', gzipSync('{"input":"a"}'), 'application/json', gzip);
    expect(openai).toMatchObject({ status: 415, body: { error: { message: expect.stringMatching(/^Content-Encoding "gzip" is not supported/), type: 'invalid_request_error' } } });
    const tei = await post('/embed', '{"inputs":"a"}', 'application/json; charset=latin1');
    expect(tei).toMatchObject({ status: 415, body: { error: expect.stringMatching(/^charset "latin1" is not supported/), error_type: 'Validation' } });
  });

  test.each([
    ['application/json; charset=utf-8', {}],
    ['application/json; charset=UTF8', {}],
    ['application/json', { 'content-encoding': 'identity' }],
  ])('%s %j is read', async (type, headers) => {
    expect((await post('/api/similarity/compute', json, type, headers)).status).toBe(200);
  });
});

describe('overload: work the queue cannot take is refused at once with 429 and Retry-After', () => {
  let busy: TinyServer;
  beforeAll(async () => {
    busy = await startTinyServer({ maxQueueTokens: 300, enableCache: false });
  });
  afterAll(() => busy.close());
  const embed = (input: string[], headers: Record<string, string> = {}) =>
    fetch(`${busy.base}/v1/embeddings`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ input }) });

  test('concurrent bulk requests past maxQueueTokens: the accepted are served whole, the others get 429 + Retry-After saying why', async () => {
    const responses = await Promise.all(Array.from({ length: 8 }, (_, r) => embed(Array.from({ length: 100 }, (_, i) => `request ${r} text ${i} about queues`))));
    const bodies = await Promise.all(responses.map(async (res) => ({ status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.json() })));
    const refused = bodies.filter((b) => b.status === 429);
    const served = bodies.filter((b) => b.status === 200);
    expect(refused.length + served.length).toBe(8);
    expect(refused.length).toBeGreaterThan(0);
    expect(served.length).toBeGreaterThan(0);
    served.forEach((b) => expect(b.body.data).toHaveLength(100));
    for (const b of refused) {
      expect(Number(b.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(b.body.error).toMatchObject({ type: expect.any(String), message: expect.stringMatching(/^overloaded: .*maxQueueTokens.*retry in \d+ s$/) });
    }
    const metrics = await (await fetch(`${busy.base}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`^fastembed_overload_refusals_total ${refused.length}$`, 'm'));
    expect(metrics).toMatch(/^fastembed_queue_tokens 0$/m);
  });

  test('X-Timeout-Ms must be a positive whole number of milliseconds', async () => {
    for (const value of ['0', '-5', 'soon', '1.5']) {
      const res = await embed(['a'], { 'x-timeout-ms': value });
      expect(res.status).toBe(400);
      expect((await res.json()).error.message).toMatch(/X-Timeout-Ms header must be a positive whole number of milliseconds/);
    }
    expect((await embed(['a'], { 'x-timeout-ms': '5000' })).status).toBe(200);
  });
});
