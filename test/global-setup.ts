// Builds dist/ (the CLI tests spawn the real binary) when any source is newer than the last build, and gives the
// run a temp folder of its own: TMPDIR points there for every test process and everything they spawn (ONNX
// Runtime's mat-debug-<pid>.log files included), and it is removed afterwards, so /tmp is left as it was found.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function newest(dir: string): number {
  let t = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : fs.statSync(p).mtimeMs);
  }
  return t;
}

export default function setup(): () => void {
  const cli = path.join(root, 'dist', 'cli.js');
  const built = fs.existsSync(cli) ? fs.statSync(cli).mtimeMs : 0;
  if (built < newest(path.join(root, 'src'))) {
    execFileSync(process.execPath, [path.join(root, 'node_modules', 'tsup', 'dist', 'cli-default.js')], { cwd: root, stdio: 'inherit' });
  }
  const runTmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fastembed-test-run-'));
  process.env.TMPDIR = runTmp;
  return () => fs.rmSync(runTmp, { recursive: true, force: true });
}
