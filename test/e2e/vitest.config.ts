import { defineConfig } from 'vitest/config';

// Chromium end-to-end tests of the desktop UI in browser mode (web host + real engine).
// One file, one browser, tests in order: they share the page as a user's session would.
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.e2e.test.ts'],
    testTimeout: 600_000,
    hookTimeout: 180_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
