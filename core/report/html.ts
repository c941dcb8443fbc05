import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { PpnnError } from '../errors.ts';
import { CHART_SCRIPT, REPORT_CSS } from './html-page.ts';
import {
  esc,
  heTable,
  levelTables,
  levelTraceOf,
  note,
  ratiosTable,
  runsTable,
  setupTables,
  stagesTable,
  summaryTable,
} from './html-tables.ts';
import type { BenchReport } from './types.ts';

export { levelTraceOf, stageOf } from './html-tables.ts';

/**
 * report.html: one self-contained file that opens offline, years later, on any machine.
 * Hence Chart.js is inlined (not linked), the data is embedded as JSON, and a
 * Content-Security-Policy forbids every network fetch, so a stray URL cannot silently
 * turn into a request. Tables are rendered in html-tables.ts (they print and read without scripts);
 * the in-page script only draws the four charts.
 */

/** Nothing but inline script and style, and data: images: the page can fetch nothing. */
const CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:";
const FOOTER = 'Charts by Chart.js (MIT licence), inlined. This file makes no network requests.';

let chartJsCache: string | undefined;

/**
 * The Chart.js UMD bundle's source text, read once from the installed package.
 * Throws PpnnError INTERNAL when chart.js is not installed next to the core.
 */
export function loadChartJsSource(): string {
  if (chartJsCache !== undefined) return chartJsCache;
  try {
    // chart.js's exports map does not expose dist/chart.umd.js; its CJS entry sits beside it.
    const entry = createRequire(import.meta.url).resolve('chart.js');
    chartJsCache = readFileSync(join(dirname(entry), 'chart.umd.js'), 'utf8');
  } catch (e) {
    throw new PpnnError(
      'INTERNAL',
      `cannot read Chart.js to inline into report.html (${(e as Error).message}); is the chart.js package installed?`,
    );
  }
  return chartJsCache;
}

/** "10 images · 2 runs (merged · local · 10 images, …)", or the image counts when they differ. */
function runsLine(report: BenchReport): string {
  const counts = [...new Set(report.schemes.map((r) => r.images))];
  const images = counts.length > 1 ? `mixed image counts (${counts.join(', ')})` : `${counts[0]} images`;
  return (
    `${images} · ${report.schemes.length} run${report.schemes.length === 1 ? '' : 's'} ` +
    `(${report.schemes.map((r) => esc(r.label ?? r.scheme)).join(', ')})`
  );
}

function chartCard(id: string, title: string, note: string): string {
  return (
    `<div class="card"><h3>${title}</h3><p class="note">${note}</p><div class="box"><canvas id="${id}" ` +
    `role="img" aria-label="${esc(title)}"></canvas></div></div>`
  );
}

/** JSON for a `<script type="application/json">`: `<` escaped so no `</script>` can end it early. */
function embedJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/**
 * The self-contained report.html text for `report`: inlined Chart.js (from `chartJs`, by
 * default the installed package via `loadChartJsSource`), the report embedded as JSON,
 * charts of time, bytes, ciphertext levels and accuracy, and tables of every figure.
 * Pure apart from that one cached file read. Throws TypeError when `report` has no schemes.
 */
export function reportToHtml(report: BenchReport, options: { chartJs?: string } = {}): string {
  if (typeof report !== 'object' || report === null || !Array.isArray(report.schemes))
    throw new TypeError('reportToHtml: report must be a BenchReport with a schemes array');
  // A `</script` inside the library would end its tag early; it can only occur in strings or regexes, where `<\/` means
  // the same.
  const chartJs = (options.chartJs ?? loadChartJsSource()).replace(/<\/script/gi, '<\\/script');
  const hasLevels = report.schemes.some((r) => levelTraceOf(r).length > 0);
  const title = `PPNN benchmark — ${report.model} on ${report.dataset}`;
  const charts = [
    chartCard('chart-time', 'Wall time per stage', 'Total over all images of one run (median of repeats).'),
    chartCard('chart-bytes', 'Bytes per stage and direction', 'Solid: client→server; light: server→client.'),
    hasLevels
      ? chartCard(
          'chart-levels',
          'Ciphertext levels per layer',
          'Modulus-chain primes left after each layer: one prime is spent per rescale.',
        )
      : `<div class="card"><h3>Ciphertext levels per layer</h3>${note('No level trace in this report.')}</div>`,
    chartCard('chart-quality', 'Accuracy and agreement', 'Agreement: same top-1 class as the plaintext network.'),
  ].join('');
  const repeats = `${report.repeat} repeat${report.repeat === 1 ? '' : 's'}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="color-scheme" content="light">
<title>${esc(title)}</title>
<style>${REPORT_CSS}</style>
</head>
<body>
<main>
<h1>${esc(title)}</h1>
<p class="sub">${runsLine(report)} · ${repeats} · created ${esc(report.createdAt)}</p>
<pre class="command">${esc(report.command)}</pre>
<h2>Summary</h2>
${summaryTable(report)}
<h2>Ratios against ${esc(report.baseline)}</h2>
${ratiosTable(report)}
<h2>Charts</h2>
<p class="toolbar"><label><input type="checkbox" id="log-axes" checked> logarithmic time and byte axes</label></p>
<div class="charts">${charts}</div>
<h2>Stages</h2>
${stagesTable(report)}
<h2>HE operations</h2>
${heTable(report)}
<h2>Ciphertext levels per layer</h2>
${levelTables(report)}
<h2>Setup</h2>
${setupTables(report)}
${runsTable(report)}
<footer>Written by PPNN Studio (report format ${esc(report.format)} v${report.version}). ${FOOTER}</footer>
</main>
<script type="application/json" id="report-data">${embedJson(report)}</script>
<script>${chartJs}</script>
<script>${CHART_SCRIPT}</script>
</body>
</html>
`;
}
