/**
 * Side-by-side benchmark of schemes: the same model, the same images, one process, runs
 * alternating between schemes (scheme order rotates every repeat) so that machine noise
 * spreads over all of them instead of favouring whichever ran first. After every run the
 * handlers get the report so far, so an interrupted bench still leaves what finished.
 */
import { PpnnError } from '../errors.ts';
import { assembleReport } from '../report/assemble.ts';
import { spreadOf, totalPerImageMs } from '../report/ratios.ts';
import type { BenchReport, BenchRun, InferenceReport, ProgressEvent, SchemeId } from '../report/types.ts';
import { schemeById } from '../schemes/index.ts';
import type { RunRequest } from './api.ts';
import { machineInfo, softwareVersions } from './machine.ts';
import { runSession } from './session.ts';

export interface BenchOptions {
  model: string;
  dataset: string;
  limit: number;
  schemes: SchemeId[];
  repeat: number;
  seed: number;
  command: string;
  inputBits?: number;
  shareBits?: number;
  /** every run keeps material for this many images ready (warm latency in the reports) */
  prefetch?: number;
  /** the run all ratios divide by: a label or a scheme name; default the first merged run */
  baseline?: string;
}

/** Where a bench is: which run of how many. */
export interface BenchRunInfo {
  scheme: SchemeId;
  repeat: number;
  /** 0-based position of the run in the whole bench */
  index: number;
  total: number;
}

export interface BenchHandlers {
  onEvent?: (scheme: SchemeId, repeat: number, ev: ProgressEvent) => void;
  onRunStart?: (run: BenchRunInfo) => void;
  /** after each run: that run's report, and the bench report of every run finished so far */
  onRunEnd?: (run: BenchRunInfo & { report: InferenceReport; wallMs: number }, sofar: BenchReport) => void;
  signal?: AbortSignal;
}

/** Every scheme runs through runSession (cryptonets in its own worker, the others as two roles). */
async function runScheme(
  scheme: SchemeId,
  o: BenchOptions,
  onEvent: (ev: ProgressEvent) => void,
  signal?: AbortSignal,
): Promise<InferenceReport> {
  const req: RunRequest = {
    model: o.model,
    dataset: o.dataset,
    limit: o.limit,
    scheme,
    seed: o.seed,
    ...(o.inputBits !== undefined ? { inputBits: o.inputBits } : {}),
    ...(o.shareBits !== undefined ? { shareBits: o.shareBits } : {}),
    ...(o.prefetch ? { prefetch: o.prefetch } : {}),
  };
  return runSession(req, { onEvent, ...(signal ? { signal } : {}) });
}

/** The run with the median per-image online time stands for its scheme (its figures stay self-consistent). */
function representative(runs: InferenceReport[]): InferenceReport {
  const target = spreadOf(runs.map((r) => r.perImage.onlineMs)).median;
  const dist = (r: InferenceReport): number => Math.abs(r.perImage.onlineMs - target);
  return runs.reduce((best, r) => (dist(r) < dist(best) ? r : best));
}

/** One entry per scheme that has finished runs: the representative run, with the spread when repeated. */
function entryOf(runs: InferenceReport[]): InferenceReport {
  const rep = representative(runs);
  if (runs.length < 2) return rep;
  return {
    ...rep,
    repeats: {
      runs: runs.length,
      onlineMs: spreadOf(runs.map((r) => r.perImage.onlineMs)),
      preprocessingMs: spreadOf(runs.map((r) => r.perImage.preprocessingMs)),
      totalMs: spreadOf(runs.map(totalPerImageMs)),
    },
  };
}

/** The bench report of the runs so far (schemes in the order asked for). */
function reportSoFar(
  o: BenchOptions,
  byScheme: Map<SchemeId, InferenceReport[]>,
  runs: BenchRun[],
  createdAt: string,
): BenchReport {
  const entries = o.schemes.filter((s) => byScheme.has(s)).map((s) => entryOf(byScheme.get(s)!));
  const wanted =
    o.baseline !== undefined && entries.some((e) => o.baseline === e.scheme || o.baseline!.startsWith(`${e.scheme} · `))
      ? o.baseline
      : undefined;
  try {
    const report = assembleReport(entries, {
      createdAt,
      command: o.command,
      machine: machineInfo(),
      versions: softwareVersions(),
      repeat: o.repeat,
      seed: o.seed,
      runs,
      ...(wanted !== undefined ? { baseline: wanted } : {}),
    });
    // runs carry the label of the entry they belong to (one entry per scheme in a bench)
    const label = new Map(report.schemes.map((e) => [e.scheme, e.label!]));
    return { ...report, runs: runs.map((r) => ({ ...r, label: label.get(r.scheme)! })) };
  } catch (e) {
    if (e instanceof RangeError) throw new PpnnError('ARGUMENT_INVALID', `--baseline: ${e.message}`);
    throw e;
  }
}

/**
 * Run the bench and return its report. Throws ARGUMENT_INVALID for unknown schemes or a
 * baseline naming none of them; scheme failures (and CANCELLED) propagate with their codes.
 */
export async function runBench(o: BenchOptions, handlers: BenchHandlers = {}): Promise<BenchReport> {
  for (const s of o.schemes) schemeById(s);
  if (o.schemes.length === 0) throw new PpnnError('ARGUMENT_INVALID', 'no scheme to run');
  const b = o.baseline;
  if (b !== undefined && !o.schemes.some((s) => b === s || b.startsWith(`${s} · `))) {
    throw new PpnnError(
      'ARGUMENT_INVALID',
      `--baseline '${b}' names none of the schemes run (${o.schemes.join(', ')}): give a scheme or a run label`,
    );
  }
  const createdAt = new Date().toISOString();
  const byScheme = new Map<SchemeId, InferenceReport[]>();
  const runs: BenchRun[] = [];
  const total = o.repeat * o.schemes.length;
  let sofar: BenchReport | undefined;
  for (let k = 0; k < o.repeat; k++) {
    const order = o.schemes.map((_, i) => o.schemes[(i + k) % o.schemes.length]!);
    for (const scheme of order) {
      const info: BenchRunInfo = { scheme, repeat: k, index: runs.length, total };
      handlers.onRunStart?.(info);
      const t0 = performance.now();
      const r = await runScheme(scheme, o, (ev) => handlers.onEvent?.(scheme, k, ev), handlers.signal);
      const wallMs = performance.now() - t0;
      runs.push({
        scheme,
        repeat: k,
        onlineMs: r.stages.online.wallMs,
        preprocessingMs: r.stages.preprocessing.wallMs,
        wallMs,
        perImageOnlineMs: r.perImage.onlineMs,
        perImagePreprocessingMs: r.perImage.preprocessingMs,
        perImageTotalMs: totalPerImageMs(r),
      });
      byScheme.set(scheme, [...(byScheme.get(scheme) ?? []), r]);
      sofar = reportSoFar(o, byScheme, runs, createdAt);
      handlers.onRunEnd?.({ ...info, report: r, wallMs }, sofar);
    }
  }
  return sofar!;
}
