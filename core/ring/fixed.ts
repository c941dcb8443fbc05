/**
 * Fixed-point numbers in Z_p: x is represented by round(x·2^f) mod p with a PUBLIC scale
 * 2^f, negative values as p − |·|. Products double the scale; the protocols bring it
 * back with an exact truncation (core/ring/truncate.ts). The largest magnitude a layer
 * may hold without wrap-around is (p − 1)/2 at its scale: `maxWithoutWrap`.
 */
import { PpnnError } from '../errors.ts';
import { P, P_HALF, reduce } from './field.ts';

/** Encode reals at scale 2^f. Throws RangeError when a value would wrap (|x·2^f| > (p−1)/2). */
export function encodeFixed(
  x: ArrayLike<number>,
  f: number,
  out: Float64Array = new Float64Array(x.length),
): Float64Array {
  const s = 2 ** f;
  for (let i = 0; i < x.length; i++) {
    const v = Math.round(x[i]! * s);
    if (!(Math.abs(v) <= P_HALF)) throw new RangeError(`encodeFixed: ${x[i]} at scale 2^${f} wraps around p`);
    out[i] = v < 0 ? v + P : v;
  }
  return out;
}

/** Decode ring elements at scale 2^f to reals (signed view). */
export function decodeFixed(
  v: ArrayLike<number>,
  f: number,
  out: Float64Array = new Float64Array(v.length),
): Float64Array {
  const s = 2 ** -f;
  for (let i = 0; i < v.length; i++) {
    const a = v[i]!;
    out[i] = (a > P_HALF ? a - P : a) * s;
  }
  return out;
}

/** Integer value as a ring element (any integer |n| < 2^53). */
export function ringOf(n: number): number {
  if (!Number.isInteger(n)) throw new PpnnError('INTERNAL', `ringOf: ${n} is not an integer`);
  return reduce(n);
}

/** Largest |x| a value at scale 2^f may hold before wrapping around p. */
export function maxWithoutWrap(f: number): number {
  return P_HALF / 2 ** f;
}
