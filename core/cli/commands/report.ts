import { formatNumber } from '../../report/html.ts';
import { readReport } from '../../report/read.ts';
import type { BenchReport, SchemeRatios } from '../../report/types.ts';
import { JSON_OPTION } from '../args.ts';
import { defineCommand } from '../command.ts';

const kib = (bytes: number): string => formatNumber(bytes / 1024);
const pct = (x: number): string => (100 * x).toFixed(2);
const ratio = (x: number | undefined): string => (x === undefined ? '–' : x === Number.POSITIVE_INFINITY ? '∞' : `${x.toFixed(2)}×`);

/** Columns of a plain-text table: left-aligned first column, right-aligned figures. */
function alignTable(head: readonly string[], rows: readonly string[][]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(head), ...rows.map(line)];
}

/**
 * The text `ppnn report DIR` prints: a header (model, dataset, images, command, machine)
 * and one row per scheme with accuracy, agreement, max logit error, per-image online and
 * preprocessing cost, online rounds and the ratios against `merged`.
 */
export function formatBenchSummary(report: BenchReport): string {
  const m = report.machine;
  const head = [
    `${report.model} on ${report.dataset} · ${report.images} images · ${report.repeat} repeat(s) · seed ${report.seed} · ${report.createdAt}`,
    `command: ${report.command}`,
    `machine: ${m.cpuModel} (${m.cpus} cores), ${m.platform} ${m.arch}, Node ${m.node}`,
    '',
  ];
  const rows = report.schemes.map((r) => {
    const q: SchemeRatios | undefined = report.ratios[r.scheme];
    return [
      r.scheme, String(r.images), pct(r.accuracy), pct(r.agreement), r.maxLogitError.toExponential(2),
      formatNumber(r.perImage.onlineMs), kib(r.perImage.onlineBytes), String(r.stages.online.rounds),
      formatNumber(r.perImage.preprocessingMs), kib(r.perImage.preprocessingBytes),
      ratio(q?.onlineMs), ratio(q?.onlineBytes), ratio(q?.onlineRounds), ratio(q?.totalMs),
    ];
  });
  const table = alignTable(
    ['scheme', 'images', 'acc %', 'agree %', 'max err', 'online ms/img', 'online KiB/img', 'rounds', 'pre ms/img', 'pre KiB/img', '×time', '×bytes', '×rounds', '×total'],
    rows,
  );
  const foot = Object.keys(report.ratios).length > 0
    ? '×: online time, online bytes, online rounds and total time divided by merged\'s (< 1 is cheaper).'
    : 'no merged scheme in this report: no ratios.';
  return [...head, ...table, '', foot].join('\n');
}

export const reportCommand = defineCommand({
  name: 'report',
  summary: 'print the summary of a benchmark report (a ppnn bench --out DIR, or a report.json)',
  options: { json: { ...JSON_OPTION, description: 'print the validated report as JSON instead of the summary' } },
  positionals: {
    name: 'DIR|report.json', min: 1, max: 1,
    description: 'a `ppnn bench --out` directory or a report.json (also a single `ppnn infer --json` output)',
  },
  async run({ values: o, positionals }, io) {
    const report = readReport(positionals[0]!);
    io.out(o.json ? JSON.stringify(report) : formatBenchSummary(report));
    return 0;
  },
});
