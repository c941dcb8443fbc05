/**
 * The desktop UI in browser mode, end to end: web host on 127.0.0.1, the built renderer in
 * Debian's Chromium, the real engine behind the bridge (no mocks). Tests run in order on
 * one page, as one user's session: model → data → local run → export → compare → remote.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import {
  type PageCanvas,
  launchChromium,
  mnistModel,
  pixelsOfColor,
  RESULTS_DIR,
  ROOT,
  screenshotPath,
  startApp,
  startServe,
} from './harness.ts';

// Page functions run in Chromium; this file is type-checked without the DOM lib.
declare const document: {
  querySelector(s: string): { textContent: string | null; value?: number } | null;
  querySelectorAll(s: string): { length: number };
};

const BLUE = '#2b6cb0',
  ORANGE = '#dd6b20',
  GREEN = '#2f855a',
  GREY = '#4a5568';

let host: { url: string; child: ChildProcess; log: () => string };
let context: BrowserContext;
let page: Page;
let model: { builtin: string } | { file: string };
const pageErrors: string[] = [];

async function loadModelInUi(): Promise<void> {
  await page.getByRole('button', { name: 'Model', exact: true }).click();
  if ('builtin' in model) {
    await page.getByLabel('Built-in', { exact: true }).check();
    await page.getByTestId('builtin-model').selectOption(model.builtin);
  } else {
    await page.getByLabel('File (JSON / ONNX)').check();
    await page.getByTestId('model-file').setInputFiles(model.file);
  }
  await page.getByRole('button', { name: 'Load model' }).click();
  await page.getByTestId('model-summary').waitFor({ timeout: 60_000 });
}

beforeAll(async () => {
  model = await mnistModel();
  host = await startApp();
  context = await launchChromium();
  page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(host.url);
});

afterAll(async () => {
  await context?.close();
  host?.child.kill('SIGTERM');
});

describe('PPNN Studio in Chromium (browser mode)', () => {
  test('a bad model file shows a readable error, not a blank view', async () => {
    const bad = join(RESULTS_DIR, 'e2e-bad-model.json');
    writeFileSync(bad, '{"format": "ppnn-model", "version": 1, "layers": "oops"');
    await page.getByLabel('File (JSON / ONNX)').check();
    await page.getByTestId('model-file').setInputFiles(bad);
    await page.getByRole('button', { name: 'Load model' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor({ timeout: 30_000 });
    expect(await alert.textContent()).toMatch(/MODEL_INVALID/);
    await page.screenshot({ path: screenshotPath('model-view-bad-file') });
    expect(await page.getByRole('heading', { name: 'Model' }).isVisible()).toBe(true);
    await alert.getByRole('button', { name: 'Dismiss' }).click();
  });

  test('loads the MNIST model: layers before and after merging', async () => {
    await loadModelInUi();
    const summary = await page.getByTestId('model-summary').textContent();
    expect(summary).toMatch(/layers → \d+ after merging/);
    expect(await page.getByRole('heading', { name: 'Layers after merging' }).isVisible()).toBe(true);
    expect(await page.getByRole('heading', { name: 'Merge decisions' }).isVisible()).toBe(true);
    await page.screenshot({ path: screenshotPath('model-view'), fullPage: false });
  });

  test('loads MNIST test images into a labelled grid', async () => {
    await page.getByRole('button', { name: 'Data', exact: true }).click();
    await page.getByTestId('builtin-dataset').selectOption('mnist');
    await page.getByRole('button', { name: 'Load data' }).click();
    await page.getByTestId('dataset-summary').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('dataset-summary').textContent()).toMatch(/10,000 images of 28×28/);
    expect(await page.locator('ul[aria-label="sample images"] li').count()).toBe(48);
    // The digits are really drawn (dark strokes on white).
    const inked = await page
      .locator('ul[aria-label="sample images"] canvas')
      .first()
      .evaluate((c) => {
        const d = (c as unknown as PageCanvas).getContext('2d')!.getImageData(0, 0, 28, 28).data;
        let n = 0;
        for (let i = 0; i < d.length; i += 4) if (d[i]! < 128) n++;
        return n;
      });
    expect(inked).toBeGreaterThan(30);
    await page.screenshot({ path: screenshotPath('data-view') });
  });

  test('runs 20 images locally with live charts and the accuracy shown', async () => {
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    await page.getByLabel('Local (worker threads)').check();
    await page.getByTestId('scheme').selectOption('merged');
    await page.getByTestId('images').fill('20');
    await page.getByRole('button', { name: 'Start run' }).click();
    // Preprocessing reports per layer, with an ETA, before the first image completes.
    const early = await page.waitForFunction(
      () => {
        const status = document.querySelector('[data-testid="run-status"]')?.textContent ?? '';
        const rows = document.querySelectorAll('[data-testid="results"] tbody tr').length;
        if (/failed|done/.test(status) || rows > 0) return { status, rows, progress: 0 };
        return /preprocessing · layer \d+\/\d+ \(.+\) · images 1–20 of 20/.test(status)
          ? { status, rows, progress: document.querySelector('progress')?.value ?? 0 }
          : false;
      },
      null,
      { timeout: 300_000, polling: 'raf' },
    );
    const seen = (await early.jsonValue()) as { status: string; rows: number; progress: number };
    expect(seen.rows, seen.status).toBe(0);
    expect(seen.status).toMatch(/^preprocessing · layer \d+\/\d+/);
    expect(seen.progress).toBeGreaterThan(0);
    await page.screenshot({ path: screenshotPath('run-view-preprocessing') });
    // Mid-run: preprocessing has reported its bytes but the run is not done. (The online
    // stage of 20 images takes milliseconds, so this is the moment a person sees.)
    await page.waitForFunction(
      () => {
        const status = document.querySelector('[data-testid="run-status"]')?.textContent ?? '';
        const progress = document.querySelector('progress')?.value ?? 0;
        return (progress > 0 && !/done/.test(status)) || /failed|done/.test(status);
      },
      null,
      { timeout: 300_000, polling: 'raf' },
    );
    const status = await page.getByTestId('run-status').textContent();
    if (status?.includes('failed')) await page.screenshot({ path: screenshotPath('run-view-failed'), fullPage: true });
    if (status?.includes('failed'))
      throw new Error(`run failed in the UI: ${await page.getByRole('alert').allTextContents()}`);
    await page.screenshot({
      path: screenshotPath(status?.includes('done') ? 'run-view-done-early' : 'run-view-mid-run'),
    });
    await page.waitForFunction(
      () => /done|failed/.test(document.querySelector('[data-testid="run-status"]')?.textContent ?? ''),
      null,
      { timeout: 600_000 },
    );
    expect(
      await page.getByTestId('run-status').textContent(),
      (await page.getByRole('alert').allTextContents()).join(' | '),
    ).toMatch(/done · 20 images/);
    const accuracy = await page.getByTestId('accuracy').textContent();
    expect(accuracy).toMatch(/^\d+\.\d %$/);
    expect(parseFloat(accuracy!)).toBeGreaterThan(50);
    expect(await page.locator('[data-testid="results"] tbody tr').count()).toBe(20);
    // Each chart shows its data series, not just empty axes.
    expect(await pixelsOfColor(page, '[data-testid="chart-accuracy"] canvas', GREEN)).toBeGreaterThan(50);
    expect(await pixelsOfColor(page, '[data-testid="chart-bytes"] canvas', ORANGE)).toBeGreaterThan(50);
    expect(await pixelsOfColor(page, '[data-testid="chart-time"] canvas', GREY)).toBeGreaterThan(50);
    expect(await pixelsOfColor(page, '[data-testid="chart-levels"] canvas', BLUE)).toBeGreaterThan(50);
    await page.screenshot({ path: screenshotPath('run-view-done'), fullPage: true });
  });

  test('exports the report as JSON and reads it back into Compare', async () => {
    await page.getByRole('button', { name: 'Export', exact: true }).click();
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Export JSON' }).click(),
    ]);
    const saved = join(RESULTS_DIR, 'e2e-report.json');
    await download.saveAs(saved);
    const file = JSON.parse(readFileSync(saved, 'utf8')) as {
      format: string;
      schemes: { images: number; scheme: string; accuracy: number }[];
    };
    expect(file.format).toBe('ppnn-bench-report');
    expect(file.schemes).toHaveLength(1);
    expect(file.schemes[0]!.images).toBe(20);
    expect(file.schemes[0]!.scheme).toBe('merged');
    const [csv] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Export CSV' }).click(),
    ]);
    expect(readFileSync((await csv.path())!, 'utf8').split('\r\n')[0]).toMatch(
      /^label,scheme,stage,model,dataset,images/,
    );

    await page.getByRole('button', { name: 'Compare', exact: true }).click();
    await page.getByTestId('report-file').setInputFiles(saved);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="compare-table"] thead th').length === 3);
    const headers = await page.locator('[data-testid="compare-table"] thead th').allTextContents();
    expect(headers.slice(1).every((h) => h.includes('merged'))).toBe(true);
  });

  test('runs 5 images against `ppnn serve` on 127.0.0.1', async () => {
    const serve = await startServe('builtin' in model ? model.builtin : model.file);
    try {
      await page.getByRole('button', { name: 'Run', exact: true }).click();
      await page.getByLabel('Remote server').check();
      await page.getByTestId('server-url').fill(serve.url);
      await page.getByRole('button', { name: 'Check server' }).click();
      await page.getByTestId('server-status').waitFor({ timeout: 20_000 });
      await page.getByTestId('images').fill('5');
      await page.getByRole('button', { name: 'Start run' }).click();
      // The previous run's status reads 'done · 20 images' until this run's record appears.
      await page.waitForFunction(
        () => /done · 5 images|failed/.test(document.querySelector('[data-testid="run-status"]')?.textContent ?? ''),
        null,
        { timeout: 600_000 },
      );
      expect(
        await page.getByTestId('run-status').textContent(),
        `${(await page.getByRole('alert').allTextContents()).join(' | ')}\nserver log: ${serve.log()}`,
      ).toMatch(/done · 5 images/);
      expect(await page.locator('.metrics').textContent()).toContain(`remote ${serve.url}`);
      expect(await page.locator('[data-testid="results"] tbody tr').count()).toBe(5);
    } finally {
      serve.child.kill('SIGTERM');
    }
  });

  test('compares the runs side by side', async () => {
    await page.getByRole('button', { name: 'Compare', exact: true }).click();
    await page.getByTestId('compare-table').waitFor();
    expect(await page.locator('[data-testid="compare-table"] thead th').count()).toBe(4);
    expect(await pixelsOfColor(page, '[data-testid="cmp-accuracy"] canvas', GREEN)).toBeGreaterThan(50);
    // a real `ppnn bench --repeat 3` report: medians with their spread (thin dark bars), log axes
    await page.getByTestId('report-file').setInputFiles(join(ROOT, 'test/e2e/fixtures/bench-repeat3.json'));
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="compare-table"] thead th').length === 6);
    const labels = await page.locator('[data-testid="compare-table"] thead th').allTextContents();
    expect(labels.slice(1)).toEqual([
      'merged · local · 20 images',
      expect.stringMatching(/^merged · 127\.0\.0\.1:\d+ · 5 images$/),
      'merged · local · 20 images #2',
      'merged · local · 10 images',
      'unmerged · local · 10 images',
    ]);
    expect(await page.locator('[data-testid="compare-table"]').textContent()).toMatch(
      /over repeats.*–.*–.*\(3 runs\)/s,
    );
    expect(await pixelsOfColor(page, '[data-testid="cmp-time"] canvas', '#1a202c')).toBeGreaterThan(20);
    expect(await page.getByTestId('log-scale-compare').isChecked()).toBe(true);
    await page.screenshot({ path: screenshotPath('compare-view'), fullPage: true });
    await page.getByTestId('log-scale-compare').uncheck();
    await page.screenshot({ path: screenshotPath('compare-view-linear'), fullPage: true });
    await page.getByTestId('log-scale-compare').check();
    expect(pageErrors).toEqual([]);
  });
});
