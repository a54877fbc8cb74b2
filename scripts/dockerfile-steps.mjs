// No Docker engine here, so this performs the Dockerfile's own steps: the build stage's COPY and RUN lines in a
// temp folder (its apt-get line is skipped: the tools are on the machine), then exactly the files the final stage
// copies into a second folder, and runs the image's CMD there with the image's ENV. It then embeds a sentence over
// HTTP and checks /ready, so a change to the Dockerfile that breaks the image fails here.
// Usage: node scripts/dockerfile-steps.mjs <model dir>   (a folder with model.onnx + tokenizer.json)
import { execSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const modelDir = path.resolve(process.argv[2] ?? '');
if (!fs.existsSync(path.join(modelDir, 'model.onnx'))) throw new Error(`usage: dockerfile-steps.mjs <model dir>; ${modelDir} has no model.onnx`);

// Continuation lines joined; comments dropped; split into stages at FROM.
const lines = fs
  .readFileSync(path.join(root, 'Dockerfile'), 'utf8')
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
const stages = [];
for (const line of lines) {
  if (line.startsWith('FROM ')) stages.push({ from: line, steps: [] });
  else stages.at(-1)?.steps.push(line);
}
if (stages.length !== 2) throw new Error(`expected a build and a final stage, found ${stages.length}`);

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'fe-docker-'));
const dirs = { build: path.join(work, 'build'), final: path.join(work, 'final') };
/** Applies an ENV line's `KEY=value` pairs. */
const setEnv = (env, pairs) => {
  for (const kv of pairs) env[kv.split('=')[0]] = kv.split('=').slice(1).join('=');
};
const copy = (from, to) => fs.cpSync(from, to, { recursive: true, dereference: false });
let server;
try {
  // Build stage.
  const buildEnv = { ...process.env };
  let cwd = dirs.build;
  for (const step of stages[0].steps) {
    const [op, ...rest] = step.split(/\s+/);
    const args = rest.join(' ');
    if (op === 'ENV') setEnv(buildEnv, rest);
    else if (op === 'WORKDIR') {
      cwd = path.join(dirs.build, args);
      fs.mkdirSync(cwd, { recursive: true });
    } else if (op === 'COPY') {
      const parts = rest.filter((p) => !p.startsWith('--'));
      const dest = parts.pop();
      for (const src of parts) copy(path.join(root, src), dest.endsWith('/') || parts.length > 1 ? path.join(cwd, dest, path.basename(src)) : path.join(cwd, dest));
    } else if (op === 'RUN') {
      if (/apt-get/.test(args)) {
        console.log('dockerfile-steps: skipping (tools already here):', args.slice(0, 60));
        continue;
      }
      console.log('dockerfile-steps: RUN', args.slice(0, 100));
      execSync(args, { cwd, env: buildEnv, stdio: 'inherit', shell: '/bin/bash' });
    }
  }
  // Final stage: only what it copies from the build stage.
  const env = { ...process.env };
  let cmd;
  cwd = dirs.final;
  for (const step of stages[1].steps) {
    const [op, ...rest] = step.split(/\s+/);
    if (op === 'ENV') setEnv(env, rest);
    else if (op === 'WORKDIR') {
      cwd = path.join(dirs.final, rest.join(' '));
      fs.mkdirSync(cwd, { recursive: true });
    } else if (op === 'COPY') {
      const parts = rest.filter((p) => !p.startsWith('--'));
      const dest = parts.pop();
      for (const src of parts) {
        const from = path.join(dirs.build, src);
        const to = dest.endsWith('/') ? path.join(dirs.final, dest.startsWith('/') ? dest : path.join(cwd, dest).slice(dirs.final.length), path.basename(src)) : path.join(cwd, dest);
        fs.mkdirSync(path.dirname(to), { recursive: true });
        copy(from, to);
      }
    } else if (op === 'CMD') cmd = JSON.parse(rest.join(' '));
  }
  if (!cmd) throw new Error('the final stage has no CMD');
  // The image's CMD, with the model given as a local folder (no hub here) and an ephemeral port.
  const cacheDir = path.join(work, 'models');
  env.FASTEMBED_CACHE_DIR = cacheDir;
  env.PORT = '0';
  env.HOST = '127.0.0.1';
  const [bin, ...args] = cmd;
  server = spawn(bin === 'node' ? process.execPath : bin, [...args, '--model-path', modelDir], { cwd, env });
  let out = '';
  server.stdout.on('data', (d) => (out += d));
  server.stderr.on('data', (d) => (out += d));
  const base = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the image's server did not get ready:\n${out}`)), 120_000);
    server.on('exit', (code) => reject(new Error(`the image's server exited (${code}):\n${out}`)));
    server.stdout.on('data', () => {
      const m = /"msg":"ready"/.test(out) && /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
  });
  const ready = await fetch(`${base}/ready`);
  if (ready.status !== 200) throw new Error(`/ready answered ${ready.status}: ${await ready.text()}`);
  const r = await fetch(`${base}/api/similarity/compute`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ text1: 'A man is playing a guitar.', text2: 'A person plays a guitar.' }),
  });
  const body = await r.json();
  if (r.status !== 200 || body.method !== 'fastembed_cosine') throw new Error(`compute answered ${r.status}: ${JSON.stringify(body)}`);
  const size = execSync(`du -sm ${JSON.stringify(dirs.final)}`).toString().split('\t')[0];
  console.log(`dockerfile-steps: the image's files (${size} MB) serve embeddings: similarity ${body.similarity.toFixed(4)}, method ${body.method}`);
} finally {
  server?.kill('SIGTERM');
  fs.rmSync(work, { recursive: true, force: true });
}
