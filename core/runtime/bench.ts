/**
 * Side-by-side benchmark of schemes: the same model, the same images, one process, runs
 * alternating between schemes (scheme order rotates every repeat) so that machine noise
 * spreads over all of them instead of favouring whichever ran first.
 */
import { arch, cpus, platform, totalmem } from 'node:os';
import { readFileSync } from 'node:fs';
import { PpnnError } from '../errors.ts';
import { median } from '../report/median.ts';
import { computeRatios } from '../report/ratios.ts';
import type { BenchReport, InferenceReport, ProgressEvent, SchemeId } from '../report/types.ts';
import { schemeById } from '../schemes/index.ts';
import type { RunRequest } from './api.ts';
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
}

/** Every scheme runs through runSession (cryptonets in its own worker, the others as two roles). */
async function runScheme(scheme: SchemeId, o: BenchOptions, onEvent: (ev: ProgressEvent) => void, signal?: AbortSignal): Promise<InferenceReport> {
  const req: RunRequest = {
    model: o.model, dataset: o.dataset, limit: o.limit, scheme, seed: o.seed,
    ...(o.inputBits !== undefined ? { inputBits: o.inputBits } : {}), ...(o.shareBits !== undefined ? { shareBits: o.shareBits } : {}),
  };
  return runSession(req, { onEvent, ...(signal ? { signal } : {}) });
}


/** The run with the median online time stands for its scheme (its figures stay self-consistent). */
function representative(runs: InferenceReport[]): InferenceReport {
  const target = median(runs.map((r) => r.stages.online.wallMs));
  return runs.reduce((best, r) => (Math.abs(r.stages.online.wallMs - target) < Math.abs(best.stages.online.wallMs - target) ? r : best));
}

function versions(): Record<string, string> {
  const v: Record<string, string> = { node: process.version };
  for (const pkg of ['node-seal', 'ws', 'piscina']) {
    try {
      v[pkg] = (JSON.parse(readFileSync(new URL(`../../node_modules/${pkg}/package.json`, import.meta.url), 'utf8')) as { version: string }).version;
    } catch { /* not installed where expected: leave it out */ }
  }
  try {
    v['ppnn-studio'] = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch { /* ignore */ }
  return v;
}

/** Run the bench. Throws ARGUMENT_INVALID for unknown schemes; scheme failures propagate with their codes. */
export async function runBench(o: BenchOptions, handlers: { onEvent?: (scheme: SchemeId, repeat: number, ev: ProgressEvent) => void; signal?: AbortSignal } = {}): Promise<BenchReport> {
  for (const s of o.schemes) schemeById(s);
  if (o.schemes.length === 0) throw new PpnnError('ARGUMENT_INVALID', 'no scheme to run');
  const byScheme = new Map<SchemeId, InferenceReport[]>();
  const runs: BenchReport['runs'] = [];
  for (let k = 0; k < o.repeat; k++) {
    const order = o.schemes.map((_, i) => o.schemes[(i + k) % o.schemes.length]!);
    for (const scheme of order) {
      const t0 = performance.now();
      const r = await runScheme(scheme, o, (ev) => handlers.onEvent?.(scheme, k, ev), handlers.signal);
      runs.push({ scheme, repeat: k, onlineMs: r.stages.online.wallMs, preprocessingMs: r.stages.preprocessing.wallMs, wallMs: performance.now() - t0 });
      byScheme.set(scheme, [...(byScheme.get(scheme) ?? []), r]);
    }
  }
  const schemes = o.schemes.map((s) => representative(byScheme.get(s)!));
  const first = schemes[0]!;
  return {
    format: 'ppnn-bench-report',
    version: 1,
    createdAt: new Date().toISOString(),
    command: o.command,
    model: first.model,
    dataset: first.dataset,
    images: first.images,
    repeat: o.repeat,
    seed: o.seed,
    machine: { platform: platform(), arch: arch(), cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryBytes: totalmem(), node: process.version },
    versions: versions(),
    schemes,
    runs,
    ratios: computeRatios(schemes),
  };
}
