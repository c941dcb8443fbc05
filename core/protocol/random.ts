/**
 * Mask randomness. Production masks come from the OS CSPRNG (crypto.randomFillSync); a
 * seeded source exists only so tests and benchmarks can replay a run exactly, and is
 * marked insecure in every report that uses it. Both map words to values through the one
 * sampler, core/he/masks.ts.
 */
import { uniformMask } from '../he/masks.ts';

export interface MaskSource {
  readonly secure: boolean;
  /** n values uniform in [−range, range] (53-bit resolution) */
  uniform(n: number, range: number): Float64Array;
}

export const cryptoMasks: MaskSource = {
  secure: true,
  uniform: (n, range) => uniformMask(n, range),
};

/** Deterministic source (Marsaglia's xorshift128). NOT for real use: tests and replayable benches only. */
export function seededMasks(seed: number): MaskSource {
  let s0 = (seed ^ 0x9e3779b9) >>> 0 || 1,
    s1 = (seed * 2654435761) >>> 0 || 2,
    s2 = 0x243f6a88,
    s3 = 0x85a308d3;
  const next = (): number => {
    const t = s0 ^ (s0 << 11);
    s0 = s1;
    s1 = s2;
    s2 = s3;
    s3 = (s3 ^ (s3 >>> 19) ^ t ^ (t >>> 8)) >>> 0;
    return s3;
  };
  const fill = (words: Uint32Array): void => {
    for (let i = 0; i < words.length; i++) words[i] = next();
  };
  return { secure: false, uniform: (n, range) => uniformMask(n, range, fill) };
}
