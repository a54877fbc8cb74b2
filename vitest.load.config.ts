import { defineConfig } from 'vitest/config';

// npm run test:load: the overload suite (test/load), minutes of load on both cores, kept out of npm test.
export default defineConfig({
  test: {
    include: ['test/load/**/*.load.ts'],
    globalSetup: ['test/global-setup.ts'],
    reporters: ['default', './test/skipped-reporter.ts'],
    testTimeout: 600_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    pool: 'forks',
  },
});
