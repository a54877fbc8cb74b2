import { defineConfig } from 'tsup';

// Scripts written in TypeScript, bundled to scripts/dist; the library itself is imported as the built package.
export default defineConfig({
  entry: { 'prepare-trained': 'scripts/trained/prepare.ts' },
  outDir: 'scripts/dist',
  format: ['esm'],
  target: 'node20',
  clean: true,
  external: ['fastembed-native'],
});
