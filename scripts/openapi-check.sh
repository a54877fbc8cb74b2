#!/usr/bin/env bash
# npm run test:openapi — the served OpenAPI document checked against the server's real behaviour by schemathesis
# (property-based: generated valid and invalid requests on every route). Needs `npm run build` and
# `npm run clients:python`; a model folder as the first argument (default: the random-weight MiniLM shape).
#
# Two of schemathesis' checks are left out, on purpose:
# - positive_data_acceptance: some limits depend on the loaded model and are checked by the routes (a token id
#   below the vocabulary size, `dimensions` equal to the model's, prompt names the model has); the document
#   cannot state them, so schema-valid requests can rightly get 422/400;
# - unsupported_method: Node's HTTP parser answers the QUERY method without a Content-Type with 400 before any route.
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-../shared/models/minilm-l6-shape}
venv=${FASTEMBED_CLIENTS_VENV:-.models/clients-venv}
port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
cache=$(mktemp -d)
log=$(mktemp)
FASTEMBED_CACHE_DIR="$cache" LOG_LEVEL=warn node dist/cli.js serve --port "$port" --host 127.0.0.1 --model-path "$model" \
  --max-inputs 64 --max-input-chars 2000 >"$log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$cache" "$log"' EXIT
ready() { node -e "fetch('http://127.0.0.1:$port/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"; }
for _ in $(seq 1 100); do ready && break; sleep 0.2; done
ready || { echo "server did not become ready:"; cat "$log"; exit 1; }
"$venv/bin/schemathesis" run "http://127.0.0.1:$port/openapi.json" \
  --checks all --exclude-checks positive_data_acceptance,unsupported_method \
  --max-examples 25 --seed 1 --no-color
