// The bench's peers in other languages, built or installed on first use with their own package managers: the
// original service's library (fastembed-go, `go build` in bench/peers/go) and Python's fastembed and
// sentence-transformers (pip, into bench/peers/.venv). A peer that can't run here says why instead of vanishing.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

export type Launch = { command: string; args: string[]; env?: NodeJS.ProcessEnv } | { skip: string };

const tail = (s: string | undefined) => (s ?? '').trim().split('\n').slice(-3).join(' / ');

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): string | undefined {
  const r = spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env } });
  if (r.error) return r.error.message;
  return r.status === 0 ? undefined : `${command} ${args.join(' ')} failed: ${tail(r.stderr || r.stdout)}`;
}

/** The libonnxruntime our addon loads (onnxruntime-node's), so fastembed-go runs the very same ORT build. */
export function ortLibrary(root: string): string {
  const pkg = createRequire(path.join(root, 'package.json')).resolve('onnxruntime-node/package.json');
  return path.join(path.dirname(pkg), 'bin', 'napi-v6', 'linux', os.arch(), 'libonnxruntime.so.1');
}

export function goPeer(benchDir: string, ortPath: string): Launch {
  const dir = path.join(benchDir, 'peers', 'go');
  const bin = path.join(dir, 'bin', 'fastembed-go-peer');
  const stale = !fs.existsSync(bin) || fs.statSync(bin).mtimeMs < fs.statSync(path.join(dir, 'main.go')).mtimeMs;
  if (stale) {
    process.stderr.write('bench: building the fastembed-go peer (go build, modules from the Go module proxy)…\n');
    const failed = run('go', ['build', '-o', bin, '.'], dir, { CGO_ENABLED: '1' });
    if (failed) return { skip: failed.includes('ENOENT') ? 'Go is not installed (the peer is built with go build)' : failed };
  }
  return { command: bin, args: [], env: { ONNX_PATH: ortPath } };
}

let venvReady: string | undefined;

export function pythonPeer(benchDir: string, system: 'fastembed-py' | 'sentence-transformers', stModelDir: string | undefined): Launch {
  const peers = path.join(benchDir, 'peers');
  const python = path.join(peers, '.venv', 'bin', 'python');
  if (venvReady === undefined) {
    if (!fs.existsSync(python)) {
      process.stderr.write('bench: installing the Python peers into bench/peers/.venv (pip)…\n');
      venvReady = run('python3', ['-m', 'venv', path.join(peers, '.venv')], peers) ?? '';
    }
    venvReady ||= run(python, ['-m', 'pip', 'install', '-q', '--disable-pip-version-check', '-r', path.join(peers, 'python', 'requirements.txt')], peers) ?? '';
  }
  if (venvReady) return { skip: venvReady.includes('ENOENT') ? 'python3 is not installed' : venvReady };
  if (system === 'sentence-transformers') {
    if (!stModelDir) return { skip: 'needs the trained checkpoint (npm run models:trained): the ONNX file alone has no PyTorch weights to load' };
    if (run(python, ['-c', 'import sentence_transformers'], peers)) {
      if (process.env.FASTEMBED_BENCH_TORCH !== '1') {
        return {
          skip:
            "PyPI's torch for Linux x86-64 is the CUDA build (torch plus ~15 nvidia-* wheels, several GB; no CPU-only build is published there): " +
            'FASTEMBED_BENCH_TORCH=1 installs it into bench/peers/.venv',
        };
      }
      const failed = run(python, ['-m', 'pip', 'install', '-q', '--disable-pip-version-check', 'sentence-transformers==6.2.0'], peers);
      if (failed) return { skip: failed };
    }
  }
  return { command: python, args: [path.join(peers, 'python', 'peer.py'), system] };
}
