import { defineConfig } from 'vitest/config';

// Core and protocol tests run in Node (they use node-seal, worker threads and sockets).
// The renderer's component tests and the Chromium end-to-end tests have their own configs.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/e2e/**', 'test/ui/**', 'node_modules/**'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
