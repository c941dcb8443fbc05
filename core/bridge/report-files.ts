/**
 * Report files of the UI: the same report.json / report.csv / report.html that
 * `ppnn bench` writes (core/report/writers.ts), built from the reports the user picked —
 * runs of this session and imported files — and read back through core/report/read.ts.
 */
import { PpnnError } from '../errors.ts';
import { assembleReport } from '../report/assemble.ts';
import { parseReport } from '../report/read.ts';
import type { BenchReport, InferenceReport } from '../report/types.ts';
import { reportToCsv, reportToHtml, reportToJson } from '../report/writers.ts';
import { machineInfo, softwareVersions } from '../runtime/machine.ts';

/**
 * One BenchReport holding `reports` as its runs, each labelled (scheme · where · images),
 * ratios against `baseline` (a label or scheme; default the first merged run). Machine
 * and versions are this machine's: the client side of every run happened here (a remote
 * run's server is named by its label). Throws ARGUMENT_INVALID when empty or when the
 * baseline names none of the runs.
 */
export function benchReportOf(
  reports: readonly InferenceReport[],
  createdAt = new Date().toISOString(),
  baseline?: string,
): BenchReport {
  if (reports.length === 0)
    throw new PpnnError('ARGUMENT_INVALID', 'nothing to export: run a session or import a report first');
  try {
    return assembleReport(reports, {
      createdAt,
      command: 'PPNN Studio export',
      machine: machineInfo(),
      versions: softwareVersions(),
      ...(baseline !== undefined ? { baseline } : {}),
    });
  } catch (e) {
    if (e instanceof RangeError) throw new PpnnError('ARGUMENT_INVALID', e.message);
    throw e;
  }
}

export const reportsToJSON = (reports: readonly InferenceReport[]): string => reportToJson(benchReportOf(reports));
export const reportsToCSV = (reports: readonly InferenceReport[]): string => reportToCsv(benchReportOf(reports));
export const reportsToHTML = (reports: readonly InferenceReport[]): string => reportToHtml(benchReportOf(reports));

/** The inference reports of a report.json (bench or single infer report). Throws REPORT_INVALID. */
export function reportsFromJSON(text: string, fileName = 'report.json'): InferenceReport[] {
  return parseReport(text, fileName).schemes;
}
