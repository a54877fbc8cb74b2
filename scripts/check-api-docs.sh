#!/usr/bin/env bash
# The API reference in docs/api is generated from the types of the five entry points (TypeDoc, typedoc.json); this
# regenerates it and fails when the committed copy differs, or when an exported API refers to a type that is not
# exported (typedoc.json treats that warning as an error). Fix: npm run docs:api, and commit docs/api.
set -euo pipefail
cd "$(dirname "$0")/.."
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
npx typedoc --logLevel Warn --out "$out" >/dev/null
if ! diff -r -q docs/api "$out" >/dev/null; then
  diff -r -u docs/api "$out" | head -40
  echo "check-api-docs: docs/api does not match the exported types; run 'npm run docs:api' and commit docs/api" >&2
  exit 1
fi
echo "check-api-docs: docs/api matches the exports ($(find docs/api -name '*.md' | wc -l) pages)"

# The main entry, /langchain and /ai type-check in a project without @types/node (/server, /stores and /llamaindex
# use Node's types, as Fastify's, ioredis' and @llamaindex/core's own do; the README says so).
consumer="$out/consumer"
mkdir -p "$consumer/node_modules"
ln -s "$PWD" "$consumer/node_modules/fastembed-native"
for dep in @langchain typescript; do ln -s "$PWD/node_modules/$dep" "$consumer/node_modules/$dep"; done
cat > "$consumer/use.ts" <<'TS'
import { Embedder, SimilarityService, cosine, type ModelId } from 'fastembed-native';
import { FastembedEmbeddings } from 'fastembed-native/langchain';
import { fastembedEmbeddingModel } from 'fastembed-native/ai';
const id: ModelId = 'bge-small-en-v1.5';
export const uses = [Embedder, SimilarityService, cosine, FastembedEmbeddings, fastembedEmbeddingModel, id];
TS
cat > "$consumer/tsconfig.json" <<'JSON'
{ "compilerOptions": { "module": "nodenext", "target": "es2022", "lib": ["es2022", "esnext.disposable", "dom"], "types": [], "strict": true,
  "noEmit": true, "skipLibCheck": false }, "files": ["use.ts"] }
JSON
node node_modules/typescript/bin/tsc -p "$consumer/tsconfig.json"
echo "check-api-docs: the main entry, /langchain and /ai type-check without @types/node"
