// text-embeddings-inference's routes on a real server: TEI's request and response shapes, its error body and
// status codes, truncation rules and prompts; then Hugging Face's own InferenceClient (Python) as a real client.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildServer } from '../../src/http/server.js';
import type { SimilarityService } from '../../src/service/service.js';
import { cosineJs } from '../fixtures/cosine.js';
import { pythonClients } from '../fixtures/python-clients.js';
import { startTinyServer, type TinyServer } from '../fixtures/tiny-server.js';

let server: TinyServer;
let service: SimilarityService;
let base: string;

beforeAll(async () => {
  // e5-style prompts, so prompt_name has something to name.
  server = await startTinyServer({ maxLength: 16, queryPrefix: 'query: ', passagePrefix: 'passage: ' }, { maxInputs: 8 });
  ({ service, base } = server);
});
afterAll(() => server.close());

const post = (url: string, body: unknown) => fetch(`${base}${url}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const LONG = 'many words in a sentence that is much longer than sixteen tokens of the tokenizer, on purpose';

describe('TEI routes', () => {
  test('/embed: a string or strings → [[floats]], with timing headers', async () => {
    const res = await post('/embed', { inputs: ['a cat', 'a dog'] });
    expect(res.status).toBe(200);
    const vectors: number[][] = await res.json();
    const ours = await service.computeBatchEmbeddings(['a cat', 'a dog']);
    expect(vectors).toHaveLength(2);
    vectors.forEach((v, i) => expect(cosineJs(Float32Array.from(v), ours[i])).toBeGreaterThan(0.999999));
    for (const h of ['x-total-time', 'x-queue-time', 'x-tokenization-time', 'x-inference-time', 'x-compute-tokens']) expect(Number(res.headers.get(h))).toBeGreaterThanOrEqual(0);
    expect(Number(res.headers.get('x-compute-tokens'))).toBe((await service.tokenize(['a cat', 'a dog'])).reduce((a, t) => a + t.length, 0));
    expect(await (await post('/embed', { inputs: 'a cat' })).json()).toHaveLength(1);
  });

  test('truncation: auto by default, 422 with truncate: false, from the start with truncation_direction left', async () => {
    const refused = await post('/embed', { inputs: [LONG], truncate: false });
    expect(refused.status).toBe(422);
    expect(await refused.json()).toEqual({ error: expect.stringMatching(/inputs\[0\] is longer than the model's 16 tokens/), error_type: 'Validation' });
    const right: number[][] = await (await post('/embed', { inputs: [LONG] })).json();
    const left: number[][] = await (await post('/embed', { inputs: [LONG], truncate: true, truncation_direction: 'Left' })).json();
    const [leftTokens] = await service.tokenize([LONG], { truncation: 'left' });
    const [expected] = await service.embedTokens([leftTokens]);
    expect(cosineJs(Float32Array.from(left[0]), expected)).toBeGreaterThan(0.999999);
    expect(cosineJs(Float32Array.from(right[0]), Float32Array.from(left[0]))).toBeLessThan(0.9999);
  });

  test('prompt_name applies the model\'s prompt; an unknown one is a 422 naming the known ones', async () => {
    const prompted: number[][] = await (await post('/embed', { inputs: ['what is a cat'], prompt_name: 'query' })).json();
    const [expected] = await service.computeBatchEmbeddings(['query: what is a cat']);
    expect(cosineJs(Float32Array.from(prompted[0]), expected)).toBeGreaterThan(0.999999);
    const bad = await post('/embed', { inputs: 'x', prompt_name: 'summary' });
    expect(bad.status).toBe(422);
    expect((await bad.json()).error).toMatch(/not one of this model's prompts: query, passage, document/);
  });

  test('/similarity, /tokenize, /decode, /info', async () => {
    const sims: number[] = await (await post('/similarity', { inputs: { source_sentence: 'a cat', sentences: ['a dog', 'tax law'] } })).json();
    expect(sims[0]).toBeCloseTo((await service.computeSimilarity('a cat', 'a dog')).similarity, 5);
    expect(sims[1]).toBeCloseTo((await service.computeSimilarity('a cat', 'tax law')).similarity, 5);

    const tokens = await (await post('/tokenize', { inputs: 'Hello world' })).json();
    const [ids] = await service.tokenize(['Hello world']);
    expect(tokens[0].map((t: { id: number }) => t.id)).toEqual(ids.ids);
    expect(tokens[0][0]).toEqual({ id: ids.ids[0], text: '[CLS]', special: true, start: null, stop: null });
    expect(tokens[0][1]).toEqual({ id: ids.ids[1], text: 'hello', special: false, start: 0, stop: 5 });
    const plain = await (await post('/tokenize', { inputs: ['Hello world'], add_special_tokens: false })).json();
    expect(plain[0].map((t: { text: string }) => t.text)).toEqual(['hello', 'world']);

    expect(await (await post('/decode', { ids: ids.ids })).json()).toEqual(['hello world']);
    expect(await (await post('/decode', { ids: [ids.ids], skip_special_tokens: false })).json()).toEqual(['[CLS] hello world [SEP]']);

    const info = await (await fetch(`${base}/info`)).json();
    expect(info).toMatchObject({ model_id: server.models.ids[0], model_dtype: 'float32', model_type: { embedding: { pooling: 'mean' } }, max_input_length: 16, max_client_batch_size: 8, auto_truncate: true, dimension: 32 });
  });

  test('TEI\'s errors: 422 validation, 400 empty, 413 too large, 404 unknown route, in {error, error_type}', async () => {
    const wrong = await post('/embed', { inputs: 5 });
    expect(wrong.status).toBe(422);
    expect(await wrong.json()).toEqual({ error: expect.any(String), error_type: 'Validation' });
    const tooMany = await post('/embed', { inputs: Array(9).fill('x') });
    expect(tooMany.status).toBe(422);
    const empty = await post('/similarity', { inputs: { source_sentence: 'a', sentences: [] } });
    expect(empty.status).toBe(400);
    expect((await empty.json()).error_type).toBe('Empty');
    const norm = await post('/embed', { inputs: 'x', normalize: false });
    expect(norm.status).toBe(422);
    expect((await norm.json()).error).toMatch(/normalize: false is not available/);
    const badIds = await post('/decode', { ids: [1, -2] });
    expect(badIds.status).toBe(422);
    const small = await buildServer(service, { logger: false, bodyLimit: 1024 });
    const smallBase = await small.listen({ port: 0, host: '127.0.0.1' });
    const big = await fetch(`${smallBase}/embed`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inputs: 'x'.repeat(2000) }) });
    expect(big.status).toBe(413);
    expect((await big.json()).error_type).toBe('Validation');
    await small.close();
    const rerank = await post('/rerank', { query: 'q', texts: ['a'] });
    expect(rerank.status).toBe(404);
    expect((await rerank.json()).error_type).toBe('NotFound');
  });
});

const python = pythonClients('huggingface_hub');
describe.skipIf(!python.ok)(`Hugging Face InferenceClient (Python)${python.ok ? '' : ` — skipped: ${python.reason}`}`, () => {
  test('feature_extraction and sentence_similarity against our server give our vectors and scores', async () => {
    const script = `
import json, sys
from huggingface_hub import InferenceClient
c = InferenceClient(base_url=sys.argv[1])
v = c.feature_extraction(["a cat", "a dog"])
s = c.sentence_similarity("a cat", ["a dog", "tax law"])
left = c.feature_extraction("${LONG}", truncate=True, truncation_direction="left")
try:
    c.feature_extraction("x", prompt_name="summary")
    err = None
except Exception as e:
    err = e.response.status_code
print(json.dumps({"vectors": v.tolist(), "scores": s, "left": left.tolist(), "err": err}))
`;
    // Asynchronously: the server answering the client runs in this process.
    const out = JSON.parse((await promisify(execFile)(python.python!, ['-c', script, base], { encoding: 'utf8' })).stdout);
    const ours = await service.computeBatchEmbeddings(['a cat', 'a dog']);
    out.vectors.forEach((v: number[], i: number) => expect(cosineJs(Float32Array.from(v), ours[i])).toBeGreaterThan(0.999999));
    expect(out.scores[1]).toBeCloseTo((await service.computeSimilarity('a cat', 'tax law')).similarity, 5);
    expect(out.left).toHaveLength(1);
    expect(out.err).toBe(422);
  });
});
