// `embed` on corpora, through the real CLI binary: streamed ndjson/npy/Arrow, JSONL and CSV with ids, blank and
// malformed lines, a 10 MB line, a closed stdout, kill -9 / SIGTERM and --resume, changed inputs refused, and
// --shard i/n with `merge` giving exactly the one-process output.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tableFromIPC } from 'apache-arrow';
import { beforeAll, describe, expect, test } from 'vitest';
import { makeTinyModelDir } from '../fixtures/tiny-bert.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(root, 'dist', 'cli.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fe-corpus-'));
const env = { ...process.env, FASTEMBED_CACHE_DIR: path.join(dir, 'cache') };
let model: string;
let otherModel: string;

function cli(args: string[], input?: string | Buffer) {
  const modelArgs = args[0] === 'embed' ? ['--model-path', model, '--threads', '1'] : [];
  const r = spawnSync(process.execPath, [bin, ...args, ...modelArgs], { input, env, maxBuffer: 1 << 30 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr.toString('utf8') };
}
const at = (name: string) => path.join(dir, name);

const WORDS = 'the quick brown fox jumps over a lazy dog while seven wizards quietly judge boxing matches near old rivers'.split(' ');
/** Line i of a synthetic corpus: 3 to 60 words, deterministic. */
const line = (i: number) => Array.from({ length: 3 + ((i * 37) % 58) }, (_, j) => WORDS[(i * 7 + j * 3) % WORDS.length]).join(' ') + ` #${i}`;

function writeCorpus(name: string, n: number): string {
  fs.writeFileSync(at(name), Array.from({ length: n }, (_, i) => `${line(i)}\n`).join(''));
  return at(name);
}

/** A .npy file's rows as Float32Arrays (the header checked as NumPy reads it). */
function readNpy(file: string): { rows: number; dim: number; data: Float32Array } {
  const buf = fs.readFileSync(file);
  expect(buf.subarray(0, 6).toString('latin1')).toBe('\x93NUMPY');
  const len = buf.readUInt16LE(8);
  expect((10 + len) % 64).toBe(0);
  const m = /^\{'descr': '<f4', 'fortran_order': False, 'shape': \((\d+), (\d+)\), \} *\n$/.exec(buf.toString('latin1', 10, 10 + len));
  expect(m).not.toBeNull();
  const [rows, dim] = [Number(m![1]), Number(m![2])];
  expect(buf.length).toBe(10 + len + rows * dim * 4);
  const bytes = buf.subarray(10 + len);
  return { rows, dim, data: new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)) };
}

const ndjson = (text: string | Buffer) =>
  text
    .toString()
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { index: number; id?: string | number; text: string; embedding: number[] });

/** Resolves once `file` exists and holds a checkpoint of at least `rows` rows (watching its folder: no sleeps). */
function checkpointReaches(file: string, rows: number, child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    const check = () => {
      try {
        const c = JSON.parse(fs.readFileSync(file, 'utf8')) as { rows: number };
        if (c.rows >= rows) {
          watcher.close();
          resolve(c.rows);
        }
      } catch {
        // not there yet, or being renamed into place
      }
    };
    const watcher = fs.watch(path.dirname(file), check);
    child.once('exit', (code) => {
      watcher.close();
      reject(new Error(`the run ended (exit ${code}) before its checkpoint reached ${rows} rows`));
    });
    check();
  });
}

beforeAll(() => {
  model = makeTinyModelDir({ hidden: 16 });
  otherModel = makeTinyModelDir({ hidden: 16, seed: 7 });
});

describe('embed streams a corpus', () => {
  test('ndjson, npy and Arrow hold the same vectors, in input order, with line indices', () => {
    const corpus = writeCorpus('small.txt', 300);
    const nd = cli(['embed', '-f', corpus, '--format', 'ndjson', '--chunk-size', '32']);
    expect(nd.code).toBe(0);
    expect(nd.stderr).toMatch(/^embedded 300 rows in \d+\.\d s\n$/);
    const rows = ndjson(nd.stdout);
    expect(rows.map((r) => r.index)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    expect(rows.map((r) => r.text)).toEqual(Array.from({ length: 300 }, (_, i) => line(i)));
    // The same texts embedded in one call (the in-memory json path) give the same vectors.
    const json = JSON.parse(cli(['embed', '-f', corpus, '--format', 'json']).stdout.toString()) as { embeddings: number[][] };
    rows.forEach((r, i) => r.embedding.forEach((x, j) => expect(Math.abs(x - json.embeddings[i][j])).toBeLessThan(1e-6)));

    expect(cli(['embed', '-f', corpus, '--format', 'npy', '-o', at('small.npy')]).code).toBe(0);
    const npy = readNpy(at('small.npy'));
    expect([npy.rows, npy.dim]).toEqual([300, 16]);
    rows.forEach((r, i) => expect(Array.from(npy.data.subarray(i * 16, (i + 1) * 16))).toEqual(r.embedding.map(Math.fround)));

    expect(cli(['embed', '-f', corpus, '--format', 'arrow', '-o', at('small.arrow')]).code).toBe(0);
    const table = tableFromIPC(fs.readFileSync(at('small.arrow')));
    expect(table.numRows).toBe(300);
    expect(table.schema.fields.map((f) => `${f.name}:${f.type}`)).toEqual(['index:Int64', 'vector:FixedSizeList[16]<Float32>']);
    expect(Number(table.get(299)!.index)).toBe(299);
    expect(Array.from(table.get(7)!.vector as Iterable<number>)).toEqual(Array.from(npy.data.subarray(7 * 16, 8 * 16)));
    // npy from stdin to a pipe (no seeking: the header is written at the end) is the same file.
    const piped = cli(['embed', '--format', 'npy'], fs.readFileSync(corpus));
    expect(piped.code).toBe(0);
    expect(piped.stdout.equals(fs.readFileSync(at('small.npy')))).toBe(true);
  });

  test('JSONL and CSV: --text-field, --id-field, a quoted CSV field with newlines', () => {
    fs.writeFileSync(at('docs.jsonl'), '{"id":"a","body":"first doc"}\n{"id":7,"body":"second doc"}\n');
    const j = cli(['embed', '-f', at('docs.jsonl'), '--text-field', 'body', '--id-field', 'id', '--format', 'ndjson']);
    expect(j.code).toBe(0);
    expect(ndjson(j.stdout).map(({ index, id, text }) => ({ index, id, text }))).toEqual([
      { index: 0, id: 'a', text: 'first doc' },
      { index: 1, id: 7, text: 'second doc' },
    ]);
    fs.writeFileSync(at('docs.csv'), 'key,body\nk1,"line one\nstill one, with a comma"\nk2,plain\n');
    const c = cli(['embed', '-f', at('docs.csv'), '--text-field', 'body', '--id-field', 'key', '--format', 'arrow', '-o', at('docs.arrow')]);
    expect(c.code).toBe(0);
    const t = tableFromIPC(fs.readFileSync(at('docs.arrow')));
    expect(t.toArray().map((r) => [Number(r.index), r.id])).toEqual([
      [0, 'k1'],
      [1, 'k2'],
    ]);
    const noField = cli(['embed', '-f', at('docs.csv'), '--format', 'ndjson']);
    expect(noField.code).toBe(2);
    expect(noField.stderr).toMatch(/--text-field is required for csv input: it names the field holding each text/);
  });

  test('blank lines: an error naming the line, or skipped and counted with line numbers kept', () => {
    const input = 'one\n\nthree\n   \nfive\n';
    const bad = cli(['embed', '--format', 'ndjson'], input);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^fastembed-native embed: line 2 of stdin is blank: each line is one text, and output index i is line i \+ 1; .*--skip-empty/);
    const ok = cli(['embed', '--format', 'ndjson', '--skip-empty'], input);
    expect(ok.code).toBe(0);
    expect(ndjson(ok.stdout).map((r) => [r.index, r.text])).toEqual([
      [0, 'one'],
      [2, 'three'],
      [4, 'five'],
    ]);
    expect(ok.stderr).toMatch(/embedded 3 rows in .*; skipped 2 blank lines of stdin \(the others keep their line numbers as indices\)/);
  });

  test('malformed JSONL and CSV: an error naming the line, or --skip-bad counting them', () => {
    fs.writeFileSync(at('bad.jsonl'), '{"t":"fine"}\n{"t": oops}\n{"x":"no t"}\n{"t":"also fine"}\n');
    const bad = cli(['embed', '-f', at('bad.jsonl'), '--text-field', 't', '--format', 'ndjson']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/line 2 of .*bad\.jsonl is not JSON \(.*\); --text-field reads JSONL, one object per line; fix it, or pass --skip-bad/);
    expect(bad.stderr).not.toMatch(/\n\s+at /); // no stack trace
    const skip = cli(['embed', '-f', at('bad.jsonl'), '--text-field', 't', '--format', 'ndjson', '--skip-bad']);
    expect(skip.code).toBe(0);
    expect(ndjson(skip.stdout).map((r) => r.index)).toEqual([0, 3]);
    expect(skip.stderr).toMatch(/skipped 2 bad lines of .*bad\.jsonl/);

    fs.writeFileSync(at('bad.csv'), 'id,t\n1,ok\n2,"broken"x\n');
    const csv = cli(['embed', '-f', at('bad.csv'), '--text-field', 't', '--format', 'ndjson']);
    expect(csv.code).toBe(2);
    expect(csv.stderr).toMatch(/bad\.csv is not valid CSV: Invalid Closing Quote: .* at line 3/);
    fs.writeFileSync(at('nofield.csv'), 'key,body\nk1,"two\nlines"\n');
    const noField = cli(['embed', '-f', at('nofield.csv'), '--text-field', 'title', '--format', 'ndjson']);
    expect(noField.stderr).toMatch(/row 1 \(line 3\) of .*nofield\.csv has no string field 'title' \(--text-field names the field holding each document's text\); fix it, or pass --skip-bad/);
    fs.writeFileSync(at('badlen.csv'), 'id,t\n1,ok\n2,too,many\n3,fine\n');
    expect(cli(['embed', '-f', at('badlen.csv'), '--text-field', 't', '--format', 'ndjson']).stderr).toMatch(/Invalid Record Length: .* on line 3/);
    const skipped = cli(['embed', '-f', at('badlen.csv'), '--text-field', 't', '--format', 'ndjson', '--skip-bad']);
    expect(skipped.code).toBe(0);
    expect(ndjson(skipped.stdout).map((r) => r.text)).toEqual(['ok', 'fine']);
    expect(skipped.stderr).toMatch(/skipped 1 bad row of/);
  });

  test('an empty corpus gives empty but valid outputs', () => {
    fs.writeFileSync(at('empty.txt'), '');
    const nd = cli(['embed', '-f', at('empty.txt'), '--format', 'ndjson']);
    expect([nd.code, nd.stdout.length]).toEqual([0, 0]);
    expect(nd.stderr).toMatch(/^embedded 0 rows in/);
    expect(cli(['embed', '-f', at('empty.txt'), '--format', 'npy', '-o', at('empty.npy')]).code).toBe(0);
    expect(readNpy(at('empty.npy'))).toMatchObject({ rows: 0, dim: 16 });
    expect(cli(['embed', '-f', at('empty.txt'), '--format', 'arrow', '-o', at('empty.arrow')]).code).toBe(0);
    const t = tableFromIPC(fs.readFileSync(at('empty.arrow')));
    expect(t.numRows).toBe(0);
    expect(String(t.schema.fields.at(-1)!.type)).toBe('FixedSizeList[16]<Float32>');
  });

  test('a 10 MB line is embedded (truncated by the tokenizer as usual)', () => {
    const big = 'word '.repeat(2 * 1024 * 1024);
    fs.writeFileSync(at('big.txt'), `short one\n${big}\nlast\n`);
    const r = cli(['embed', '-f', at('big.txt'), '--format', 'npy', '-o', at('big.npy')]);
    expect(r.code).toBe(0);
    expect(readNpy(at('big.npy')).rows).toBe(3);
  });

  test('a closed stdout (| head) ends the run at once, quietly', async () => {
    const corpus = writeCorpus('pipe.txt', 20_000);
    const child = spawn(process.execPath, [bin, 'embed', '-f', corpus, '--format', 'ndjson', '--chunk-size', '64', '--model-path', model], { env });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const first = await new Promise<string>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(d.toString())));
    expect(first.startsWith('{"index":0,')).toBe(true);
    child.stdout.destroy();
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
    expect(stderr).toBe('');
  });
});

describe('--resume', () => {
  const N = 30_000;
  let corpus: string;
  let whole: Buffer;
  let wholeNpy: Buffer;
  const args = (out: string, format = 'ndjson') => ['embed', '-f', corpus, '--format', format, '-o', out, '--chunk-size', '64', '--checkpoint-interval', '0', '--model-path', model, '--threads', '1'];

  beforeAll(() => {
    corpus = writeCorpus('resume.txt', N);
    expect(spawnSync(process.execPath, [bin, ...args(at('whole.ndjson'))], { env }).status).toBe(0);
    whole = fs.readFileSync(at('whole.ndjson'));
    expect(spawnSync(process.execPath, [bin, ...args(at('whole.npy'), 'npy')], { env }).status).toBe(0);
    wholeNpy = fs.readFileSync(at('whole.npy'));
    expect(fs.existsSync(at('whole.ndjson.checkpoint'))).toBe(false); // a finished run leaves no checkpoint
  });

  test.each(['ndjson', 'npy'])('%s: kill -9 mid-run, then --resume gives the uninterrupted output byte for byte', async (format) => {
    const out = at(`killed.${format}`);
    const child = spawn(process.execPath, [bin, ...args(out, format)], { env, stdio: 'ignore' });
    const rows = await checkpointReaches(`${out}.checkpoint`, 2_000, child);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    expect(rows).toBeLessThan(N);
    const resumed = spawnSync(process.execPath, [bin, ...args(out, format), '--resume'], { env, encoding: 'utf8' });
    expect(resumed.status).toBe(0);
    expect(resumed.stderr).toMatch(new RegExp(`^embedded ${N} rows into .* \\(\\d+ of them before the resume\\)`));
    expect(fs.readFileSync(out).equals(format === 'npy' ? wholeNpy : whole)).toBe(true);
    expect(fs.existsSync(`${out}.checkpoint`)).toBe(false);
  });

  test('SIGTERM stops after a checkpoint and says how to go on; a changed input or model is refused', async () => {
    const out = at('term.ndjson');
    const child = spawn(process.execPath, [bin, ...args(out)], { env });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    await checkpointReaches(`${out}.checkpoint`, 500, child);
    child.kill('SIGTERM');
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(stderr).toMatch(/^fastembed-native embed: interrupted by SIGTERM after \d+ rows written to .*term\.ndjson; run the same command with --resume to continue\n$/);

    // Without --resume the unfinished output is not overwritten.
    const again = spawnSync(process.execPath, [bin, ...args(out)], { env, encoding: 'utf8' });
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/term\.ndjson is an unfinished run \(\d+ rows, checkpoint .*\): pass --resume to continue it, or delete both to start over/);
    // Another model: refused.
    const other = spawnSync(process.execPath, [bin, ...args(out).slice(0, -4), '--model-path', otherModel, '--resume'], { env, encoding: 'utf8' });
    expect(other.status).toBe(2);
    expect(other.stderr).toMatch(/was started with another model or recipe/);
    // Other options: refused.
    const query = spawnSync(process.execPath, [bin, ...args(out), '--resume', '--query'], { env, encoding: 'utf8' });
    expect(query.status).toBe(2);
    expect(query.stderr).toMatch(/was started with query false, now true/);
    // The input changed: refused.
    const copy = at('resume-changed.txt');
    fs.copyFileSync(corpus, copy);
    const changedArgs = args(out).map((a) => (a === corpus ? copy : a));
    const moved = spawnSync(process.execPath, [bin, ...changedArgs, '--resume'], { env, encoding: 'utf8' });
    expect(moved.stderr).toMatch(/was started with input ".*resume\.txt", now ".*resume-changed\.txt"/);
    fs.appendFileSync(corpus, 'one more line\n');
    try {
      const changed = spawnSync(process.execPath, [bin, ...args(out), '--resume'], { env, encoding: 'utf8' });
      expect(changed.status).toBe(2);
      expect(changed.stderr).toMatch(/resume\.txt changed since .*term\.ndjson was started \(size, modification time or content differ\)/);
    } finally {
      fs.writeFileSync(corpus, fs.readFileSync(corpus).subarray(0, -'one more line\n'.length));
    }
  });
});

describe('--shard i/n', () => {
  test.each([
    ['ndjson', 'txt'],
    ['npy', 'txt'],
    ['arrow', 'txt'],
    ['ndjson', 'csv'],
  ])('%s from %s: two shards merged equal one process', (format, input) => {
    const n = 997;
    const corpus =
      input === 'txt'
        ? writeCorpus('shard.txt', n)
        : (fs.writeFileSync(at('shard.csv'), `id,text\n${Array.from({ length: n }, (_, i) => `${i},"${i % 10 === 0 ? `${line(i)}\n` : ''}${line(i)}"\n`).join('')}`), at('shard.csv'));
    const fields = input === 'csv' ? ['--text-field', 'text', '--id-field', 'id'] : [];
    const one = at(`one.${format}`);
    expect(cli(['embed', '-f', corpus, ...fields, '--format', format, '-o', one]).code).toBe(0);
    const parts = [0, 1].map((i) => at(`part-${i}.${format}`));
    parts.forEach((part, i) => {
      const r = cli(['embed', '-f', corpus, ...fields, '--format', format, '-o', part, '--shard', `${i}/2`]);
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/^embedded \d+ rows into/);
    });
    const merged = at(`merged.${format}`);
    const m = cli(['merge', ...parts, '-o', merged]);
    expect(m.code).toBe(0);
    expect(fs.readFileSync(merged).equals(fs.readFileSync(one)) || format === 'arrow').toBe(true);
    if (format === 'arrow') {
      const a = tableFromIPC(fs.readFileSync(merged));
      const b = tableFromIPC(fs.readFileSync(one));
      expect(a.numRows).toBe(n);
      expect(a.toArray().map((r) => [Number(r.index), Array.from(r.vector as Iterable<number>)])).toEqual(b.toArray().map((r) => [Number(r.index), Array.from(r.vector as Iterable<number>)]));
    }
    // Both shards did work: neither is empty.
    for (const part of parts) expect(fs.statSync(part).size).toBeGreaterThan(fs.statSync(one).size / 4);
  });

  test('bad shards and merges are refused clearly', () => {
    expect(cli(['embed', '-f', at('small.txt'), '--format', 'ndjson', '--shard', '2/2']).stderr).toMatch(/--shard must be i\/n with 0 ≤ i < n/);
    expect(cli(['embed', '--format', 'ndjson', '--shard', '0/2'], 'a\n').stderr).toMatch(/--shard needs a file/);
    expect(cli(['merge', at('small.npy'), at('docs.arrow'), '-o', at('x.npy')]).stderr).toMatch(/docs\.arrow is not a \.npy file/);
    expect(cli(['merge', at('part-0.ndjson'), at('part-1.ndjson'), '-o', at('part-1.ndjson')]).stderr).toMatch(/--output .*part-1\.ndjson is one of the inputs/);
    fs.writeFileSync(at('ids.jsonl'), '{"id":"a","body":"x"}\n');
    expect(cli(['embed', '-f', at('ids.jsonl'), '--text-field', 'body', '--id-field', 'id', '--format', 'npy', '-o', at('ids.npy')]).stderr).toMatch(
      /--id-field: a \.npy file holds only the vectors \(row r is record r\); use ndjson or arrow to keep ids/,
    );
    expect(cli(['embed', '-f', at('ids.jsonl'), '--text-field', 'body', '--format', 'arrow', '-o', at('ids.arrow'), '--resume']).stderr).toMatch(/an Arrow file cannot be resumed/);
  });
});
