/**
 * Uniform float masks: 53 random bits per value, u ∈ [0, 1) mapped to [−range, range).
 * The one sampler of the float family: the server's s, a, t (here, from the OS CSPRNG)
 * and the client's r (core/protocol/random.ts, which can also feed it seeded words).
 */
import { randomFillSync } from 'node:crypto';

/** Values [from, from + n) of `out` from pairs of 32-bit words: 27 + 26 bits → a 53-bit uniform double. */
export function wordsToUniform(words: Uint32Array, out: Float64Array, from: number, n: number, range: number): void {
  for (let i = 0; i < n; i++) {
    const u = ((words[2 * i]! >>> 5) * 67108864 + (words[2 * i + 1]! >>> 6)) / 9007199254740992;
    out[from + i] = (2 * u - 1) * range;
  }
}

/** `n` values uniform in [−range, range) from `fill` (default: the OS CSPRNG), in chunks of 32 Ki values. */
export function uniformMask(
  n: number,
  range: number,
  fill: (words: Uint32Array) => void = randomFillSync,
): Float64Array {
  const out = new Float64Array(n);
  const words = new Uint32Array(2 * Math.min(n, 1 << 15));
  for (let done = 0; done < n;) {
    const chunk = Math.min(n - done, words.length / 2);
    fill(words);
    wordsToUniform(words, out, done, chunk, range);
    done += chunk;
  }
  return out;
}
