#!/usr/bin/env node
// `npm start`: the desktop app. Builds the renderer and the preload when they are missing
// (or with --build), then launches Electron on electron/main.ts. Where the Electron binary
// is not installed (CI, build machines without network), it says so and serves the same
// UI on 127.0.0.1 through the web host instead, printing the URL to open in a browser.
//   node scripts/start.js [--browser] [--build] [--port N]
// Needs Node >= 22.18 (type stripping): npm runs it with the project's bundled Node.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const flag = (name) => argv.includes(`--${name}`);
const portArg = argv.indexOf('--port');
const port = portArg >= 0 ? Number(argv[portArg + 1]) : 0;

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(`PPNN Studio needs Node.js >= 22.18 (found ${process.version}); run it with \`npm start\`.\n`);
  process.exit(2);
}

async function buildIfNeeded() {
  const { build } = await import('vite');
  if (flag('build') || !existsSync(join(ROOT, 'dist/renderer/index.html'))) {
    process.stderr.write('building the renderer (dist/renderer)…\n');
    await build({ configFile: join(ROOT, 'renderer/vite.config.ts'), logLevel: 'warn' });
  }
  if (flag('build') || !existsSync(join(ROOT, 'dist/electron/preload.cjs'))) {
    process.stderr.write('building the preload (dist/electron/preload.cjs)…\n');
    await build({ configFile: join(ROOT, 'electron/vite.preload.config.ts'), logLevel: 'warn' });
  }
}

/** Path of the installed Electron binary, or undefined. Never triggers electron's download. */
function electronBinary() {
  const pkg = join(ROOT, 'node_modules/electron');
  if (process.env.ELECTRON_OVERRIDE_DIST_PATH) return join(process.env.ELECTRON_OVERRIDE_DIST_PATH, 'electron');
  const pathFile = join(pkg, 'path.txt');
  if (!existsSync(pathFile)) return undefined;
  const bin = join(pkg, 'dist', readFileSync(pathFile, 'utf8').trim());
  return existsSync(bin) ? bin : undefined;
}

async function serveInBrowser(reason) {
  if (reason) process.stderr.write(`${reason}\nServing the UI for a browser instead.\n`);
  const { startWebHost } = await import('../core/bridge/web-host.ts');
  const host = await startWebHost({ port });
  process.stdout.write(`PPNN Studio is served at ${host.url} (127.0.0.1 only; Ctrl+C stops it)\n`);
  const stop = () => void host.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

await buildIfNeeded();
const electron = flag('browser') ? undefined : electronBinary();
if (!electron) {
  await serveInBrowser(
    flag('browser')
      ? undefined
      : // Only what we know: the binary is absent. Why (no network, ELECTRON_SKIP_BINARY_DOWNLOAD, a failed
        // postinstall) we cannot tell, so the message says how to fetch it rather than that it cannot be.
        'The Electron binary is not installed (node_modules/electron has no dist/). Where the network reaches ' +
          'GitHub, `node node_modules/electron/install.js` fetches it; then `npm start` opens the desktop app.',
  );
} else {
  const child = spawn(electron, [join(ROOT, 'electron/main.ts')], { stdio: 'inherit', cwd: ROOT });
  child.on('exit', (code) => process.exit(code ?? 0));
}
