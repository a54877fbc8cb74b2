#!/usr/bin/env bash
# npm test under other Node majors (default 22 and 24; NODE_MAJORS="22 24" to choose), with the same install: the
# addon and its dependencies are Node-API, so one build serves every version. Each Node comes from the registry's
# node-linux-<arch> package into .node/<major>/ (kept between runs).
set -euo pipefail
cd "$(dirname "$0")/.."

case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64) arch=arm64 ;;
  *) echo "test-node-versions: no registry Node build for $(uname -m)" >&2; exit 1 ;;
esac

for major in ${NODE_MAJORS:-22 24}; do
  dir=".node/$major"
  bin="$dir/node_modules/node-linux-$arch/bin"
  if [ ! -x "$bin/node" ]; then
    echo "== node $major: installing node-linux-$arch@$major"
    mkdir -p "$dir"
    npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error "node-linux-$arch@$major" >/dev/null
  fi
  echo "== npm test on Node $("$bin/node" --version)"
  # First on PATH, so anything the tests start as "node" runs the same version.
  # The quality suite (test/quality: every trained model over the reference texts, STS and SciFact) runs once, under
  # the main Node: its figures are the addon's and ONNX Runtime's numerics, the same binary on every Node version.
  echo "   (test/quality excluded here: it ran under $(node --version))"
  PATH="$PWD/$bin:$PATH" "$bin/node" node_modules/vitest/vitest.mjs run --exclude 'test/quality/**'
done
