import { defineConfig } from 'tsup';

// ESM + CJS builds with types for both; import.meta.url is shimmed in the CJS output.
export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  shims: true,
  target: 'node20',
  splitting: false,
});
