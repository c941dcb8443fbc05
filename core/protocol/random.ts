/**
 * Mask randomness. Production masks come from the OS CSPRNG (crypto.getRandomValues);
 * a seeded source exists only so tests and benchmarks can replay a run exactly, and is
 * marked insecure in every report that uses it.
 */
import { randomFillSync } from 'node:crypto';

export interface MaskSource {
  readonly secure: boolean;
  /** n values uniform in [−range, range] (53-bit resolution) */
  uniform(n: number, range: number): Float64Array;
}

function fromWords(words: Uint32Array, n: number, range: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    // 53 random bits → [0, 1)
    const u = ((words[2 * i]! >>> 5) * 67108864 + (words[2 * i + 1]! >>> 6)) / 9007199254740992;
    out[i] = (2 * u - 1) * range;
  }
  return out;
}

export const cryptoMasks: MaskSource = {
  secure: true,
  uniform(n, range) {
    const words = new Uint32Array(2 * n);
    // getRandomValues caps at 64 KiB per call; randomFillSync has no cap
    randomFillSync(words);
    return fromWords(words, n, range);
  },
};

/** Deterministic source (xorshift128+). NOT for real use: tests and replayable benches only. */
export function seededMasks(seed: number): MaskSource {
  let s0 = (seed ^ 0x9e3779b9) >>> 0 || 1, s1 = (seed * 2654435761) >>> 0 || 2, s2 = 0x243f6a88, s3 = 0x85a308d3;
  const next = (): number => {
    const t = s0 ^ (s0 << 11);
    s0 = s1; s1 = s2; s2 = s3;
    s3 = (s3 ^ (s3 >>> 19) ^ t ^ (t >>> 8)) >>> 0;
    return s3;
  };
  return {
    secure: false,
    uniform(n, range) {
      const words = new Uint32Array(2 * n);
      for (let i = 0; i < words.length; i++) words[i] = next();
      return fromWords(words, n, range);
    },
  };
}
