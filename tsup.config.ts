import { defineConfig, type Options } from 'tsup';

// The library as ESM + CJS with types for both (import.meta.url is shimmed in CJS): the main entry, /server (the
// Fastify service), /stores (LMDB and Redis caches), /langchain, /ai and /llamaindex (framework adapters). ESM is
// code-split so lmdb/ioredis load only when a store is
// configured; the CLI is one ESM file.
const lib: Options = {
  entry: { index: 'src/index.ts', server: 'src/http/server.ts', stores: 'src/stores.ts', langchain: 'src/adapters/langchain.ts', ai: 'src/adapters/ai.ts', llamaindex: 'src/adapters/llamaindex.ts' },
  // Optional peers: the user's own copy, never bundled.
  external: ['@langchain/core', '@llamaindex/core'],
  shims: true,
  target: 'node20',
};

export default defineConfig([
  { ...lib, format: ['esm'], splitting: true, dts: true },
  { ...lib, format: ['cjs'], splitting: false, dts: true },
  {
    entry: { cli: 'src/cli/main.ts' },
    format: ['esm'],
      target: 'node20',
    banner: { js: '#!/usr/bin/env node' },
  },
]);
