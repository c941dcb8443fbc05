/**
 * Cryptographically random uniform masks (node:crypto): the server's s, a, t.
 * 53-bit uniform doubles u ∈ [0, 1) mapped to [−range, range).
 */
import { randomFillSync } from 'node:crypto';

/** `n` values uniform in [−range, range), from the OS CSPRNG. */
export function uniformMask(n: number, range: number): Float64Array {
  const out = new Float64Array(n);
  const words = new Uint32Array(2 * Math.min(n, 1 << 15));
  for (let done = 0; done < n;) {
    const chunk = Math.min(n - done, words.length / 2);
    randomFillSync(words);
    for (let i = 0; i < chunk; i++) {
      const u = ((words[2 * i]! >>> 5) * 67108864 + (words[2 * i + 1]! >>> 6)) / 9007199254740992;
      out[done + i] = (2 * u - 1) * range;
    }
    done += chunk;
  }
  return out;
}
