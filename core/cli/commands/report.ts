import {
  formatBytes,
  formatCount,
  formatMachine,
  formatMs,
  formatRatio,
  formatSeed,
  formatSpread,
  NA,
} from '../../report/format.ts';
import { readReport } from '../../report/read.ts';
import { perImageCost } from '../../report/ratios.ts';
import type { BenchReport } from '../../report/types.ts';
import { JSON_OPTION } from '../args.ts';
import { defineCommand } from '../command.ts';

/** percent with 2 decimals; n/a for a figure the run has not got (no plaintext reference) */
const pct = (x: number | null): string => (x === null ? 'n/a' : (100 * x).toFixed(2));

/** Columns of a plain-text table: left-aligned first column, right-aligned figures. */
function alignTable(head: readonly string[], rows: readonly string[][]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(head), ...rows.map(line)];
}

/**
 * The text `ppnn report DIR` prints: a header (model, dataset, images, command, machine),
 * one row per run (its label) with accuracy, agreement, max logit error, per-image online
 * and preprocessing cost, the one-off key setup, the spread over repeats, and the ratios
 * against the baseline run.
 */
export function formatBenchSummary(report: BenchReport): string {
  const counts = [...new Set(report.schemes.map((r) => r.images))];
  const images = counts.length > 1 ? `mixed image counts (${counts.join(', ')})` : `${counts[0]} images`;
  const head = [
    `${report.model} on ${report.dataset} · ${images} · ${report.repeat} repeat(s) · seed ` +
      `${formatSeed(report.seed)} · ${report.createdAt}`,
    `command: ${report.command}`,
    `machine: ${formatMachine(report.machine)}`,
    '',
  ];
  const repeated = report.schemes.some((r) => r.repeats);
  const rows = report.schemes.map((r) => {
    const q = report.ratios[r.label ?? ''];
    const setup = r.stages.setup;
    const c = perImageCost(r);
    return [
      r.label ?? r.scheme,
      formatCount(r.images),
      pct(r.accuracy),
      pct(r.agreement),
      r.maxLogitError?.toExponential(2) ?? 'n/a',
      formatMs(c.onlineMs),
      formatBytes(c.onlineBytes),
      formatCount(r.stages.online.rounds),
      formatMs(c.preprocessingMs),
      formatBytes(c.preprocessingBytes),
      setup ? formatMs(setup.wallMs) : NA,
      formatMs(c.totalMs),
      ...(repeated ? [r.repeats ? formatSpread(r.repeats.onlineMs) : NA] : []),
      formatRatio(q?.onlineMs),
      formatRatio(q?.onlineBytes),
      formatRatio(q?.onlineRounds),
      formatRatio(q?.totalMs),
    ];
  });
  const table = alignTable(
    [
      'run',
      'images',
      'acc %',
      'agree %',
      'max err',
      'online/img',
      'online B/img',
      'rounds',
      'pre/img',
      'pre B/img',
      'setup (once)',
      'total/img',
      ...(repeated ? ['online/img over repeats (min – median – max)'] : []),
      '×time',
      '×bytes',
      '×rounds',
      '×total',
    ],
    rows,
  );
  const foot = [
    `×: per-image online time, online bytes, online rounds and total time divided by the baseline ` +
      `'${report.baseline}' (1.00×; < 1 is cheaper).`,
    'Per-image figures are medians (over repeats when repeated); total/img spreads the one-off merging and key ' +
      'setup over the images.',
  ];
  if (counts.length > 1)
    foot.push(`Runs have different image counts (${counts.join(', ')}): only per-image figures compare.`);
  return [...head, ...table, '', ...foot].join('\n');
}

export const reportCommand = defineCommand({
  name: 'report',
  summary: 'print the summary of a benchmark report (a ppnn bench --out DIR, or a report.json)',
  options: { json: { ...JSON_OPTION, description: 'print the validated report as JSON instead of the summary' } },
  positionals: {
    name: 'DIR|report.json',
    min: 1,
    max: 1,
    description: 'a `ppnn bench --out` directory or a report.json (also a single `ppnn infer --json` output)',
  },
  async run({ values: o, positionals }, io) {
    const report = readReport(positionals[0]!);
    io.out(o.json ? JSON.stringify(report) : formatBenchSummary(report));
    return 0;
  },
});
