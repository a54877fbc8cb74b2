#!/usr/bin/env node
// Checks each prebuild with readelf: the right machine type, only system libraries needed (ONNX Runtime is
// dlopen'ed, never linked), RUNPATH $ORIGIN, and the bundled libonnxruntime and tokenizers binding of the same
// machine type.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const MACHINE = { x64: 'Advanced Micro Devices X86-64', arm64: 'AArch64' };
const ALLOWED = /^(libc\.so\.6|libm\.so\.6|libdl\.so\.2|libpthread\.so\.0|libstdc\+\+\.so\.6|libgcc_s\.so\.1|ld-linux.*)$/;
const problems = [];

const readelf = (args, file) => execFileSync('readelf', [...args, file], { encoding: 'utf8' });
const dirs = fs.existsSync(path.join(root, 'prebuilds')) ? fs.readdirSync(path.join(root, 'prebuilds')) : [];
if (dirs.length === 0) problems.push('no prebuilds/ found: run npm run prebuilds');
// --release (npm's prepack): a tarball must carry both Linux platforms, or users there would need a compiler.
if (process.argv.includes('--release')) {
  for (const want of ['linux-x64', 'linux-arm64']) if (!dirs.includes(want)) problems.push(`prebuilds/${want} missing: a release needs it (npm run prebuilds)`);
}
for (const dir of dirs) {
  const arch = dir.replace(/^linux-/, '');
  const folder = path.join(root, 'prebuilds', dir);
  const files = fs.readdirSync(folder);
  const addon = files.find((f) => f.endsWith('.node'));
  if (!addon) {
    problems.push(`${dir}: no .node file`);
    continue;
  }
  if (!/\.glibc\./.test(addon)) problems.push(`${dir}/${addon}: expected the glibc tag in the name`);
  for (const f of [addon, 'libonnxruntime.so.1', `tokenizers/tokenizers.linux-${arch}-gnu.node`]) {
    const file = path.join(folder, f);
    if (!fs.existsSync(file)) {
      problems.push(`${dir}: ${f} missing`);
      continue;
    }
    if (fs.lstatSync(file).isSymbolicLink()) problems.push(`${dir}/${f} is a symlink (npm drops them from tarballs)`);
    const machine = /Machine:\s+(.+)/.exec(readelf(['-h'], file))?.[1].trim();
    if (machine !== MACHINE[arch]) problems.push(`${dir}/${f}: machine ${machine}, expected ${MACHINE[arch]}`);
  }
  const dynamic = readelf(['-d'], path.join(folder, addon));
  const needed = [...dynamic.matchAll(/\(NEEDED\)\s+Shared library: \[(.+?)\]/g)].map((m) => m[1]);
  for (const lib of needed) if (!ALLOWED.test(lib)) problems.push(`${dir}/${addon}: needs ${lib}`);
  if (!/\((RUNPATH|RPATH)\)\s+Library (run)?path: \[\$ORIGIN\]/.test(dynamic)) problems.push(`${dir}/${addon}: RUNPATH is not $ORIGIN`);
  const glibc = [...readelf(['-V'], path.join(folder, addon)).matchAll(/GLIBC_(\d+\.\d+)/g)].map((m) => m[1]);
  const floor = glibc.sort((a, b) => Number(b.split('.')[1]) - Number(a.split('.')[1]))[0];
  // The one for this machine must load and compute, not only look right.
  if (dir === `${process.platform}-${process.arch}`) {
    try {
      const native = require(path.join(folder, addon));
      const v = new Float32Array([3, 4]);
      if (Math.abs(native.cosine(v, v) - 1) > 1e-6) problems.push(`${dir}/${addon}: cosine(v, v) is not 1`);
    } catch (err) {
      problems.push(`${dir}/${addon}: does not load here: ${err.message}`);
    }
  }
  console.log(`check-prebuilds: ${dir}/${addon}: ${MACHINE[arch]}, needs ${needed.join(' ')}, RUNPATH $ORIGIN, glibc >= ${floor}`);
}
if (problems.length > 0) {
  console.error(`check-prebuilds: refusing (${problems.length} problem${problems.length > 1 ? 's' : ''}):\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
