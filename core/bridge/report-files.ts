/**
 * Report files of the UI: the same report.json / report.csv / report.html that
 * `ppnn bench` writes (core/report/writers.ts), built from the reports the user picked —
 * runs of this session and imported files — and read back through core/report/read.ts.
 */
import { PpnnError } from '../errors.ts';
import { benchReportFromInference, parseReport } from '../report/read.ts';
import { computeRatios } from '../report/ratios.ts';
import type { BenchReport, InferenceReport } from '../report/types.ts';
import { reportToCsv, reportToHtml, reportToJson } from '../report/writers.ts';

/**
 * One BenchReport holding `reports` as its schemes. Machine and versions stay 'unknown'
 * (a remote run's server is not this machine). Throws ARGUMENT_INVALID when empty.
 */
export function benchReportOf(reports: readonly InferenceReport[], createdAt = new Date().toISOString()): BenchReport {
  const first = reports[0];
  if (!first) throw new PpnnError('ARGUMENT_INVALID', 'nothing to export: run a session or import a report first');
  const base = benchReportFromInference(first, createdAt);
  const same = <K extends 'model' | 'dataset' | 'images'>(k: K): InferenceReport[K] | 'mixed' => (reports.every((r) => r[k] === first[k]) ? first[k] : 'mixed');
  return {
    ...base,
    command: 'PPNN Studio export',
    model: String(same('model')),
    dataset: String(same('dataset')),
    images: Math.max(...reports.map((r) => r.images)),
    schemes: [...reports],
    ratios: computeRatios(reports),
  };
}

export const reportsToJSON = (reports: readonly InferenceReport[]): string => reportToJson(benchReportOf(reports));
export const reportsToCSV = (reports: readonly InferenceReport[]): string => reportToCsv(benchReportOf(reports));
export const reportsToHTML = (reports: readonly InferenceReport[]): string => reportToHtml(benchReportOf(reports));

/** The inference reports of a report.json (bench or single infer report). Throws REPORT_INVALID. */
export function reportsFromJSON(text: string, fileName = 'report.json'): InferenceReport[] {
  return parseReport(text, fileName).schemes;
}
