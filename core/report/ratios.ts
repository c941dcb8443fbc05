import { median } from './median.ts';
import type { InferenceReport, SchemeRatios, Spread, StageMetrics } from './types.ts';

export { median } from './median.ts';

/**
 * Labels, baseline and ratios of a report — the paper's own comparison ("≈ 48 % lower
 * online time than non-merged" is `1 − 1/unmerged.onlineMs`). Kept apart from the
 * writers so the bench, the reader, the app export and the UI compute them one way.
 *
 * Runs are told apart by a label (scheme · where · images), never by scheme alone: a
 * report may hold two `merged` runs (say 10 local images and 5 remote ones), and each
 * must keep its own row. Every ratio divides by ONE explicit baseline run, and compares
 * per-image figures, so runs of different image counts stay comparable.
 */

function bytesBothWays(s: StageMetrics): number {
  return s.bytesClientToServer + s.bytesServerToClient;
}

/**
 * `value / reference`, with the two degenerate cases made explicit: 0/0 is 1 (both free,
 * "same cost"), x/0 is +Infinity (JSON carries it as null; `parseReport` reads it back).
 */
export function ratioOf(value: number, reference: number): number {
  if (reference === 0) return value === 0 ? 1 : Number.POSITIVE_INFINITY;
  return value / reference;
}

/** min / median / max of `values`. Throws RangeError when empty. */
export function spreadOf(values: readonly number[]): Spread {
  if (values.length === 0) throw new RangeError('spreadOf: no values');
  return { min: Math.min(...values), median: median(values), max: Math.max(...values) };
}

/** Where a run ran: 'local' or the server's host:port. */
export function whereOf(r: Pick<InferenceReport, 'server'>): string {
  if (!r.server) return 'local';
  try {
    return new URL(r.server).host || r.server;
  } catch {
    return r.server;
  }
}

/** The label a run would get alone: "merged · local · 10 images". */
export function baseLabel(r: Pick<InferenceReport, 'scheme' | 'server' | 'images'>): string {
  return `${r.scheme} · ${whereOf(r)} · ${r.images} image${r.images === 1 ? '' : 's'}`;
}

/**
 * The reports with a `label` each, unique within the list: an existing unique label is
 * kept, otherwise `baseLabel`, with " #2", " #3"… on repeats. Returns new objects.
 */
export function labelReports<T extends InferenceReport>(reports: readonly T[]): T[] {
  const used = new Set<string>();
  return reports.map((r) => {
    const base = r.label ?? baseLabel(r);
    let label = base;
    for (let k = 2; used.has(label); k++) label = `${base} #${k}`;
    used.add(label);
    return { ...r, label };
  });
}

/**
 * Per-image figures a ratio compares, one per SchemeRatios field: medians (over repeats when
 * present), online rounds divided by images, and totalMs = the one-offs (merging, setup)
 * spread over the images plus the preprocessing and online medians.
 */
export type PerImageCost = Record<keyof SchemeRatios, number>;

/** The SchemeRatios fields, in report order (the reader checks each, computeRatios fills each). */
export const RATIO_FIELDS: readonly (keyof SchemeRatios)[] = [
  'onlineMs',
  'onlineBytes',
  'onlineRounds',
  'preprocessingMs',
  'preprocessingBytes',
  'totalMs',
];

/** One-off cost of a run in ms: merging plus key setup, paid once however many images. */
export function oneOffMs(r: InferenceReport): number {
  return r.stages.merging.wallMs + (r.stages.setup?.wallMs ?? 0);
}

/** Total per image: the one-offs spread over the images plus the per-image medians. */
export function totalPerImageMs(r: InferenceReport): number {
  return oneOffMs(r) / Math.max(1, r.images) + r.perImage.preprocessingMs + r.perImage.onlineMs;
}

/** The per-image figures of `r` that `computeRatios` divides (repeat medians where recorded). */
export function perImageCost(r: InferenceReport): PerImageCost {
  const images = Math.max(1, r.images);
  return {
    onlineMs: r.repeats?.onlineMs.median ?? r.perImage.onlineMs,
    onlineBytes: r.perImage.onlineBytes,
    onlineRounds: r.stages.online.rounds / images,
    preprocessingMs: r.repeats?.preprocessingMs.median ?? r.perImage.preprocessingMs,
    preprocessingBytes: r.perImage.preprocessingBytes,
    totalMs: r.repeats?.totalMs.median ?? totalPerImageMs(r),
  };
}

/**
 * The baseline's label: `wanted` when given (a label, or a scheme name meaning that
 * scheme's first run), else the first `merged` run, else the first run. Returns
 * undefined for no reports; throws RangeError naming the labels when `wanted` matches none.
 */
export function chooseBaseline(reports: readonly InferenceReport[], wanted?: string): string | undefined {
  const labelled = reports.every((r) => r.label !== undefined) ? reports : labelReports(reports);
  if (wanted !== undefined) {
    const hit = labelled.find((r) => r.label === wanted) ?? labelled.find((r) => r.scheme === wanted);
    if (!hit)
      throw new RangeError(
        `baseline '${wanted}' is none of the runs: ${labelled.map((r) => `'${r.label}'`).join(', ')}`,
      );
    return hit.label;
  }
  return (labelled.find((r) => r.scheme === 'merged') ?? labelled[0])?.label;
}

/**
 * Each labelled report's per-image figures divided by the baseline's (see `perImageCost`).
 * `baseline` is a label of `reports`; the baseline maps to all ones. Returns {} for no
 * reports. Throws TypeError when `reports` is not an array or lacks labels, RangeError
 * when `baseline` is not one of the labels.
 */
export function computeRatios(
  reports: readonly InferenceReport[],
  baseline: string | undefined,
): Record<string, SchemeRatios> {
  if (!Array.isArray(reports as unknown))
    throw new TypeError('computeRatios: reports must be an array of InferenceReport');
  if (reports.length === 0 || baseline === undefined) return {};
  if (reports.some((r) => r.label === undefined))
    throw new TypeError('computeRatios: label the reports first (labelReports)');
  const base = reports.find((r) => r.label === baseline);
  if (!base) throw new RangeError(`computeRatios: baseline '${baseline}' is not one of the reports`);
  const b = perImageCost(base);
  const ratios: Record<string, SchemeRatios> = {};
  for (const r of reports) {
    const c = perImageCost(r);
    const q = {} as SchemeRatios;
    for (const k of RATIO_FIELDS) q[k] = ratioOf(c[k], b[k]);
    ratios[r.label!] = q;
  }
  return ratios;
}

/** Both-way bytes of a stage (client→server plus server→client). */
export { bytesBothWays };
