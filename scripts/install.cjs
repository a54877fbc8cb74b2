#!/usr/bin/env node
// npm install hook: use a prebuilt binary when one loads (and drop the other platforms' prebuilds), otherwise build
// from source with cmake-js.
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
    keepOnlyThisPlatform();
    process.exit(0);
  } catch {
    // no prebuild or previous build for this platform: build below
  }
}

/**
 * In a user's node_modules, the prebuilds of other platforms (their ONNX Runtime is 20+ MB each) are removed once
 * this platform's has loaded. Not in a clone of the repository, where prebuilds/ is what a release packs.
 */
function keepOnlyThisPlatform() {
  const fs = require('node:fs');
  const dir = path.join(root, 'prebuilds');
  if (!root.split(path.sep).includes('node_modules') || !fs.existsSync(dir)) return;
  for (const platform of fs.readdirSync(dir)) {
    if (platform !== `${process.platform}-${process.arch}`) fs.rmSync(path.join(dir, platform), { recursive: true, force: true });
  }
}

// The source build's tools are not dependencies (a prebuild needs none of them): say what to install.
let cmakeJs;
try {
  cmakeJs = require.resolve('cmake-js/bin/cmake-js', { paths: [root, process.cwd()] });
  require.resolve('node-addon-api', { paths: [root, process.cwd()] });
} catch {
  console.error(
    `fastembed-native: no prebuilt binary for ${process.platform}-${process.arch} (prebuilds exist for linux-x64 and ` +
      'linux-arm64 with glibc). To build from source, install the build tools next to it, then rebuild:\n' +
      '  npm install --save-dev cmake-js node-addon-api && npm rebuild fastembed-native\n' +
      'The build also needs cmake (3.15+), a C++17 compiler and bash.',
  );
  process.exit(1);
}
console.error('fastembed-native: building the native addon from source (cmake-js)…');
const result = spawnSync(process.execPath, [cmakeJs, 'compile', '--log-level', 'warn'], { cwd: root, stdio: 'inherit' });
if (result.status !== 0) {
  console.error(
    'fastembed-native: the source build failed. It needs cmake (3.15+), a C++17 compiler and bash; ONNX Runtime ' +
      'headers come from ORT_INCLUDE_DIR, pkg-config or Debian\'s libonnxruntime-dev (scripts/ort-headers.sh).',
  );
  process.exit(result.status ?? 1);
}
