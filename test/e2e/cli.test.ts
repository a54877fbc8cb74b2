// The real CLI binary (dist/cli.js, built by the global setup), spawned as a user would run it.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, test } from 'vitest';
import { fullSizeModel, needsFullSize } from '../fixtures/shared.js';
import { makeTinyModelDir } from '../fixtures/tiny-bert.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(root, 'dist', 'cli.js');
const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fe-cli-'));
let tinyDir: string;

function cli(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    input,
    encoding: 'utf8',
    env: { ...process.env, FASTEMBED_CACHE_DIR: cacheDir },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  tinyDir = makeTinyModelDir({ hidden: 16 });
});

describe('help and usage errors', () => {
  test('--help lists every command; each command has --help', () => {
    const r = cli(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['embed', 'similarity', 'search', 'serve', 'models', 'convert', 'bench']) {
      expect(r.stdout).toContain(c);
      const h = cli([c, '--help']);
      expect(h.code).toBe(0);
      expect(h.stdout).toMatch(new RegExp(`fastembed-native ${c}`));
    }
  });

  test('the file is directly executable (shebang)', () => {
    const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  test.each([
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['search', '--file', 'x'], /--query is required/],
    [['search', '--query', 'q', '--file', '-', '-k', '0'], /-k must be a positive integer, got '0'/],
    [['search', '--query', 'q', '--file', '-', '--mode', 'sparse'], /--mode must be dense, lexical or hybrid, got 'sparse'/],
    [['search', '--query', 'q', '--file', '-', '--alpha', '0.5'], /--alpha applies to --mode hybrid only/],
    [['similarity', 'only one'], /similarity takes exactly two texts, got 1/],
    [['embed', 'x', '--format', 'xml'], /--format must be json, ndjson or npy/],
    [['embed', 'x', '--bogus'], /Unknown option '--bogus'/],
    [['embed', 'x', '--pool-size', 'two'], /--pool-size must be an integer, got 'two'/],
  ])('%j exits 2 with a hint', (args, message) => {
    const r = cli(args, '');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  test('a model that cannot load: similarity and embed exit 1 with the reason; --fallback answers with Jaccard, loudly', () => {
    const r = cli(['similarity', 'a', 'b', '--model', 'nope', '--model-path', tinyDir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/Unknown model 'nope'. Known models: all-MiniLM-L6-v2/);
    const missing = cli(['search', '-q', 'a', '-f', '-', '--model-path', path.join(tinyDir, 'no-such-dir')], 'x\ny\n');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no-such-dir does not exist/);
    const f = cli(['similarity', 'a', 'b', '--model', 'nope', '--model-path', tinyDir, '--fallback']);
    expect(f.code).toBe(0);
    expect(f.stdout).toMatch(/jaccard_fallback/);
    expect(f.stderr).toMatch(/Warning: model unavailable: Unknown model 'nope'/);
    const e = cli(['embed', 'a', '--model', 'nope']);
    expect(e.code).toBe(1); // embedding has no fallback at all
    expect(e.stderr).toMatch(/Unknown model 'nope'. Known models: all-MiniLM-L6-v2/);
  });
});

describe('commands', () => {
  test('embed: arguments → JSON, stdin → NDJSON', () => {
    const json = cli(['embed', 'hello world', 'second text', '--model-path', tinyDir]);
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout);
    expect(parsed.dim).toBe(16);
    expect(parsed.embeddings).toHaveLength(2);
    // A blank line would shift every later index off its line number: an error naming it, unless --skip-empty.
    const blank = cli(['embed', '--format', 'ndjson', '--model-path', tinyDir], 'line one\n\nline two\n');
    expect(blank.code).toBe(2);
    expect(blank.stderr).toMatch(/line 2 of stdin is blank: each line is one text, and output index i is line i \+ 1; .*--skip-empty/);
    const nd = cli(['embed', '--format', 'ndjson', '--skip-empty', '--model-path', tinyDir], 'line one\n\nline two\n');
    expect(nd.stderr).toMatch(/skipped 1 blank line of stdin/);
    const lines = nd.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.text)).toEqual(['line one', 'line two']);
    expect(lines[0].embedding).toHaveLength(16);
  });

  test('embed --format npy writes a valid NumPy file', () => {
    const out = path.join(cacheDir, 'v.npy');
    const r = cli(['embed', 'a', 'b', 'c', '--format', 'npy', '--output', out, '--model-path', tinyDir]);
    expect(r.code).toBe(0);
    const buf = fs.readFileSync(out);
    expect(buf.subarray(0, 6).toString('latin1')).toBe('\x93NUMPY');
    const headerLen = buf.readUInt16LE(8);
    const header = buf.subarray(10, 10 + headerLen).toString('latin1');
    expect(header).toMatch(/'descr': '<f4', 'fortran_order': False, 'shape': \(3, 16\)/);
    expect((10 + headerLen) % 64).toBe(0);
    expect(buf.length - 10 - headerLen).toBe(3 * 16 * 4);
  });

  test('similarity and search', () => {
    const s = cli(['similarity', 'the same', 'the same', '--model-path', tinyDir]);
    expect(s.code).toBe(0);
    const [score, method] = s.stdout.trim().split('\t');
    expect(Number(score)).toBeCloseTo(1, 5);
    expect(method).toBe('fastembed_cosine');
    const docs = path.join(cacheDir, 'docs.txt');
    fs.writeFileSync(docs, 'red apples\ngreen pears\nblue cars\nred cars\n');
    const r = cli(['search', '--query', 'red cars', '--file', docs, '-k', '2', '--json', '--model-path', tinyDir]);
    const body = JSON.parse(r.stdout);
    expect(body.results).toHaveLength(2);
    expect(body.results[0]).toMatchObject({ text: 'red cars', index: 3 });
  });

  test('search --mode lexical needs no model; hybrid fuses; JSONL documents by --text-field', () => {
    const docs = path.join(cacheDir, 'docs.jsonl');
    fs.writeFileSync(docs, ['the cat sat', 'ERR_CONN_RESET while fetching', 'dogs are loyal'].map((body, id) => JSON.stringify({ id, body })).join('\n'));
    // A model path that does not exist: lexical search never loads it.
    const lexical = cli(['search', '-q', 'err_conn_reset', '-f', docs, '--text-field', 'body', '--mode', 'lexical', '--json', '--model-path', path.join(cacheDir, 'none')]);
    expect(lexical.code).toBe(0);
    expect(JSON.parse(lexical.stdout).results).toEqual([expect.objectContaining({ index: 1, method: 'bm25', text: 'ERR_CONN_RESET while fetching' })]);
    const hybrid = cli(['search', '-q', 'loyal dogs', '-f', docs, '--text-field', 'body', '--mode', 'hybrid', '--rrf-k', '10', '--json', '--model-path', tinyDir]);
    const results = JSON.parse(hybrid.stdout).results;
    expect(results[0]).toMatchObject({ index: 2, method: 'hybrid', scores: { lexical: expect.any(Number), dense: expect.any(Number) } });
    const bad = cli(['search', '-q', 'x', '-f', docs, '--text-field', 'title', '--mode', 'lexical']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/line 1 of .*docs.jsonl has no string field 'title'/);
    const range = cli(['search', '-q', 'x', '-f', docs, '--text-field', 'body', '--mode', 'hybrid', '--alpha', '3', '--model-path', tinyDir]);
    expect(range.code).toBe(2);
    expect(range.stderr).toMatch(/alpha must be a number from 0 to 1/);
  });

  test('models list', () => {
    const list = cli(['models', 'list', '--cache-dir', cacheDir]);
    expect(list.stdout).toMatch(/^bge-small-zh-v1.5\t512\tcls/m);
    // The Go service's names, both prefixes, and whether the cache has it.
    expect(list.stdout).toMatch(/^bge-small-en\t384\tcls\t512\ten\t133\t"Represent this sentence for searching relevant passages: "\t""\tfast-bge-small-en,BAAI\/bge-small-en\tno\t/m);
    expect(list.stdout).toMatch(/^e5-small-v2\t.*\t"query: "\t"passage: "\tintfloat\/e5-small-v2\tno\t/m);
    expect(list.stdout).toContain(`cache: ${cacheDir}`);
  });

  test.skipIf(!fullSizeModel)(`models verify (the full-size model's files against the registry)${needsFullSize}`, () => {
    const verify = cli(['models', 'verify', 'all-MiniLM-L6-v2', '--model-path', fullSizeModel!]);
    expect(verify.code).toBe(0);
    expect(verify.stdout).toMatch(/^model\.onnx\t90325824\t4fc2dc694fa389d6414da87d1b5178151b3b434de30392b1581dc614183fe5e2$/m);
    expect(verify.stdout).toMatch(/^ok\tall-MiniLM-L6-v2\tdim 384/m);
    const wrong = cli(['models', 'verify', 'bge-base-en-v1.5', '--model-path', fullSizeModel!]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/failed verification: dimension 384, the registry says 768/);
  });

  test('models verify: a cached model.onnx that is not the pinned file is one line on stderr, exit code 1', () => {
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'fe-cli-verify-'));
    try {
      const dir = path.join(cache, 'all-MiniLM-L6-v2');
      fs.cpSync(tinyDir, dir, { recursive: true });
      const r = cli(['models', 'verify', 'all-MiniLM-L6-v2', '--cache-dir', cache]);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(
        new RegExp(
          `^fastembed-native models: ${path.join(dir, 'model.onnx')} is not the file model 'all-MiniLM-L6-v2' pins \\(it has sha256 [0-9a-f]{64}, \\d+ bytes; ` +
            `the pin is sha256 6fd5d72fe4589f189f8ebc006442dbb529bb7ce38f8082112682524616046452, 90405214 bytes\\)\\. Delete ${dir} to download the model again, [^\\n]*\\n$`,
        ),
      );
    } finally {
      fs.rmSync(cache, { recursive: true, force: true });
    }
  });

  test('convert: a BERT checkpoint (config.json + model.safetensors) becomes a model folder embed can use; a non-checkpoint is refused', () => {
    const checkpoint = fs.mkdtempSync(path.join(os.tmpdir(), 'fe-ckpt-'));
    const out = path.join(checkpoint, 'out');
    try {
      const H = 32;
      const config = { model_type: 'bert', hidden_size: H, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 4 * H, max_position_embeddings: 64, vocab_size: 30522 };
      fs.writeFileSync(path.join(checkpoint, 'config.json'), JSON.stringify(config));
      fs.copyFileSync(path.join(tinyDir, 'tokenizer.json'), path.join(checkpoint, 'tokenizer.json'));
      const shapes: Record<string, number[]> = {
        'embeddings.word_embeddings.weight': [30522, H],
        'embeddings.position_embeddings.weight': [64, H],
        'embeddings.token_type_embeddings.weight': [2, H],
        'embeddings.LayerNorm.weight': [H],
        'embeddings.LayerNorm.bias': [H],
      };
      for (let l = 0; l < 2; l++) {
        const p = `encoder.layer.${l}`;
        for (const n of ['attention.self.query', 'attention.self.key', 'attention.self.value', 'attention.output.dense']) {
          shapes[`${p}.${n}.weight`] = [H, H];
          shapes[`${p}.${n}.bias`] = [H];
        }
        Object.assign(shapes, {
          [`${p}.intermediate.dense.weight`]: [4 * H, H],
          [`${p}.intermediate.dense.bias`]: [4 * H],
          [`${p}.output.dense.weight`]: [H, 4 * H],
          [`${p}.output.dense.bias`]: [H],
        });
        for (const ln of ['attention.output.LayerNorm', 'output.LayerNorm']) Object.assign(shapes, { [`${p}.${ln}.weight`]: [H], [`${p}.${ln}.bias`]: [H] });
      }
      // safetensors: u64 header length, JSON header with byte offsets, then the float32 payloads.
      const header: Record<string, unknown> = {};
      const payloads: Buffer[] = [];
      let offset = 0;
      let seed = 7;
      for (const [name, shape] of Object.entries(shapes)) {
        const data = new Float32Array(shape.reduce((a, b) => a * b, 1)).map(() => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 0.2);
        if (name.endsWith('LayerNorm.weight')) data.fill(1);
        header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + data.byteLength] };
        payloads.push(Buffer.from(data.buffer));
        offset += data.byteLength;
      }
      const json = Buffer.from(JSON.stringify(header));
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(json.length));
      fs.writeFileSync(path.join(checkpoint, 'model.safetensors'), Buffer.concat([len, json, ...payloads]));

      // sentence-transformers' recipe files travel with the model (the folder then embeds as the checkpoint does).
      const recipe = { 'sentence_bert_config.json': '{"max_seq_length": 16}', '1_Pooling/config.json': '{"pooling_mode_cls_token": true}' };
      fs.mkdirSync(path.join(checkpoint, '1_Pooling'));
      for (const [f, text] of Object.entries(recipe)) fs.writeFileSync(path.join(checkpoint, f), text);

      const r = cli(['convert', checkpoint, out]);
      expect(r.stderr).toBe('');
      expect(r.stdout.trim()).toBe(path.join(out, 'model.onnx'));
      for (const [f, text] of Object.entries(recipe)) expect(fs.readFileSync(path.join(out, f), 'utf8')).toBe(text);
      const e = cli(['embed', 'hello world', 'a second text', '--model-path', out]);
      expect(e.code).toBe(0);
      const vectors = JSON.parse(e.stdout).embeddings as number[][];
      expect(vectors.map((v) => v.length)).toEqual([H, H]);
      expect(Math.hypot(...vectors[0])).toBeCloseTo(1, 5);
      expect(vectors[0]).not.toEqual(vectors[1]);

      const refused = cli(['convert', tinyDir, path.join(checkpoint, 'x')]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/has no model\.safetensors/);
    } finally {
      fs.rmSync(checkpoint, { recursive: true, force: true });
    }
  });

  test('bench prints one JSON line of measurements', () => {
    const r = cli(['bench', '--texts', '20', '--model-path', tinyDir]);
    expect(r.code).toBe(0);
    const m = JSON.parse(r.stdout);
    expect(m.texts).toBe(20);
    for (const k of ['load_ms', 'docs_per_s', 'query_p50_ms', 'query_p99_ms']) expect(m[k]).toBeGreaterThan(0);
  });

  /** `serve` on a free port; its URL once it logs ready, and everything it printed so far (`out()`). */
  async function serve(args: string[]) {
    const child = spawn(process.execPath, [bin, 'serve', '--port', '0', '--host', '127.0.0.1', ...args], {
      env: { ...process.env, FASTEMBED_CACHE_DIR: cacheDir, LOG_LEVEL: 'info' },
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listen line in: ${out}`)), 20_000);
      child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${out}`)));
      child.stdout.on('data', () => {
        const m = /"msg":"ready"/.test(out) && /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
    });
    return { child, url, out: () => out };
  }

  test.skipIf(!fullSizeModel)(`serve -m: the id names the model it serves (here with a local folder)${needsFullSize}`, async () => {
    const { child, url } = await serve(['-m', 'all-MiniLM-L6-v2', '--model-path', fullSizeModel!]);
    try {
      const r = await fetch(`${url}/v1/embeddings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input: ['a'], model: 'all-MiniLM-L6-v2' }) });
      expect(r.status).toBe(200);
      const body = (await r.json()) as { model: string; data: Array<{ embedding: number[] }> };
      expect(body.model).toBe('all-MiniLM-L6-v2');
      expect(body.data[0].embedding).toHaveLength(384);
    } finally {
      child.kill('SIGTERM');
    }
  });

  test('serve: answers on its port, then exits 0 on SIGTERM', async () => {
    const { child, url, out: printed } = await serve(['--model-path', tinyDir]);
    const health = await (await fetch(`${url}/health`)).json();
    expect(health.status).toBe('healthy');
    const r = await fetch(`${url}/api/similarity/compute`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text1: 'a', text2: 'b' }),
    });
    expect(r.status).toBe(200);
    // A client stalled mid-upload must not hold the shutdown open: it is cut at the deadline (10 s).
    const { port } = new URL(url);
    const stalled = net.connect(Number(port), '127.0.0.1');
    stalled.on('error', () => undefined);
    stalled.write('POST /api/similarity/compute HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{');
    await new Promise((resolve) => stalled.once('ready', resolve));
    const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const t0 = Date.now();
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    expect(Date.now() - t0).toBeLessThan(25_000); // the 10 s shutdown deadline, not the 30 s body timeout
    stalled.destroy();
    // JSON logs with the seed's fields
    const line = printed().split('\n').find((l) => l.includes('"text1_len"'));
    const logged = JSON.parse(line!);
    expect(logged).toMatchObject({ component: 'fastembed', method: 'fastembed_cosine', text1_len: 1, text2_len: 1, msg: 'similarity computation completed' });
    expect(Number.isInteger(logged.duration_ms)).toBe(true);
    expect(logged.similarity).toBeGreaterThanOrEqual(-1);
    expect(new Date(logged.timestamp).getTime()).toBeGreaterThan(0);
    expect(printed()).toMatch(/"signal":"SIGTERM"/);
  });
});
