/**
 * Helpers of the end-to-end tests: build the renderer, find a model, launch Debian's
 * Chromium through playwright-core, start `ppnn serve`, and measure whether a canvas has
 * been drawn on.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { chromiumPath, launchHeadlessChromium } from '../helpers/chromium.ts';

/** The bits of a page's <canvas> the checks read (this file is type-checked without the DOM lib). */
export interface PageCanvas {
  width: number;
  height: number;
  getContext(
    kind: '2d',
  ): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } | null;
}

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const RESULTS_DIR = join(ROOT, 'test-results');
export const SCREENSHOTS_DIR = join(RESULTS_DIR, 'screenshots');
const NODE = join(ROOT, 'node_modules/.bin/node');
const PPNN = join(ROOT, 'bin/ppnn.js');

/** A started server: its announced URL, the process, and its stderr so far (for failure messages). */
export interface Started {
  url: string;
  child: ChildProcess;
  log: () => string;
}

/**
 * Spawn `node ARGS` from the repository root and resolve with the URL its stdout announces
 * (first group of `announce`); rejects with its stderr when it exits first or is silent
 * for `timeoutMs`. `what` names it in those errors.
 */
function spawnUntilUrl(args: string[], announce: RegExp, what: string, timeoutMs: number): Promise<Started> {
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '',
      err = '';
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`${what} did not start: ${err}`));
    }, timeoutMs);
    child.stderr.on('data', (d) => (err += d));
    child.stdout.on('data', (d) => {
      out += d;
      const m = announce.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1]!, child, log: () => err });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited ${code}: ${err}`));
    });
  });
}

/**
 * `npm start` in browser mode (`scripts/start.js --browser --build`): rebuilds the renderer,
 * starts the web host under the project's Node 22 — the engine's worker threads need its
 * type stripping whatever Node runs vitest — and resolves with the printed URL.
 */
export function startApp(): Promise<Started> {
  const args = [join(ROOT, 'scripts/start.js'), '--browser', '--build', '--port', '0'];
  return spawnUntilUrl(args, /served at (http:\/\/\S+)/, 'the app', 120_000);
}

/** Chromium headless with a fresh profile; downloads are accepted. */
export async function launchChromium(): Promise<BrowserContext> {
  chromiumPath(); // fail with the install hint before making a profile folder
  const profile = mkdtempSync(join(tmpdir(), 'ppnn-e2e-profile-'));
  return launchHeadlessChromium(profile, { viewport: { width: 1280, height: 800 }, acceptDownloads: true });
}

/** Run `ppnn ARGS` to completion; rejects with its stderr on a non-zero exit. */
export function ppnn(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, [PPNN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '',
      err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`ppnn ${args.join(' ')} exited ${code}: ${err}`)),
    );
  });
}

/** `ppnn serve --model MODEL` on 127.0.0.1 and a free port; resolves with its ws:// URL. */
export function startServe(model: string): Promise<Started> {
  const args = [PPNN, 'serve', '--model', model, '--host', '127.0.0.1', '--port', '0'];
  return spawnUntilUrl(args, /listening (ws:\/\/\S+)/, 'ppnn serve', 60_000);
}

/**
 * The MNIST model the tests drive: the bundled `mnist` when present, otherwise a small one
 * trained now (a few seconds) so the suite does not depend on assets being committed.
 */
export async function mnistModel(): Promise<{ builtin: string } | { file: string }> {
  const { builtinModels } = await import('../../core/model/load.ts');
  if (builtinModels().includes('mnist')) return { builtin: 'mnist' };
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, 'e2e-mnist.json');
  if (!existsSync(file))
    await ppnn([
      'train',
      '--arch',
      'mnist-square',
      '--out',
      file,
      '--epochs',
      '2',
      '--limit',
      '12000',
      '--measure-limit',
      '300',
    ]);
  return { file };
}

/**
 * Pixels of `selector`'s canvas painted in `hex` (±12 per channel) above the legend (the
 * bottom fifth, where the colour swatches are): a chart's axes and legend are drawn even
 * without data, so "the chart shows data" means its series colour is in the plot area.
 */
export async function pixelsOfColor(page: Page, selector: string, hex: string): Promise<number> {
  const rgb = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  return page.$eval(
    selector,
    (c, want) => {
      const canvas = c as unknown as PageCanvas;
      const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
      let n = 0;
      const plotEnd = Math.floor(canvas.height * 0.8) * canvas.width * 4;
      for (let i = 0; i < plotEnd; i += 4) {
        if (
          data[i + 3]! > 200 &&
          Math.abs(data[i]! - want[0]!) <= 12 &&
          Math.abs(data[i + 1]! - want[1]!) <= 12 &&
          Math.abs(data[i + 2]! - want[2]!) <= 12
        )
          n++;
      }
      return n;
    },
    rgb,
  );
}

export function screenshotPath(name: string): string {
  mkdirSync(SCREENSHOTS_DIR, { recursive: true });
  return join(SCREENSHOTS_DIR, `${name}.png`);
}
