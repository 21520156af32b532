import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Two cores on CI, and many tests pace real ptys, simulators and brokers against the clock: one test
    // file at a time (about 4.5 min) keeps their timing honest; two in parallel made some flaky.
    maxWorkers: 1,
  },
});
