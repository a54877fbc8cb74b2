#!/usr/bin/env node
// Builds the N-API prebuilds with prebuildify (node-gyp on binding.gyp) for linux-x64 and, cross-compiled with
// Debian's aarch64 toolchain, linux-arm64; bundles each platform's libonnxruntime.so.1 (a real file, from the
// onnxruntime-node package) and this platform's tokenizers binding beside the addon. Builds run in a scratch copy so the cmake-js build is untouched.
//   npm run prebuilds [-- x64 | arm64]      (default: both; one at a time is fine, e.g. where no cross compiler is)
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..');
const arches = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['x64', 'arm64'];
const cross = { arm64: 'aarch64-linux-gnu' };

function run(cmd, args, opts) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status})`);
}

function has(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

// node-gyp: a project copy if there is one, else the one bundled with npm.
const nodeGyp = require.resolve('node-gyp/bin/node-gyp.js', {
  paths: [root, path.join(path.dirname(process.execPath), '../lib/node_modules/npm'), '/usr/lib/node_modules/npm'],
});
const tokenizersDir = path.dirname(require.resolve('tokenizers/package.json', { paths: [root] }));
const ortNode = path.dirname(require.resolve('onnxruntime-node/package.json', { paths: [root] }));
const prefix = path.resolve(path.dirname(process.execPath), '..');
const nodedir = process.env.npm_config_nodedir || (fs.existsSync(path.join(prefix, 'include/node/node_api.h')) ? prefix : undefined);

for (const arch of arches) {
  const triple = arch === os.arch() ? undefined : cross[arch];
  if (arch !== os.arch() && !triple) throw new Error(`no cross toolchain known for ${arch}`);
  if (triple && !has(`${triple}-g++`)) {
    throw new Error(`${triple}-g++ not found: apt-get install g++-${triple} (Debian's cross compiler) to build the ${arch} prebuild`);
  }
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), `fe-prebuild-${arch}-`));
  for (const f of ['binding.gyp', 'package.json']) fs.copyFileSync(path.join(root, f), path.join(scratch, f));
  for (const d of ['native', 'scripts']) fs.cpSync(path.join(root, d), path.join(scratch, d), { recursive: true });
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(scratch, 'node_modules'));
  if (fs.existsSync(path.join(root, 'deps'))) fs.symlinkSync(path.join(root, 'deps'), path.join(scratch, 'deps'));

  const env = { ...process.env, ...(nodedir ? { npm_config_nodedir: nodedir } : {}) };
  if (triple) Object.assign(env, { CC: `${triple}-gcc`, CXX: `${triple}-g++`, LINK: `${triple}-g++`, AR: `${triple}-ar` });
  const prebuildify = require.resolve('prebuildify/bin.js', { paths: [root] });
  const args = [prebuildify, '--napi', '--strip', '--tag-libc', `--arch=${arch}`, `--out=${root}`, `--node-gyp=${nodeGyp}`, scratch];
  if (triple) args.push(`--strip-bin=${triple}-strip`);
  console.log(`prebuild: linux-${arch}${triple ? ` (cross: ${triple})` : ''}`);
  run(process.execPath, args, { env, cwd: root });

  const dest = path.join(root, 'prebuilds', `linux-${arch}`);
  fs.copyFileSync(path.join(ortNode, 'bin', 'napi-v6', 'linux', arch, 'libonnxruntime.so.1'), path.join(dest, 'libonnxruntime.so.1'));
  // The tokenizers package ships its binding for 13 platforms (64 MB); only this platform's file is bundled, in a
  // subfolder so node-gyp-build never mistakes it for the addon.
  const tokenizerFile = `tokenizers.linux-${arch}-gnu.node`;
  fs.mkdirSync(path.join(dest, 'tokenizers'), { recursive: true });
  fs.copyFileSync(path.join(tokenizersDir, tokenizerFile), path.join(dest, 'tokenizers', tokenizerFile));
  fs.rmSync(scratch, { recursive: true, force: true });
  for (const f of fs.readdirSync(dest, { recursive: true })) {
    const file = path.join(dest, f);
    if (fs.statSync(file).isFile()) console.log(`  ${path.join('prebuilds', `linux-${arch}`, f)}\t${fs.statSync(file).size} bytes`);
  }
}

// Every prebuild present (this run's and earlier ones) checked with readelf; the host's also loaded.
require('./check-prebuilds.cjs');
