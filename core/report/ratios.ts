import type { InferenceReport, SchemeId, SchemeRatios, StageMetrics } from './types.ts';

/**
 * Ratios of every scheme's cost figures to the `merged` scheme's — the paper's own
 * comparison ("≈ 48 % lower online time than non-merged" is `1 − 1/unmerged.onlineMs`).
 * Kept apart from the writers so the bench, the reader and the UI compute them one way.
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

/**
 * Each scheme's figures divided by `merged`'s: online wall time, online bytes (both
 * directions), online rounds, preprocessing wall time and bytes, and total wall time
 * (sum of the three stages). Returns an empty object when no `merged` scheme is present;
 * `merged` itself maps to all ones. Throws TypeError when `schemes` is not an array.
 */
export function computeRatios(schemes: readonly InferenceReport[]): Partial<Record<SchemeId, SchemeRatios>> {
  if (!Array.isArray(schemes as unknown)) throw new TypeError('computeRatios: schemes must be an array of InferenceReport');
  const merged = schemes.find((r) => r.scheme === 'merged');
  if (!merged) return {};
  const totalMs = (r: InferenceReport): number => r.stages.merging.wallMs + r.stages.preprocessing.wallMs + r.stages.online.wallMs;
  const ratios: Partial<Record<SchemeId, SchemeRatios>> = {};
  for (const r of schemes) {
    ratios[r.scheme] = {
      onlineMs: ratioOf(r.stages.online.wallMs, merged.stages.online.wallMs),
      onlineBytes: ratioOf(bytesBothWays(r.stages.online), bytesBothWays(merged.stages.online)),
      onlineRounds: ratioOf(r.stages.online.rounds, merged.stages.online.rounds),
      preprocessingMs: ratioOf(r.stages.preprocessing.wallMs, merged.stages.preprocessing.wallMs),
      preprocessingBytes: ratioOf(bytesBothWays(r.stages.preprocessing), bytesBothWays(merged.stages.preprocessing)),
      totalMs: ratioOf(totalMs(r), totalMs(merged)),
    };
  }
  return ratios;
}
