#!/usr/bin/env bash
# npm run clients:python — the Python API clients the tests and CI drive the server with: Hugging Face's
# InferenceClient (huggingface_hub) for the TEI routes, schemathesis for the OpenAPI check, and bm25s (with PyStemmer)
# as the reference the BM25 index is compared with. Pinned, into a
# git-ignored virtualenv (FASTEMBED_CLIENTS_VENV, default .models/clients-venv).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${FASTEMBED_CLIENTS_VENV:-.models/clients-venv}
if ! command -v python3 >/dev/null 2>&1; then
  echo "clients:python: python3 is not installed; it is needed only for the Python client tests" >&2
  exit 1
fi
[ -x "$venv/bin/pip" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check huggingface_hub==2.4.0 numpy==2.2.6 schemathesis==4.32.5 bm25s==0.3.16 PyStemmer==3.1.0
