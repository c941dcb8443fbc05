/**
 * Build of the renderer (Svelte 5 + Chart.js) into dist/renderer, served by the web host
 * and loaded by Electron's BrowserWindow. `base: './'` keeps asset URLs relative so the
 * same files work from file:// (Electron) and http://127.0.0.1 (browser mode).
 */
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  plugins: [svelte()],
  build: {
    outDir: fileURLToPath(new URL('../dist/renderer', import.meta.url)),
    emptyOutDir: true,
    chunkSizeWarningLimit: 1024,
  },
});
