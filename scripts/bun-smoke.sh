#!/usr/bin/env bash
# Bun smoke test: the built package loads its N-API addon under Bun (the registry's @oven/bun-linux-<arch>, kept in
# .node/bun/), embeds and searches, and gives the same numbers as Node. Model: $1, else the trained MiniLM
# (npm run models:trained), else the full-size model in ../shared.
set -euo pipefail
cd "$(dirname "$0")/.."
model="${1:-}"
if [ -z "$model" ]; then
  for candidate in .models/trained/all-MiniLM-L6-v2 "${FASTEMBED_SHARED:-../shared}/models/minilm-l6-shape"; do
    if [ -f "$candidate/model.onnx" ]; then model="$candidate"; break; fi
  done
fi
[ -n "$model" ] || { echo "bun-smoke: no model (pass a model folder, or run npm run models:trained)" >&2; exit 1; }
case "$(uname -m)" in x86_64) arch=x64 ;; aarch64) arch=aarch64 ;; *) echo "bun-smoke: no Bun build for $(uname -m)" >&2; exit 1 ;; esac
bun=".node/bun/package/bin/bun"
if [ ! -x "$bun" ]; then
  mkdir -p .node/bun
  (cd .node/bun && npm pack --silent "@oven/bun-linux-$arch@1" >/dev/null && tar xzf oven-bun-linux-*.tgz && rm oven-bun-linux-*.tgz)
fi
cache="$(mktemp -d)"
trap 'rm -rf "$cache"' EXIT
node scripts/bun-smoke.mjs "$model" "$cache/node" > "$cache/node.json"
"$bun" scripts/bun-smoke.mjs "$model" "$cache/bun" > "$cache/bun.json"
node -e "
const n = require('$cache/node.json'), b = require('$cache/bun.json');
const diff = Math.max(...n.vectors.flat().map((v, i) => Math.abs(v - b.vectors.flat()[i])));
const problems = [];
if (!b.runtime.startsWith('bun')) problems.push('did not run under Bun: ' + b.runtime);
if (!(diff <= 1e-6)) problems.push('vectors differ from Node by ' + diff);
if (JSON.stringify(n.top) !== JSON.stringify(b.top)) problems.push('top-k differs: ' + b.top + ' vs ' + n.top);
if (problems.length) { console.error('bun-smoke: ' + problems.join('; ')); process.exit(1); }
console.log('bun-smoke: ' + b.runtime + ' embeds and searches as ' + n.runtime + ' does (max difference ' + diff + ', cosine ' + b.cosine.toFixed(4) + ', same top-3)');
"
