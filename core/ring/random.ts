/**
 * Uniform elements of Z_p. Production randomness comes from the OS CSPRNG
 * (`crypto.randomFillSync`), batched (one system call per 64 KiB of words); each element
 * takes 51 bits (19 from one 32-bit word, 32 from the next) and is rejected when ≥ p, so
 * the accepted value is exactly uniform on [0, p) — no modulo bias. p = 2^51 − 131071,
 * so a draw is rejected with probability 131071 / 2^51 ≈ 6·10^-11.
 *
 * A seeded source (xorshift128, NOT cryptographic) exists so tests can replay a run; every
 * report made with it says so (`secure: false`).
 */
import { randomFillSync } from 'node:crypto';
import { P } from './field.ts';

export interface RingRandom {
  readonly secure: boolean;
  /** n elements uniform in [0, p) */
  uniform(n: number): Float64Array;
  /** n bits (0 or 1) */
  bits(n: number): Float64Array;
}

const HI_MASK = (1 << 19) - 1;
const BATCH_WORDS = 1 << 14;

function fill(next: (words: Uint32Array) => void, n: number): Float64Array {
  const out = new Float64Array(n);
  const words = new Uint32Array(Math.min(BATCH_WORDS, 2 * n + 2));
  let at = words.length;
  for (let i = 0; i < n;) {
    if (at + 2 > words.length) {
      next(words);
      at = 0;
    }
    const v = (words[at]! & HI_MASK) * 4294967296 + words[at + 1]!;
    at += 2;
    if (v < P) out[i++] = v;
  }
  return out;
}

function bitsFrom(next: (words: Uint32Array) => void, n: number): Float64Array {
  const out = new Float64Array(n);
  const words = new Uint32Array(Math.ceil(n / 32));
  next(words);
  for (let i = 0; i < n; i++) out[i] = (words[i >>> 5]! >>> (i & 31)) & 1;
  return out;
}

/** The OS CSPRNG source. */
export const cryptoRing: RingRandom = {
  secure: true,
  uniform: (n) => fill((w) => randomFillSync(w), n),
  bits: (n) => bitsFrom((w) => randomFillSync(w), n),
};

/** Deterministic source (xorshift128). NOT for real use: tests and replayable runs only. */
export function seededRing(seed: number): RingRandom {
  let s0 = (seed ^ 0x9e3779b9) >>> 0 || 1,
    s1 = Math.imul(seed, 2654435761) >>> 0 || 2,
    s2 = 0x243f6a88,
    s3 = 0x85a308d3;
  const next = (w: Uint32Array): void => {
    for (let i = 0; i < w.length; i++) {
      const t = s0 ^ (s0 << 11);
      s0 = s1;
      s1 = s2;
      s2 = s3;
      s3 = (s3 ^ (s3 >>> 19) ^ t ^ (t >>> 8)) >>> 0;
      w[i] = s3;
    }
  };
  return { secure: false, uniform: (n) => fill(next, n), bits: (n) => bitsFrom(next, n) };
}
