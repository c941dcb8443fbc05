import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { reportToHtml } from './html.ts';
import { stageOf } from './html-tables.ts';
import { STAGE_NUMBERS } from './types.ts';
import type { BenchReport, ReportStageName } from './types.ts';
import { OP_NAMES } from './he-ops.ts';

/**
 * The three files `ppnn bench --out DIR` leaves behind: report.json (the whole
 * BenchReport, what `readReport` and the UI import), report.csv (one row per
 * scheme × stage, for spreadsheets) and report.html (see html.ts).
 */

export { reportToHtml } from './html.ts';

const STAGES: readonly ReportStageName[] = ['merging', 'setup', 'preprocessing', 'online'];

/** The report.csv header, in column order. */
export const CSV_COLUMNS: readonly string[] = [
  'label',
  'scheme',
  'stage',
  'model',
  'dataset',
  'images',
  ...STAGE_NUMBERS,
  'peakRssBytes',
  'accuracy',
  'plaintextAccuracy',
  'agreement',
  'maxLogitError',
  ...OP_NAMES.map((op) => `he_${op}`),
  'coldMs',
  'warmMs',
];

/** RFC 4180 cell: quoted when it holds a comma, quote, CR or LF; quotes doubled. */
export function csvCell(value: unknown): string {
  const s = value === undefined || value === null ? '' : String(value);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * report.csv text: a header (`CSV_COLUMNS`) and one row per run × stage (merging, setup
 * when recorded, preprocessing, online), CRLF-terminated per RFC 4180 — the same
 * whole-run figures as report.html's stage table. Run-level figures (accuracy…)
 * repeat on each of a scheme's rows so any row stands alone in a pivot table; HE op
 * counts are filled on the rows whose stage ran HE (preprocessing; online for gazelle).
 */
export function reportToCsv(report: BenchReport): string {
  if (typeof report !== 'object' || report === null || !Array.isArray(report.schemes))
    throw new TypeError('reportToCsv: report must be a BenchReport with a schemes array');
  const lines = [CSV_COLUMNS.join(',')];
  for (const r of report.schemes) {
    for (const stage of STAGES) {
      const s = stageOf(r, stage);
      if (!s) continue;
      const cells: unknown[] = [
        r.label ?? r.scheme,
        r.scheme,
        stage,
        r.model,
        r.dataset,
        r.images,
        s.wallMs,
        s.clientMs,
        s.serverMs,
        s.bytesClientToServer,
        s.bytesServerToClient,
        s.messages,
        s.rounds,
        s.peakRssBytes,
        r.accuracy,
        // n/a: the run had no plaintext reference (a remote run without one)
        r.plaintextAccuracy ?? 'n/a',
        r.agreement ?? 'n/a',
        r.maxLogitError ?? 'n/a',
        ...OP_NAMES.map((op) => s.he?.[op]),
        r.latency?.coldMs,
        r.latency?.warmMs,
      ];
      lines.push(cells.map(csvCell).join(','));
    }
  }
  return `${lines.join('\r\n')}\r\n`;
}

/** report.json text: the BenchReport pretty-printed (ratios of x/0 = Infinity become null). */
export function reportToJson(report: BenchReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

/**
 * Write report.json, report.csv and report.html into `dir` (created if missing) and
 * return their paths. Throws TypeError on a bad `dir`/`report`, and the fs error
 * (EACCES, ENOSPC…) when the directory cannot be written.
 */
export function writeReport(dir: string, report: BenchReport): { json: string; csv: string; html: string } {
  if (typeof dir !== 'string' || dir === '') throw new TypeError('writeReport: dir must be a directory path');
  // Render everything first so a failure leaves no half-written set of files behind.
  const texts = { json: reportToJson(report), csv: reportToCsv(report), html: reportToHtml(report) };
  mkdirSync(dir, { recursive: true });
  const paths = { json: join(dir, 'report.json'), csv: join(dir, 'report.csv'), html: join(dir, 'report.html') };
  writeFileSync(paths.json, texts.json);
  writeFileSync(paths.csv, texts.csv);
  writeFileSync(paths.html, texts.html);
  return paths;
}
