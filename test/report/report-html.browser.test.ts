import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeReport } from '../../core/report/writers.ts';
import { launchHeadlessChromium } from '../helpers/chromium.ts';
import { benchFixture } from './fixture.ts';

/**
 * report.html in headless Chromium with the network cut off: it must render every chart
 * from the inlined Chart.js and the embedded data, make no request other than its own
 * file:// URL, and raise no script or CSP error. Leaves a screenshot for a human to read.
 */

// page.evaluate callbacks run in Chromium; the Node lib has no DOM types, so declare what they touch.
interface PageCanvas {
  id: string;
  width: number;
  height: number;
  getContext(
    kind: '2d',
  ): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } | null;
}
interface PageChart {
  data: { labels: unknown[]; datasets: { data: unknown[] }[] };
}
declare const document: { querySelectorAll(selector: 'canvas'): Iterable<PageCanvas> };
declare const window: { Chart: { getChart(id: string): PageChart | undefined } };

const SCREENSHOT = resolve('test-results/screenshots/report.png');

describe('report.html in offline headless Chromium', () => {
  let context: BrowserContext;
  let work: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'ppnn-report-html-'));
    context = await launchHeadlessChromium(join(work, 'profile'), {
      viewport: { width: 1280, height: 900 },
      offline: true,
    });
  }, 30_000);

  afterAll(async () => {
    await context?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('draws all four charts offline, with no requests and no errors', async () => {
    const { html } = writeReport(join(work, 'out'), benchFixture());
    const url = pathToFileURL(html).href;
    await context.setOffline(true);
    const foreign: string[] = [];
    await context.route('**', (route) => {
      const u = route.request().url();
      if (u.startsWith('file://')) return route.continue();
      foreign.push(u);
      return route.abort();
    });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('request', (r) => {
      if (r.url() !== url) foreign.push(r.url());
    });

    await page.goto(url, { waitUntil: 'load' });
    await page.waitForSelector('html[data-charts-ready="4"]', { timeout: 10_000 });

    const canvases = await page.evaluate(() =>
      [...document.querySelectorAll('canvas')].map((c) => {
        const ctx = c.getContext('2d')!;
        const { data } = ctx.getImageData(0, 0, c.width, c.height);
        let painted = 0;
        for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) painted++;
        return { id: c.id, width: c.width, height: c.height, painted, fraction: painted / (c.width * c.height) };
      }),
    );
    expect(canvases.map((c) => c.id)).toEqual(['chart-time', 'chart-bytes', 'chart-levels', 'chart-quality']);
    for (const c of canvases) {
      expect(c.width, c.id).toBeGreaterThan(200);
      expect(c.height, c.id).toBeGreaterThan(150);
      // axes, labels and bars/lines: well above a blank canvas, well below a flood fill
      expect(c.fraction, `${c.id}: ${c.painted} painted pixels`).toBeGreaterThan(0.02);
      expect(c.fraction, c.id).toBeLessThan(0.9);
    }
    // the data really reached the charts (not just axes): dataset sizes per chart
    const shapes = await page.evaluate(() => {
      const Chart = window.Chart;
      return ['chart-time', 'chart-bytes', 'chart-levels', 'chart-quality'].map((id) => {
        const ch = Chart.getChart(id)!;
        return { id, labels: ch.data.labels.length, datasets: ch.data.datasets.map((d) => d.data.length) };
      });
    });
    expect(shapes[0]).toEqual({ id: 'chart-time', labels: 4, datasets: [4, 4, 4] });
    expect(shapes[2]!.datasets).toEqual([5, 10, 10, 7]); // merged, unmerged, gazelle (online trace), cryptonets
    expect(shapes[3]).toEqual({ id: 'chart-quality', labels: 4, datasets: [4, 4, 4] });
    expect(await page.locator('table').count()).toBeGreaterThanOrEqual(6);

    mkdirSync(resolve('test-results/screenshots'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(foreign).toEqual([]);
    expect(problems).toEqual([]);
  }, 30_000);
});
