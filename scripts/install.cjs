#!/usr/bin/env node
// npm install hook: use a prebuilt binary when one loads, otherwise build from source with cmake-js.
// `--force` always rebuilds (npm run build:native).
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.join(__dirname, '..');
const force = process.argv.includes('--force');

// musl (Alpine): ONNX Runtime has no build for it, so building the addon would only end in a dlopen error later.
// The install goes on (a lockfile shared with glibc machines must still install); loading then says the same.
const lib = (() => {
  try {
    return require('node:fs').readdirSync('/lib');
  } catch {
    return [];
  }
})();
if (process.platform === 'linux' && lib.some((f) => f.startsWith('ld-musl-'))) {
  console.warn('fastembed-native: this is a musl system (Alpine); ONNX Runtime runs on glibc only. Use a glibc-based image (e.g. node:22-bookworm-slim).');
  process.exit(0);
}

if (!force) {
  try {
    require('node-gyp-build')(root);
    process.exit(0);
  } catch {
    // no prebuild or previous build for this platform: build below
  }
}

console.error('fastembed-native: building the native addon from source (cmake-js)…');
const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
const result = spawnSync(process.execPath, [cmakeJs, 'compile', '--log-level', 'warn'], { cwd: root, stdio: 'inherit' });
if (result.status !== 0) {
  console.error(
    'fastembed-native: the source build failed. It needs cmake (3.15+), a C++17 compiler and bash; ONNX Runtime ' +
      'headers come from ORT_INCLUDE_DIR, pkg-config or Debian\'s libonnxruntime-dev (scripts/ort-headers.sh).',
  );
  process.exit(result.status ?? 1);
}
