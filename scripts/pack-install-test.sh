#!/usr/bin/env bash
# The packed tarball installs into an empty project on a machine with no compiler on PATH (cc, c++, gcc, g++,
# cmake and make are shadowed by stubs that fail), using prebuilds only, and embeds a sentence from ESM and CJS.
# Prints the install size. Network: only the npm registry (for dependencies not already in npm's cache).
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
size_mb=$(du -s --block-size=1M node_modules | cut -f1)
echo "pack-install-test: install size ${size_mb} MB (node_modules of the empty project; target <= 120 MB)"
du -s --block-size=1M node_modules/* node_modules/@* 2>/dev/null | sort -rn | head -8 | sed 's/^/  /'
[ "$size_mb" -le 120 ] || { echo "pack-install-test: install is over the 120 MB target" >&2; exit 1; }
