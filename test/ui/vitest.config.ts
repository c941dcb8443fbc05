import { svelte } from '@sveltejs/vite-plugin-svelte';
import { svelteTesting } from '@testing-library/svelte/vite';
import { defineConfig } from 'vitest/config';

// Component tests of the renderer under jsdom. Chart.js cannot draw there (no 2D
// context); the real drawing is checked in Chromium by test/e2e.
export default defineConfig({
  plugins: [svelte(), svelteTesting()],
  test: {
    include: ['test/ui/**/*.test.ts'],
    environment: 'jsdom',
    setupFiles: ['test/ui/setup.ts'],
  },
});
