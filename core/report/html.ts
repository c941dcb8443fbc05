import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { PpnnError } from '../errors.ts';
import { CHART_SCRIPT, REPORT_CSS, SCHEME_COLORS } from './html-page.ts';
import type { BenchReport, InferenceReport, LayerLevelTrace, SchemeRatios, StageName } from './types.ts';

/**
 * report.html: one self-contained file that opens offline, years later, on any machine.
 * Hence Chart.js is inlined (not linked), the data is embedded as JSON, and a
 * Content-Security-Policy forbids every network fetch, so a stray URL cannot silently
 * turn into a request. Tables are rendered here (they print and read without scripts);
 * the in-page script only draws the four charts.
 */

const STAGES: readonly StageName[] = ['merging', 'preprocessing', 'online'];

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
    throw new PpnnError('INTERNAL', `cannot read Chart.js to inline into report.html (${(e as Error).message}); is the chart.js package installed?`);
  }
  return chartJsCache;
}

/** Escape text for HTML element content and attribute values. */
function esc(v: unknown): string {
  return String(v).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Numbers for people: thousands separators for big ones, 1–2 decimals for small ones. */
export function formatNumber(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return v === Number.POSITIVE_INFINITY ? '∞' : 'n/a';
  const a = Math.abs(v);
  if (a >= 1000) return Math.round(v).toLocaleString('en-US');
  if (a >= 10) return v.toFixed(1);
  if (a >= 0.01 || a === 0) return v.toFixed(2);
  return v.toExponential(2);
}
const kib = (bytes: number): string => formatNumber(bytes / 1024);
const pct = (x: number): string => `${(100 * x).toFixed(2)} %`;

function ratioCell(r: number): string {
  const cls = r < 1 ? 'better' : r > 1 ? 'worse' : '';
  return `<td class="${cls}">${r === Number.POSITIVE_INFINITY ? '∞' : `${r.toFixed(2)}×`}</td>`;
}

function schemeCell(scheme: string): string {
  return `<td><span class="scheme" style="background:${SCHEME_COLORS[scheme] ?? '#475569'}"></span>${esc(scheme)}</td>`;
}

/** `textColumns`: indexes of left-aligned (text) columns besides the first. */
function table(head: readonly string[], rows: readonly string[], textColumns: readonly number[] = []): string {
  return `<div class="scroll"><table><thead><tr>${head.map((h, i) => `<th${textColumns.includes(i) ? ' class="text"' : ''}>${h}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r}</tr>`).join('')}</tbody></table></div>`;
}

/** The level trace shown for a scheme: preprocessing's, else online's (gazelle runs HE online). */
export function levelTraceOf(r: InferenceReport): LayerLevelTrace[] {
  const pre = r.stages.preprocessing.levels;
  if (pre && pre.length > 0) return pre;
  return r.stages.online.levels ?? [];
}

function summaryTable(report: BenchReport): string {
  const rows = report.schemes.map((r) => {
    const totalMs = STAGES.reduce((t, s) => t + r.stages[s].wallMs, 0);
    return `${schemeCell(r.scheme)}<td>${r.images}</td><td>${pct(r.accuracy)}</td><td>${pct(r.plaintextAccuracy)}</td><td>${pct(r.agreement)}</td>`
      + `<td>${r.maxLogitError.toExponential(2)}</td><td>${formatNumber(r.perImage.onlineMs)}</td><td>${kib(r.perImage.onlineBytes)}</td><td>${r.stages.online.rounds}</td>`
      + `<td>${formatNumber(r.perImage.preprocessingMs)}</td><td>${kib(r.perImage.preprocessingBytes)}</td><td>${formatNumber(totalMs / 1000)}</td>`;
  });
  return table(['scheme', 'images', 'accuracy', 'plaintext acc.', 'agreement', 'max |logit err|', 'online ms/image', 'online KiB/image', 'online rounds', 'preproc. ms/image', 'preproc. KiB/image', 'total wall s'], rows)
    + '<p class="note">Per-image figures are medians over images and repeats; rounds and wall totals cover all images of one run.</p>';
}

function ratiosTable(report: BenchReport): string {
  const entries = report.schemes.map((r) => [r.scheme, report.ratios[r.scheme]] as const).filter((e): e is readonly [typeof e[0], SchemeRatios] => e[1] !== undefined);
  if (entries.length === 0) return '<p class="note">No <code>merged</code> scheme in this report, so no ratios against it.</p>';
  const rows = entries.map(([scheme, q]) => schemeCell(scheme) + [q.onlineMs, q.onlineBytes, q.onlineRounds, q.preprocessingMs, q.preprocessingBytes, q.totalMs].map(ratioCell).join(''));
  return table(['scheme', 'online time', 'online bytes', 'online rounds', 'preproc. time', 'preproc. bytes', 'total time'], rows)
    + '<p class="note">Each figure divided by <code>merged</code>’s: below 1× (green) is cheaper than merged, above (red) dearer.</p>';
}

function stagesTable(report: BenchReport): string {
  const rows = report.schemes.flatMap((r) => STAGES.map((st) => {
    const s = r.stages[st];
    return `${schemeCell(r.scheme)}<td class="text">${st}</td><td>${formatNumber(s.wallMs)}</td><td>${formatNumber(s.clientMs)}</td><td>${formatNumber(s.serverMs)}</td>`
      + `<td>${kib(s.bytesClientToServer)}</td><td>${kib(s.bytesServerToClient)}</td><td>${s.messages}</td><td>${s.rounds}</td><td>${s.peakRssBytes === undefined ? '' : formatNumber(s.peakRssBytes / 2 ** 20)}</td>`;
  }));
  return table(['scheme', 'stage', 'wall ms', 'client ms', 'server ms', 'KiB client→server', 'KiB server→client', 'messages', 'rounds', 'peak RSS MiB'], rows, [1]);
}

function heTable(report: BenchReport): string {
  const rows = report.schemes.flatMap((r) => STAGES.flatMap((st) => {
    const he = r.stages[st].he;
    if (!he) return [];
    return [`${schemeCell(r.scheme)}<td class="text">${st}</td>` + [he.encryptions, he.decryptions, he.ctPtMul, he.ctCtMul, he.rotations, he.additions, he.rescales, he.modSwitches, he.relinearizations].map((n) => `<td>${formatNumber(n)}</td>`).join('')];
  }));
  if (rows.length === 0) return '<p class="note">No HE operation counts recorded.</p>';
  return table(['scheme', 'stage', 'encrypt', 'decrypt', 'ct×pt mul', 'ct×ct mul', 'rotations', 'additions', 'rescales', 'mod switches', 'relin.'], rows, [1]);
}

function levelTables(report: BenchReport): string {
  const blocks = report.schemes.flatMap((r) => {
    const trace = levelTraceOf(r);
    if (trace.length === 0) return [];
    const rows = trace.map((l, i) => `<td>${i + 1}</td><td class="text">${esc(l.layer)}</td><td>${l.levelsUsed}</td><td class="text">${esc(compactLevels(l.levels))}</td><td>${l.ciphertexts}</td><td>${kib(l.bytes)}</td>`);
    return [`<div><h3><span class="scheme" style="background:${SCHEME_COLORS[r.scheme] ?? '#475569'}"></span>${esc(r.scheme)}</h3>${table(['#', 'layer', 'levels used', 'levels left', 'ciphertexts', 'KiB'], rows, [1, 3])}</div>`];
  });
  return blocks.length ? `<div class="levels">${blocks.join('')}</div>` : '<p class="note">No ciphertext level trace recorded.</p>';
}

/** "3, 3, 3, 3" → "3 ×4": a layer's ciphertexts usually share one level. */
function compactLevels(levels: readonly number[]): string {
  if (levels.length === 0) return '–';
  const distinct = [...new Set(levels)];
  return distinct.length === 1 ? `${distinct[0]}${levels.length > 1 ? ` ×${levels.length}` : ''}` : levels.join(', ');
}

function setupTables(report: BenchReport): string {
  const m = report.machine;
  const kv = (pairs: [string, string][]): string => `<table class="kv"><tbody>${pairs.map(([k, v]) => `<tr><td>${esc(k)}</td><td class="text">${esc(v)}</td></tr>`).join('')}</tbody></table>`;
  const run = kv([
    ['created', report.createdAt], ['model', report.model], ['dataset', report.dataset], ['images', String(report.images)],
    ['repeats', String(report.repeat)], ['seed', String(report.seed)],
  ]);
  const machine = kv([
    ['platform', `${m.platform} ${m.arch}`], ['CPU', `${m.cpuModel} (${m.cpus} logical cores)`],
    ['memory', m.memoryBytes > 0 ? `${(m.memoryBytes / 2 ** 30).toFixed(1)} GiB` : 'unknown'], ['Node', m.node],
    ...Object.entries(report.versions).map(([k, v]): [string, string] => [k, v]),
  ]);
  const ckksRows = report.schemes.map((r) => schemeCell(r.scheme)
    + (r.ckks ? `<td>${r.ckks.polyModulusDegree}</td><td class="text">[${r.ckks.coeffModulusBits.join(', ')}] = ${r.ckks.coeffModulusBits.reduce((a, b) => a + b, 0)} bits</td><td>2^${r.ckks.scaleBits}</td><td>${r.ckks.slots}</td>` : '<td></td><td class="text">no HE parameters recorded</td><td></td><td></td>')
    + `<td>${r.seed}</td><td class="text">${r.masks ? `${r.masks.inputHidingBits} / ${r.masks.shareHidingBits} bits` : ''}</td><td class="text">${esc(r.server ?? 'local')}</td>`);
  return `<div class="charts"><div><h3>Run</h3>${run}</div><div><h3>Machine and versions</h3>${machine}</div></div>`
    + `<h3>CKKS parameters, seeds and masking per scheme</h3>${table(['scheme', 'N', 'coefficient modulus (bits)', 'scale', 'slots', 'seed', 'hiding input / share', 'server'], ckksRows, [2, 6, 7])}`;
}

function runsTable(report: BenchReport): string {
  if (report.runs.length === 0) return '';
  const rows = report.runs.map((r, i) => `<td>${i + 1}</td>${schemeCell(r.scheme)}<td>${r.repeat}</td><td>${formatNumber(r.onlineMs)}</td><td>${formatNumber(r.preprocessingMs)}</td><td>${formatNumber(r.wallMs)}</td>`);
  return `<details><summary>${report.runs.length} individual runs, in the order they ran</summary>${table(['#', 'scheme', 'repeat', 'online ms', 'preproc. ms', 'wall ms'], rows)}</details>`;
}

function chartCard(id: string, title: string, note: string): string {
  return `<div class="card"><h3>${title}</h3><p class="note">${note}</p><div class="box"><canvas id="${id}" role="img" aria-label="${esc(title)}"></canvas></div></div>`;
}

/** JSON for a `<script type="application/json">`: `<` escaped so no `</script>` can end it early. */
function embedJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/**
 * The self-contained report.html text for `report`: inlined Chart.js (from `chartJs`, by
 * default the installed package via `loadChartJsSource`), the report embedded as JSON,
 * charts of time, bytes, ciphertext levels and accuracy, and tables of every figure.
 * Pure apart from that one cached file read. Throws TypeError when `report` has no schemes.
 */
export function reportToHtml(report: BenchReport, options: { chartJs?: string } = {}): string {
  if (typeof report !== 'object' || report === null || !Array.isArray(report.schemes)) throw new TypeError('reportToHtml: report must be a BenchReport with a schemes array');
  // A `</script` inside the library would end its tag early; it can only occur in strings or regexes, where `<\/` means the same.
  const chartJs = (options.chartJs ?? loadChartJsSource()).replace(/<\/script/gi, '<\\/script');
  const hasLevels = report.schemes.some((r) => levelTraceOf(r).length > 0);
  const title = `PPNN benchmark — ${report.model} on ${report.dataset}`;
  const charts = [
    chartCard('chart-time', 'Wall time per stage', 'Total over all images of one run (median of repeats).'),
    chartCard('chart-bytes', 'Bytes per stage and direction', 'Solid: client→server; light: server→client.'),
    hasLevels
      ? chartCard('chart-levels', 'Ciphertext levels per layer', 'Modulus-chain primes left after each layer: one prime is spent per rescale.')
      : '<div class="card"><h3>Ciphertext levels per layer</h3><p class="note">No level trace in this report.</p></div>',
    chartCard('chart-quality', 'Accuracy and agreement', 'Agreement: same top-1 class as the plaintext network.'),
  ].join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<meta name="color-scheme" content="light">
<title>${esc(title)}</title>
<style>${REPORT_CSS}</style>
</head>
<body>
<main>
<h1>${esc(title)}</h1>
<p class="sub">${report.images} images · ${report.schemes.length} schemes (${report.schemes.map((r) => esc(r.scheme)).join(', ')}) · ${report.repeat} repeat${report.repeat === 1 ? '' : 's'} · created ${esc(report.createdAt)}</p>
<pre class="command">${esc(report.command)}</pre>
<h2>Summary</h2>
${summaryTable(report)}
<h2>Ratios against merged</h2>
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
<footer>Written by PPNN Studio (report format ${esc(report.format)} v${report.version}). Charts by Chart.js (MIT licence), inlined. This file makes no network requests.</footer>
</main>
<script type="application/json" id="report-data">${embedJson(report)}</script>
<script>${chartJs}</script>
<script>${CHART_SCRIPT}</script>
</body>
</html>
`;
}
