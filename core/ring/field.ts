/**
 * Z_p arithmetic on float64: the ring every share, mask and correlated value of the
 * ring schemes (`merged-ring`, `delphi`) lives in.
 *
 * p = 2^51 − 131071 = 2251799813554177 is prime and p ≡ 1 (mod 2^16), so it is a BFV
 * batching modulus for every N ≤ 32768 (batching needs p ≡ 1 mod 2N), and p < 2^51, so an
 * element is an exact integer in a Float64Array (53-bit mantissa) and a sum of two
 * elements (< 2^52) is exact too — addition is one add and one compare.
 *
 * Multiplication a·b (up to 2^102) is exact by Dekker's product: split each factor into
 * two 26-bit halves (Veltkamp), so fl(a·b) = h and the rounding error l = a·b − h is
 * recovered exactly; the quotient q = ⌊h/p⌋ is off by at most 2, and a·b − q·p =
 * (h − h') + (l − l') is computed without rounding because every partial result is an
 * integer below 2^53 (|a·b − q·p| < 3p < 2^52.6). About 25 flops, no BigInt: measured
 * (test/ring/field.test.ts prints both; 58 vs 1,050 ns per product on this machine under load 10)
 * about 18× faster than BigInt `(a*b) % p`.
 *
 * Inner products with small weights (|w| < 2^21, the fixed-point weights of a layer) use
 * limb splitting instead: u = u_hi·2^26 + u_lo, both w·u_hi and w·u_lo stay below 2^47,
 * 64 of them add up below 2^53 exactly, and one reduction per 64 terms suffices
 * (`dotSmall`, used by the online linear layers: 2 multiply-adds per weight).
 */

/** The share modulus. */
export const P = 2251799813554177;
/** ⌈log2 p⌉: bits of one element on the wire. */
export const P_BITS = 51;
/** (p − 1) / 2: elements above it are negative in the signed view. */
export const P_HALF = (P - 1) / 2;
/** Weights used by `dotSmall` must satisfy |w| < 2^SMALL_WEIGHT_BITS. */
export const SMALL_WEIGHT_BITS = 21;

const SPLIT = 134217729; // 2^27 + 1 (Veltkamp)
const TWO26 = 67108864;
const LIMB_BLOCK = 64;

/** a + b mod p for a, b in [0, p). */
export function addMod(a: number, b: number): number {
  const s = a + b;
  return s >= P ? s - P : s;
}

/** a − b mod p for a, b in [0, p). */
export function subMod(a: number, b: number): number {
  const s = a - b;
  return s < 0 ? s + P : s;
}

/** −a mod p. */
export function negMod(a: number): number {
  return a === 0 ? 0 : P - a;
}

/** a·b mod p, exact, for a, b in [0, p) (Dekker product, see the module comment). */
export function mulMod(a: number, b: number): number {
  const h = a * b;
  let c = SPLIT * a;
  const a1 = c - (c - a),
    a0 = a - a1;
  c = SPLIT * b;
  const b1 = c - (c - b),
    b0 = b - b1;
  const l = a1 * b1 - h + a1 * b0 + a0 * b1 + a0 * b0;
  const q = Math.floor(h / P);
  const h2 = q * P;
  c = SPLIT * q;
  const q1 = c - (c - q),
    q0 = q - q1;
  // P's split, constant: P = P1 + P0
  const l2 = q1 * P1 - h2 + q1 * P0 + q0 * P1 + q0 * P0;
  let r = h - h2 + (l - l2);
  while (r < 0) r += P;
  while (r >= P) r -= P;
  return r;
}
const P1 = SPLIT * P - (SPLIT * P - P);
const P0 = P - P1;

/** x mod p for any integer-valued double |x| < 2^53 (result in [0, p)). */
export function reduce(x: number): number {
  const r = x % P;
  return r < 0 ? r + P : r;
}

/** Signed representative in (−p/2, p/2] of a in [0, p). */
export function toSigned(a: number): number {
  return a > P_HALF ? a - P : a;
}

/** a^e mod p (square and multiply). */
export function powMod(a: number, e: number): number {
  let r = 1,
    b = a,
    k = e;
  while (k > 0) {
    if (k % 2 === 1) r = mulMod(r, b);
    b = mulMod(b, b);
    k = Math.floor(k / 2);
  }
  return r;
}

/** a^{-1} mod p (Fermat). Throws RangeError for a ≡ 0. */
export function invMod(a: number): number {
  if (reduce(a) === 0) throw new RangeError('invMod: 0 has no inverse');
  return powMod(reduce(a), P - 2);
}

/** out[i] = a[i] + b[i] mod p (out may alias a or b). */
export function addVec(a: Float64Array, b: Float64Array, out: Float64Array = new Float64Array(a.length)): Float64Array {
  for (let i = 0; i < a.length; i++) {
    const s = a[i]! + b[i]!;
    out[i] = s >= P ? s - P : s;
  }
  return out;
}

/** out[i] = a[i] − b[i] mod p (out may alias a or b). */
export function subVec(a: Float64Array, b: Float64Array, out: Float64Array = new Float64Array(a.length)): Float64Array {
  for (let i = 0; i < a.length; i++) {
    const s = a[i]! - b[i]!;
    out[i] = s < 0 ? s + P : s;
  }
  return out;
}

/** out[i] = a[i]·b[i] mod p. */
export function mulVec(a: Float64Array, b: Float64Array, out: Float64Array = new Float64Array(a.length)): Float64Array {
  for (let i = 0; i < a.length; i++) out[i] = mulMod(a[i]!, b[i]!);
  return out;
}

/** out[i] = k·a[i] mod p for a constant k in [0, p). */
export function scaleVec(a: Float64Array, k: number, out: Float64Array = new Float64Array(a.length)): Float64Array {
  for (let i = 0; i < a.length; i++) out[i] = mulMod(a[i]!, k);
  return out;
}

/** True when every entry is an integer in [0, p). */
export function isRingVector(v: unknown, length?: number): v is Float64Array {
  if (!(v instanceof Float64Array) || (length !== undefined && v.length !== length)) return false;
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    if (!(x >= 0 && x < P) || !Number.isInteger(x)) return false;
  }
  return true;
}

/**
 * A sparse integer matrix in CSR form with small weights (|w| < 2^SMALL_WEIGHT_BITS): the
 * fixed-point form of one linear layer, applied mod p by `applySmall`.
 */
export interface SmallMatrix {
  readonly rows: number;
  readonly cols: number;
  /** rowStart[o] … rowStart[o+1] index `col` / `weight` */
  readonly rowStart: Int32Array;
  readonly col: Int32Array;
  /** signed integer weights */
  readonly weight: Float64Array;
}

/** y = M·x mod p for x in [0, p)^cols (limb splitting, exact). */
export function applySmall(
  m: SmallMatrix,
  x: Float64Array,
  out: Float64Array = new Float64Array(m.rows),
): Float64Array {
  const hi = new Float64Array(x.length),
    lo = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const h = Math.floor(x[i]! / TWO26);
    hi[i] = h;
    lo[i] = x[i]! - h * TWO26;
  }
  const { rowStart, col, weight } = m;
  for (let o = 0; o < m.rows; o++) {
    let accHi = 0,
      accLo = 0,
      sumHi = 0,
      sumLo = 0,
      n = 0;
    for (let k = rowStart[o]!, end = rowStart[o + 1]!; k < end; k++) {
      const w = weight[k]!,
        j = col[k]!;
      accHi += w * hi[j]!;
      accLo += w * lo[j]!;
      if (++n === LIMB_BLOCK) {
        sumHi = reduce(sumHi + reduce(accHi));
        sumLo = reduce(sumLo + reduce(accLo));
        accHi = accLo = 0;
        n = 0;
      }
    }
    sumHi = reduce(sumHi + reduce(accHi));
    sumLo = reduce(sumLo + reduce(accLo));
    out[o] = addMod(mulMod(sumHi, TWO26), sumLo);
  }
  return out;
}
