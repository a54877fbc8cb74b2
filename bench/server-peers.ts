// The server peers of npm run bench:http, each started as a process of its own on loopback: our service (the CLI's
// `serve`) and Infinity (PyPI infinity-emb, installed on first use into bench/peers/.venv-infinity, and only when
// FASTEMBED_BENCH_INFINITY=1 asks for it: its torch is the CUDA build, several GB). A peer that can't run says why
// instead of vanishing; TEI_ABSENT is why TEI is not one of them.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { EmbeddingsTarget } from './load-requests.js';

export interface ServerSpec {
  name: string;
  command: string;
  args: (port: number) => string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  target: EmbeddingsTarget;
}

export type ServerPeer = ServerSpec | { skip: string };

export const TEI_ABSENT =
  'TEI (text-embeddings-inference) is not published on crates.io: its workspace patches crates.io with git revisions ' +
  'of candle and cudarc (plus a git insta), which cargo fetches from GitHub, and its ONNX Runtime backend builds the ort ' +
  'crate with download-binaries (a prebuilt ONNX Runtime fetched at build time); this machine reaches package ' +
  'registries only, so it cannot be built here without vendoring those by hand';

/**
 * Our server: the built CLI's `serve` on `modelDir` under the recipe of `target.model`, fp32 or (`quantize`) int8,
 * cache off (every request embeds, as in Infinity).
 */
export function ourServer(root: string, modelDir: string, cacheDir: string, target: EmbeddingsTarget, quantize: 'none' | 'int8' = 'none'): ServerPeer {
  const cli = path.join(root, 'dist', 'cli.js');
  if (!fs.existsSync(cli)) return { skip: 'dist/cli.js is missing: npm run build:ts builds it' };
  const args = ['serve', '--host', '127.0.0.1', '-m', target.model, '--model-path', modelDir, '--cache-dir', cacheDir, '--quantize', quantize];
  return {
    name: quantize === 'int8' ? 'fastembed-native-int8' : 'fastembed-native',
    command: process.execPath,
    args: (port) => [cli, ...args, '--port', String(port)],
    cwd: root,
    env: { FASTEMBED_ENABLE_CACHE: 'false', LOG_LEVEL: 'warn' },
    target,
  };
}

const tail = (s: string) => s.trim().split('\n').slice(-3).join(' / ');

function pipInstall(venv: string, requirements: string): string | undefined {
  process.stderr.write(`bench: installing Infinity into ${path.relative(process.cwd(), venv)} (pip; torch is the CUDA build, several GB)…\n`);
  const steps: Array<[string, string[]]> = [
    ['python3', ['-m', 'venv', venv]],
    [path.join(venv, 'bin', 'python'), ['-m', 'pip', 'install', '-q', '--disable-pip-version-check', '-r', requirements]],
  ];
  for (const [command, args] of steps) {
    const r = spawnSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    if (r.error) return (r.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'python3 is not installed' : r.error.message;
    if (r.status !== 0) return `${path.basename(command)} ${args.slice(0, 3).join(' ')} failed: ${tail(r.stderr || r.stdout)}`;
  }
  fs.copyFileSync(requirements, path.join(venv, 'installed-requirements.txt'));
  return undefined;
}

/**
 * The Infinity server's executable, installed on first use when FASTEMBED_BENCH_INFINITY=1 (again when the pinned
 * requirements change); a skip reason otherwise.
 */
export function infinityExecutable(benchDir: string): string | { skip: string } {
  const want = process.env.FASTEMBED_BENCH_INFINITY;
  if (want === '0') return { skip: 'turned off by FASTEMBED_BENCH_INFINITY=0' };
  const venv = path.join(benchDir, 'peers', '.venv-infinity');
  const requirements = path.join(benchDir, 'peers', 'python', 'infinity-requirements.txt');
  const stamp = path.join(venv, 'installed-requirements.txt');
  const current = fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === fs.readFileSync(requirements, 'utf8');
  if (!current) {
    if (want !== '1') {
      return {
        skip:
          "infinity-emb[optimum] needs torch (through optimum), and PyPI's torch for Linux x86-64 is the CUDA build (torch plus " +
          '~15 nvidia-* wheels, several GB; no CPU-only build is published there): FASTEMBED_BENCH_INFINITY=1 installs it into ' +
          'bench/peers/.venv-infinity',
      };
    }
    const failed = pipInstall(venv, requirements);
    if (failed) return { skip: failed };
  }
  return path.join(venv, 'bin', 'infinity_emb');
}

/**
 * Infinity doing our work: the same model.onnx (a symlink in a copy of the folder), mean pooling, L2 normalised,
 * truncation at `maxLength`. Its optimum engine truncates at config.json's max_position_embeddings (512 here), so the
 * copy's config.json and tokenizer_config.json say `maxLength`. It is started in the folder with `--model-id .`, and
 * its optimised-graph cache (kept under the hub cache) is a fresh folder in `workDir`, so its first start optimises.
 */
export function infinityServer(executable: string, modelDir: string, maxLength: number, workDir: string, target: EmbeddingsTarget): ServerSpec {
  const dir = path.join(workDir, 'infinity-model');
  fs.mkdirSync(dir, { recursive: true });
  for (const file of fs.readdirSync(modelDir)) {
    const from = path.join(modelDir, file);
    if (file === 'config.json' || file === 'tokenizer_config.json' || !fs.statSync(from).isFile()) continue;
    fs.symlinkSync(from, path.join(dir, file));
  }
  const limit = (file: string, key: string) => {
    const json = JSON.parse(fs.readFileSync(path.join(modelDir, file), 'utf8'));
    fs.writeFileSync(path.join(dir, file), JSON.stringify({ ...json, [key]: maxLength }, null, 2));
  };
  limit('config.json', 'max_position_embeddings');
  limit('tokenizer_config.json', 'model_max_length');
  const hubCache = path.join(workDir, 'hub-cache');
  return {
    name: 'Infinity',
    command: executable,
    args: (port) => [
      'v2',
      ...['--model-id', '.', '--served-model-name', target.model, '--engine', 'optimum', '--device', 'cpu'],
      ...['--pooling-method', 'mean', '--batch-size', '32', '--log-level', 'warning', '--host', '127.0.0.1', '--port', String(port)],
    ],
    cwd: dir,
    env: {
      HF_HUB_OFFLINE: '1',
      TRANSFORMERS_OFFLINE: '1',
      HF_HUB_CACHE: hubCache,
      HUGGINGFACE_HUB_CACHE: hubCache,
      INFINITY_ANONYMOUS_USAGE_STATS: '0',
      DO_NOT_TRACK: '1',
    },
    target,
  };
}

/** The version pip installed (for the table), or undefined. */
export function infinityVersion(executable: string): string | undefined {
  const python = path.join(path.dirname(executable), 'python');
  const r = spawnSync(python, ['-c', "import importlib.metadata as m; print(' '.join(p + ' ' + m.version(p) for p in ('infinity-emb', 'optimum', 'onnxruntime', 'transformers', 'torch')))"], {
    encoding: 'utf8',
  });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** POSTs `texts` to a server's embeddings route; the vectors, or undefined when it doesn't answer with them yet. */
export async function embedOver(base: string, target: EmbeddingsTarget, texts: string[]): Promise<number[][] | undefined> {
  try {
    const res = await fetch(`${base}${target.path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ input: texts, model: target.model, encoding_format: 'float' }),
    });
    if (!res.ok) return undefined;
    const body = (await res.json()) as { data?: Array<{ embedding: number[]; index: number }> };
    const rows = [...(body.data ?? [])].sort((a, b) => a.index - b.index).map((d) => d.embedding);
    return rows.length === texts.length && rows.every((r) => Array.isArray(r) && r.length > 0) ? rows : undefined;
  } catch {
    return undefined;
  }
}

export interface RunningServer {
  pid: number;
  base: string;
  /** Spawn to the first answer of its embeddings route. */
  coldStartMs: number;
  stop(): Promise<void>;
}

// Servers stay in the bench's session: one started with a session of its own (detached) would be a scheduling group
// of its own too where the kernel groups by session (autogroup), and share the CPU with the load generator as a group
// rather than thread by thread. A server still running when the bench exits, Ctrl-C included, is ended with it.
const servers = new Set<number>();
const signal = (pids: number[], sig: NodeJS.Signals) => {
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  }
};
process.once('exit', () => servers.forEach((pid) => signal(processTree(pid), 'SIGKILL')));
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(130));

const exited = (child: ChildProcess) => new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));

/** Starts a server and waits for its first embeddings answer (`timeoutMs` at most). */
export async function startServer(spec: ServerSpec, logFile: string, timeoutMs: number): Promise<RunningServer> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const log = fs.openSync(logFile, 'w');
  const t0 = performance.now();
  const child = spawn(spec.command, spec.args(port), { cwd: spec.cwd, env: { ...process.env, ...spec.env }, stdio: ['ignore', log, log] });
  fs.closeSync(log);
  let exitedEarly = false;
  child.once('exit', () => (exitedEarly = true));
  child.once('error', () => (exitedEarly = true));
  const pid = child.pid;
  if (pid !== undefined) servers.add(pid);
  const stop = async () => {
    if (pid === undefined || !servers.delete(pid)) return;
    const tree = processTree(pid);
    if (child.exitCode === null && child.signalCode === null) {
      const done = exited(child);
      signal([pid], 'SIGTERM');
      const timer = setTimeout(() => signal([pid], 'SIGKILL'), 15_000);
      await done;
      clearTimeout(timer);
    }
    signal(tree.slice(1), 'SIGKILL'); // workers it left behind
  };
  while (!exitedEarly) {
    if (await embedOver(base, spec.target, ['cold start'])) {
      return { pid: pid!, base, coldStartMs: performance.now() - t0, stop };
    }
    if (performance.now() - t0 > timeoutMs) {
      await stop();
      throw new Error(`${spec.name} did not answer within ${timeoutMs / 1000} s; its log: ${logFile}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  await stop();
  throw new Error(`${spec.name} exited before answering: ${tail(fs.readFileSync(logFile, 'utf8'))} (log: ${logFile})`);
}

/** A process and its descendants (servers may fork workers). */
function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const ppid = Number(fs.readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i]) ?? []));
  return tree;
}

/** Peak resident memory (VmHWM) summed over a process tree, in MB: an upper bound of the tree's peak. */
export function peakRssMb(pid: number): number {
  let kb = 0;
  for (const p of processTree(pid)) {
    try {
      kb += Number(/^VmHWM:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      // gone meanwhile
    }
  }
  return kb / 1024;
}

let clockTicks: number | undefined;

/** CPU seconds used so far by a process tree, and by the process's main thread alone (its event loop). */
export function cpuSeconds(pid: number): { total: number; main: number } {
  clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  const read = (file: string) => {
    try {
      const f = fs.readFileSync(file, 'utf8').split(') ')[1].split(' ');
      return (Number(f[11]) + Number(f[12])) / clockTicks!; // utime, stime
    } catch {
      return 0;
    }
  };
  return { total: processTree(pid).reduce((s, p) => s + read(`/proc/${p}/stat`), 0), main: read(`/proc/${pid}/task/${pid}/stat`) };
}
