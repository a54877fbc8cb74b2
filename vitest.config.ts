import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    reporters: ['default', './test/skipped-reporter.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Native inference saturates both cores: files run one at a time so timings and memory stay sane.
    fileParallelism: false,
    pool: 'forks',
  },
});
