import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { linuxLibc } from '../../src/runtime/libc.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

test('musl is recognised by its dynamic loader; other Linux systems are glibc; other platforms undefined', () => {
  expect(linuxLibc('linux', () => ['ld-musl-x86_64.so.1', 'libc.musl-x86_64.so.1'])).toBe('musl');
  expect(linuxLibc('linux', () => ['x86_64-linux-gnu', 'ld-linux-x86-64.so.2'])).toBe('glibc');
  expect(linuxLibc('darwin', () => ['ld-musl-x86_64.so.1'])).toBeUndefined();
  expect(linuxLibc()).toBe(process.platform === 'linux' ? 'glibc' : undefined); // this machine (CI: Debian)
});

test('on musl, loading the addon fails with ERR_UNSUPPORTED_LIBC and what to use instead, not a dlopen trace', () => {
  // A child process whose /lib listing shows the musl loader (fs.readdirSync patched before the library loads).
  const script = `
    const fs = require('node:fs');
    const real = fs.readdirSync;
    fs.readdirSync = (p, ...rest) => (p === '/lib' ? ['ld-musl-x86_64.so.1'] : real(p, ...rest));
    import(${JSON.stringify(path.join(root, 'dist/index.js'))}).then(({ cosine }) => {
      const v = new Float32Array([1, 0]);
      try { cosine(v, v); console.log('loaded'); } catch (e) { console.log(e.code + ' ' + e.message); }
    });`;
  // The built package, as a user loads it (npm ci builds dist/).
  const r = spawnSync(process.execPath, ['-e', script], { cwd: root, encoding: 'utf8' });
  expect(r.stdout).toMatch(/^ERR_UNSUPPORTED_LIBC fastembed-native needs glibc: .*Alpine.*bookworm/);
});
