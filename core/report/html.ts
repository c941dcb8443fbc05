import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { PpnnError } from '../errors.ts';
import {
  formatBytes,
  formatCount,
  formatMachine,
  formatMs,
  formatNumber,
  formatRatio,
  formatSeed,
  formatSpread,
  NA,
} from './format.ts';
import { CHART_SCRIPT, REPORT_CSS, SCHEME_COLORS } from './html-page.ts';
import { perImageCost } from './ratios.ts';
import type { BenchReport, InferenceReport, LayerLevelTrace, ReportStageName, StageMetrics } from './types.ts';

/**
 * report.html: one self-contained file that opens offline, years later, on any machine.
 * Hence Chart.js is inlined (not linked), the data is embedded as JSON, and a
 * Content-Security-Policy forbids every network fetch, so a stray URL cannot silently
 * turn into a request. Tables are rendered here (they print and read without scripts);
 * the in-page script only draws the four charts.
 */

/** Nothing but inline script and style, and data: images: the page can fetch nothing. */
const CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:";
const FOOTER = 'Charts by Chart.js (MIT licence), inlined. This file makes no network requests.';

const STAGES: readonly ReportStageName[] = ['merging', 'setup', 'preprocessing', 'online'];

/** A run's figures for `stage`; undefined when the run has no such stage (old reports have no setup). */
export function stageOf(r: InferenceReport, stage: ReportStageName): StageMetrics | undefined {
  return stage === 'setup' ? r.stages.setup : r.stages[stage];
}

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

/** Escape text for HTML element content and attribute values. */
function esc(v: unknown): string {
  return String(v).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export { formatNumber } from './format.ts';
const pct = (x: number): string => `${(100 * x).toFixed(2)} %`;

function ratioCell(r: number | undefined): string {
  const cls = r === undefined ? '' : r < 1 ? 'better' : r > 1 ? 'worse' : '';
  return `<td class="${cls}">${formatRatio(r)}</td>`;
}

/** The run's label with its scheme's colour swatch. */
function schemeCell(r: Pick<InferenceReport, 'scheme' | 'label'>): string {
  return `<td>${swatch(r)}${esc(r.label ?? r.scheme)}</td>`;
}

/** The coloured square that marks a scheme in tables and headings. */
function swatch(r: Pick<InferenceReport, 'scheme'>): string {
  return `<span class="scheme" style="background:${SCHEME_COLORS[r.scheme] ?? '#475569'}"></span>`;
}

/** A muted note paragraph under a table; `html` is already escaped. */
function note(html: string): string {
  return `<p class="note">${html}</p>`;
}

/** Right-aligned (number) cells, one per value. */
function cells(values: readonly string[]): string {
  return values.map((v) => `<td>${v}</td>`).join('');
}

/** A left-aligned (text) cell. */
function textCell(v: string): string {
  return `<td class="text">${v}</td>`;
}

/** `textColumns`: indexes of left-aligned (text) columns besides the first. */
function table(head: readonly string[], rows: readonly string[], textColumns: readonly number[] = []): string {
  const th = head.map((h, i) => (textColumns.includes(i) ? `<th class="text">${h}</th>` : `<th>${h}</th>`)).join('');
  const body = rows.map((r) => `<tr>${r}</tr>`).join('');
  return `<div class="scroll"><table><thead><tr>${th}</tr></thead><tbody>${body}</tbody></table></div>`;
}

/** The level trace shown for a scheme: preprocessing's, else online's (gazelle runs HE online). */
export function levelTraceOf(r: InferenceReport): LayerLevelTrace[] {
  const pre = r.stages.preprocessing.levels;
  if (pre && pre.length > 0) return pre;
  return r.stages.online.levels ?? [];
}

function summaryTable(report: BenchReport): string {
  const rows = report.schemes.map((r) => {
    const setup = r.stages.setup;
    const c = perImageCost(r);
    return (
      schemeCell(r) +
      cells([
        formatCount(r.images),
        pct(r.accuracy),
        pct(r.plaintextAccuracy),
        pct(r.agreement),
        r.maxLogitError.toExponential(2),
        formatMs(c.onlineMs),
        formatBytes(c.onlineBytes),
        formatCount(r.stages.online.rounds),
        formatMs(c.preprocessingMs),
        formatBytes(c.preprocessingBytes),
        setup ? formatMs(setup.wallMs) : NA,
        setup ? formatBytes(setup.bytesClientToServer + setup.bytesServerToClient) : NA,
        formatMs(c.totalMs),
        r.repeats ? formatSpread(r.repeats.onlineMs) : NA,
      ])
    );
  });
  const mixed = report.mixedImages
    ? ` <strong>Image counts differ between runs ` +
      `(${[...new Set(report.schemes.map((r) => r.images))].join(', ')}):</strong> compare per-image figures only.`
    : '';
  return (
    table(
      [
        'run',
        'images',
        'accuracy',
        'plaintext acc.',
        'agreement',
        'max |logit err|',
        'online / image',
        'online bytes / image',
        'online rounds',
        'preproc. / image',
        'preproc. bytes / image',
        'key setup (once)',
        'setup bytes (once)',
        'total / image',
        'online / image over repeats (min – median – max)',
      ],
      rows,
    ) +
    note(
      "Per-image figures are medians over the run's images (for a repeated scheme, the median over its repeats; " +
        'the other tables show its median run). Key setup is paid once per session, not per image; ' +
        `"total / image" spreads it and merging over the images.${mixed}`,
    )
  );
}

function ratiosTable(report: BenchReport): string {
  const baseline = report.schemes.find((r) => r.label === report.baseline);
  if (!baseline) return '<p class="note">No baseline run in this report, so no ratios.</p>';
  const rows = report.schemes.map((r) => {
    const q = report.ratios[r.label ?? ''];
    return (
      schemeCell(r) +
      [q?.onlineMs, q?.onlineBytes, q?.onlineRounds, q?.preprocessingMs, q?.preprocessingBytes, q?.totalMs]
        .map(ratioCell)
        .join('')
    );
  });
  return (
    table(
      ['run', 'online time', 'online bytes', 'online rounds', 'preproc. time', 'preproc. bytes', 'total time'],
      rows,
    ) +
    note(
      `Per-image figures divided by the baseline run <strong>${esc(report.baseline)}</strong> (1.00×; ` +
        'choose another with <code>ppnn bench --baseline LABEL</code>): below 1× (green) is cheaper, ' +
        'above (red) dearer. Times are per-image medians (over repeats when repeated), rounds per image; ' +
        "total time per image includes the one-off merging and key setup spread over the run's images.",
    )
  );
}

function stageCells(s: StageMetrics | undefined): string {
  if (!s) return cells(Array.from({ length: 8 }, () => NA));
  return cells([
    formatNumber(s.wallMs),
    formatNumber(s.clientMs),
    formatNumber(s.serverMs),
    formatBytes(s.bytesClientToServer),
    formatBytes(s.bytesServerToClient),
    formatCount(s.messages),
    formatCount(s.rounds),
    s.peakRssBytes === undefined ? NA : formatBytes(s.peakRssBytes),
  ]);
}

function stagesTable(report: BenchReport): string {
  const rows = report.schemes.flatMap((r) =>
    STAGES.filter((st) => st !== 'setup' || r.stages.setup).map(
      (st) => `${schemeCell(r)}<td class="text">${st}</td>${stageCells(stageOf(r, st))}`,
    ),
  );
  return (
    table(
      [
        'run',
        'stage',
        'wall ms',
        'client ms',
        'server ms',
        'client→server',
        'server→client',
        'messages',
        'rounds',
        'peak RSS',
      ],
      rows,
      [1],
    ) +
    ('<p class="note">Whole-run figures (all images of one run). Preprocessing here divided by the images matches ' +
      'the per-image preprocessing of the summary (up to the median of uneven batches); setup is listed once.</p>')
  );
}

function heTable(report: BenchReport): string {
  const rows = report.schemes.flatMap((r) =>
    STAGES.flatMap((st) => {
      const he = stageOf(r, st)?.he;
      if (!he) return [];
      return [
        `${schemeCell(r)}<td class="text">${st}</td>` +
          [
            he.encryptions,
            he.decryptions,
            he.ctPtMul,
            he.ctCtMul,
            he.rotations,
            he.additions,
            he.rescales,
            he.modSwitches,
            he.relinearizations,
          ]
            .map((n) => `<td>${formatCount(n)}</td>`)
            .join(''),
      ];
    }),
  );
  if (rows.length === 0) return '<p class="note">No HE operation counts recorded.</p>';
  return table(
    [
      'scheme',
      'stage',
      'encrypt',
      'decrypt',
      'ct×pt mul',
      'ct×ct mul',
      'rotations',
      'additions',
      'rescales',
      'mod switches',
      'relin.',
    ],
    rows,
    [1],
  );
}

function levelTables(report: BenchReport): string {
  const blocks = report.schemes.flatMap((r) => {
    const trace = levelTraceOf(r);
    if (trace.length === 0) return [];
    const rows = trace.map(
      (l, i) =>
        cells([String(i + 1)]) +
        textCell(esc(l.layer)) +
        cells([formatCount(l.levelsUsed)]) +
        textCell(esc(compactLevels(l.levels))) +
        cells([formatCount(l.ciphertexts), formatBytes(l.bytes)]),
    );
    const head = ['#', 'layer', 'levels used', 'levels left', 'ciphertexts', 'size'];
    return [`<div><h3>${swatch(r)}${esc(r.label ?? r.scheme)}</h3>${table(head, rows, [1, 3])}</div>`];
  });
  return blocks.length
    ? `<div class="levels">${blocks.join('')}</div>`
    : '<p class="note">No ciphertext level trace recorded.</p>';
}

/** "3, 3, 3, 3" → "3 ×4": a layer's ciphertexts usually share one level. */
function compactLevels(levels: readonly number[]): string {
  if (levels.length === 0) return '–';
  const distinct = [...new Set(levels)];
  return distinct.length === 1 ? `${distinct[0]}${levels.length > 1 ? ` ×${levels.length}` : ''}` : levels.join(', ');
}

function setupTables(report: BenchReport): string {
  const m = report.machine;
  const kv = (pairs: [string, string][]): string => {
    const rows = pairs.map(([k, v]) => `<tr><td>${esc(k)}</td>${textCell(esc(v))}</tr>`).join('');
    return `<table class="kv"><tbody>${rows}</tbody></table>`;
  };
  const run = kv([
    ['created', report.createdAt],
    ['model', report.model],
    ['dataset', report.dataset],
    ['images', String(report.images)],
    ['repeats', String(report.repeat)],
    ['seed', formatSeed(report.seed)],
    ['baseline', report.baseline],
  ]);
  const machine = kv([
    ['machine', formatMachine(m)],
    ...Object.entries(report.versions).map(([k, v]): [string, string] => [k, v]),
  ]);
  const ckksCells = (c: NonNullable<InferenceReport['ckks']>): string => {
    const modulus = `[${c.coeffModulusBits.join(', ')}] = ${c.coeffModulusBits.reduce((a, b) => a + b, 0)} bits`;
    return cells([String(c.polyModulusDegree)]) + textCell(modulus) + cells([`2^${c.scaleBits}`, String(c.slots)]);
  };
  const ckksRows = report.schemes.map(
    (r) =>
      schemeCell(r) +
      (r.ckks ? ckksCells(r.ckks) : cells([NA]) + textCell('no HE parameters recorded') + cells([NA, NA])) +
      cells([esc(formatSeed(r.seed))]) +
      textCell(r.masks ? `${r.masks.inputHidingBits} / ${r.masks.shareHidingBits} bits` : NA) +
      textCell(esc(r.server ?? 'local')),
  );
  const head = [
    'scheme',
    'N',
    'coefficient modulus (bits)',
    'scale',
    'slots',
    'seed',
    'hiding input / share',
    'server',
  ];
  return (
    `<div class="charts"><div><h3>Run</h3>${run}</div><div><h3>Machine and versions</h3>${machine}</div></div>` +
    `<h3>CKKS parameters, seeds and masking per scheme</h3>${table(head, ckksRows, [2, 6, 7])}`
  );
}

function runsTable(report: BenchReport): string {
  if (report.runs.length === 0) return '';
  const rows = report.runs.map(
    (r, i) =>
      cells([String(i + 1)]) +
      schemeCell(r) +
      cells([
        String(r.repeat + 1),
        formatMs(r.perImageOnlineMs),
        formatMs(r.perImagePreprocessingMs),
        formatMs(r.perImageTotalMs),
        formatNumber(r.onlineMs),
        formatNumber(r.preprocessingMs),
        formatNumber(r.wallMs),
      ]),
  );
  const head = [
    '#',
    'run',
    'repeat',
    'online / image',
    'preproc. / image',
    'total / image',
    'online ms (run)',
    'preproc. ms (run)',
    'wall ms (run)',
  ];
  const summary = `${report.runs.length} individual runs, in the order they ran`;
  return `<details${report.repeat > 1 ? ' open' : ''}><summary>${summary}</summary>${table(head, rows)}</details>`;
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
