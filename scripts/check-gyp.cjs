#!/usr/bin/env node
// Keeps binding.gyp and CMakeLists.txt from drifting: same source files, and (with --build) binding.gyp really
// builds an addon with the same exports, in a scratch copy so the cmake-js build is left alone.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.join(__dirname, '..');
const cmake = fs.readFileSync(path.join(root, 'CMakeLists.txt'), 'utf8');
const block = /set\(FASTEMBED_SOURCES([\s\S]*?)\)/.exec(cmake);
if (!block) throw new Error('CMakeLists.txt: FASTEMBED_SOURCES not found');
const cmakeSources = block[1].split(/\s+/).filter(Boolean).sort();
const gyp = JSON.parse(fs.readFileSync(path.join(root, 'binding.gyp'), 'utf8'));
const gypSources = [...gyp.targets[0].sources].sort();
const onDisk = fs.readdirSync(path.join(root, 'native')).filter((f) => f.endsWith('.cc')).map((f) => `native/${f}`).sort();

const problems = [];
if (JSON.stringify(cmakeSources) !== JSON.stringify(gypSources)) {
  problems.push(`source lists differ:\n  CMakeLists.txt: ${cmakeSources.join(' ')}\n  binding.gyp:    ${gypSources.join(' ')}`);
}
if (JSON.stringify(cmakeSources) !== JSON.stringify(onDisk)) {
  problems.push(`native/*.cc on disk (${onDisk.join(' ')}) differ from the build's list (${cmakeSources.join(' ')})`);
}
if (problems.length > 0) {
  console.error(`check-gyp: ${problems.join('\n')}`);
  process.exit(1);
}
console.log(`check-gyp: CMakeLists.txt and binding.gyp list the same ${cmakeSources.length} sources`);

if (process.argv.includes('--build')) {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'fe-gyp-'));
  for (const f of ['binding.gyp', 'package.json']) fs.copyFileSync(path.join(root, f), path.join(scratch, f));
  fs.cpSync(path.join(root, 'native'), path.join(scratch, 'native'), { recursive: true });
  fs.cpSync(path.join(root, 'scripts'), path.join(scratch, 'scripts'), { recursive: true });
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(scratch, 'node_modules'));
  if (fs.existsSync(path.join(root, 'deps'))) fs.symlinkSync(path.join(root, 'deps'), path.join(scratch, 'deps'));
  const nodeGyp = require.resolve('node-gyp/bin/node-gyp.js', { paths: [path.dirname(process.execPath), '/usr/lib/node_modules/npm', path.join(path.dirname(process.execPath), '../lib/node_modules/npm')] });
  // Build against the installed Node's own headers (no header download: this may run offline).
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  const nodedir =
    process.env.npm_config_nodedir || (fs.existsSync(path.join(prefix, 'include/node/node_api.h')) ? prefix : undefined);
  const args = [nodeGyp, 'rebuild', '--loglevel=warn', ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
  const r = spawnSync(process.execPath, args, { cwd: scratch, stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) {
    console.error('check-gyp: node-gyp build of binding.gyp failed');
    process.exit(1);
  }
  const gypBuilt = require(path.join(scratch, 'build', 'Release', 'fastembed_native.node'));
  const cmakeBuilt = require('node-gyp-build')(root);
  const a = Object.keys(gypBuilt).sort().join(',');
  const b = Object.keys(cmakeBuilt).sort().join(',');
  if (a !== b) {
    console.error(`check-gyp: exports differ\n  node-gyp: ${a}\n  cmake-js: ${b}`);
    process.exit(1);
  }
  console.log('check-gyp: node-gyp build of binding.gyp succeeded with the same exports');
  fs.rmSync(scratch, { recursive: true, force: true });
}
