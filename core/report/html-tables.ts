/**
 * The tables of report.html, rendered to HTML text here rather than in the page's script
 * so they print and read without scripts (html.ts assembles the page around them). Each
 * table is built from small cell helpers; every figure is escaped or formatted on the way in.
 */
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
import { OP_LABELS, OP_NAMES } from './he-ops.ts';
import { SCHEME_COLORS } from './html-page.ts';
import { perImageCost } from './ratios.ts';
import type { BenchReport, InferenceReport, LayerLevelTrace, ReportStageName, StageMetrics } from './types.ts';

const STAGES: readonly ReportStageName[] = ['merging', 'setup', 'preprocessing', 'online'];

/** A run's figures for `stage`; undefined when the run has no such stage (old reports have no setup). */
export function stageOf(r: InferenceReport, stage: ReportStageName): StageMetrics | undefined {
  return stage === 'setup' ? r.stages.setup : r.stages[stage];
}

/** Escape text for HTML element content and attribute values. */
export function esc(v: unknown): string {
  return String(v).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** n/a: a figure the run has not got (a remote run without a plaintext reference) */
const pct = (x: number | null): string => (x === null ? 'n/a' : `${(100 * x).toFixed(2)} %`);

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
export function note(html: string): string {
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

export function summaryTable(report: BenchReport): string {
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
        r.maxLogitError?.toExponential(2) ?? 'n/a',
        formatMs(c.onlineMs),
        formatBytes(c.onlineBytes),
        formatCount(r.stages.online.rounds),
        formatMs(c.preprocessingMs),
        formatBytes(c.preprocessingBytes),
        setup ? formatMs(setup.wallMs) : NA,
        setup ? formatBytes(setup.bytesClientToServer + setup.bytesServerToClient) : NA,
        formatMs(c.totalMs),
        r.latency ? formatMs(r.latency.coldMs) : NA,
        r.latency?.warmMs != null ? formatMs(r.latency.warmMs) : NA,
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
        'first image (cold)',
        'prefetched image (warm)',
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

export function ratiosTable(report: BenchReport): string {
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

export function stagesTable(report: BenchReport): string {
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

export function heTable(report: BenchReport): string {
  const rows = report.schemes.flatMap((r) =>
    STAGES.flatMap((st) => {
      const he = stageOf(r, st)?.he;
      if (!he) return [];
      return [
        `${schemeCell(r)}<td class="text">${st}</td>` +
          OP_NAMES.map((op) => he[op])
            .map((n) => `<td>${formatCount(n)}</td>`)
            .join(''),
      ];
    }),
  );
  if (rows.length === 0) return '<p class="note">No HE operation counts recorded.</p>';
  return table(['scheme', 'stage', ...OP_NAMES.map((op) => OP_LABELS[op])], rows, [1]);
}

export function levelTables(report: BenchReport): string {
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

export function setupTables(report: BenchReport): string {
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

export function runsTable(report: BenchReport): string {
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
