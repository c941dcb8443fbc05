/**
 * One way to put runs into a BenchReport, for the bench, the app's export and the reader
 * (single inference reports, v1 files): label the runs, pick the baseline, compute the
 * ratios, and say when image counts, models or datasets differ instead of hiding it.
 */
import { chooseBaseline, computeRatios, labelReports } from './ratios.ts';
import type { BenchReport, BenchRun, InferenceReport } from './types.ts';

/** What a machine record says when the run's machine is not known (e.g. a lone `infer --json`). */
export const UNKNOWN_MACHINE: BenchReport['machine'] = {
  platform: 'unknown',
  arch: 'unknown',
  cpus: 0,
  cpuModel: 'unknown',
  memoryBytes: 0,
  node: 'unknown',
};

export interface AssembleOptions {
  createdAt: string;
  command: string;
  machine?: BenchReport['machine'];
  versions?: Record<string, string>;
  repeat?: number;
  /** the bench seed; default: the runs' common seed, or -1 when they differ */
  seed?: number;
  runs?: readonly BenchRun[];
  /** a label or scheme name (see `chooseBaseline`); default the first merged run */
  baseline?: string;
}

/** `value` when every run has the same, else 'mixed'. */
function common(reports: readonly InferenceReport[], key: 'model' | 'dataset'): string {
  const first = reports[0]![key];
  return reports.every((r) => r[key] === first) ? first : 'mixed';
}

/**
 * The BenchReport (version 2) holding `reports` as its entries, labelled and with ratios
 * against one baseline. Throws RangeError for no reports or a baseline matching none.
 */
export function assembleReport(reports: readonly InferenceReport[], o: AssembleOptions): BenchReport {
  if (reports.length === 0) throw new RangeError('assembleReport: no runs');
  const schemes = labelReports(reports);
  const baseline = chooseBaseline(schemes, o.baseline)!;
  const counts = new Set(schemes.map((r) => r.images));
  const seeds = new Set(schemes.map((r) => r.seed));
  return {
    format: 'ppnn-bench-report',
    version: 2,
    createdAt: o.createdAt,
    command: o.command,
    model: common(schemes, 'model'),
    dataset: common(schemes, 'dataset'),
    images: Math.max(...counts),
    ...(counts.size > 1 ? { mixedImages: true } : {}),
    repeat: o.repeat ?? 1,
    seed: o.seed ?? (seeds.size === 1 ? schemes[0]!.seed : -1),
    machine: o.machine ?? UNKNOWN_MACHINE,
    versions: o.versions ?? {},
    schemes,
    runs: o.runs ? [...o.runs] : [],
    baseline,
    ratios: computeRatios(schemes, baseline),
  };
}
