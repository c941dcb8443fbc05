/**
 * Garbled outputs straight to additive shares in Z_p (a projective "bit → Z_p" gate per
 * output wire), so a circuit whose result is a linear function of its output bits,
 *
 *   out = κ + Σ_o ω_o · v_o  mod p     (public weights ω_o ∈ Z_p, public constant κ)
 *
 * needs no AND gate for the final re-masking (an (y − t) mod p subtraction costs 2n ANDs,
 * and a two's-complement-to-Z_p correction another n). Per output wire o of instance k,
 * with zero label W0, W1 = W0 ⊕ Δ and a fresh r ← Z_p, the garbler sends two 8-byte rows
 *
 *   row lsb(W_v) = (r + v·ω_o mod p) ⊕ H(W_v, j)[low 64 bits],   v = 0, 1
 *
 * with j = tweakBase + k·outputs + o (H the TCCR hash of core/gc/hash.ts, garbling domain,
 * tweaks disjoint from the AND gates'). The evaluator holds one label W = W_v: it reads row
 * lsb(W) and unmasks z = r + v·ω_o. Its share is κ + Σ_o z_o, the garbler's −Σ_o r_o.
 *
 * Security (semi-honest): the row of the label the evaluator does not hold is masked by H
 * of a label it cannot compute (TCCR, as for the half-gates rows); the row it reads is r
 * or r + ω, uniform in Z_p whatever v is, so its view of every output is uniform and
 * independent — the same guarantee as masking the decoded result with a uniform t.
 * This is the usual garbled arithmetic-output / "Y2A" conversion (e.g. ABY, NDSS 2015).
 */
import { PpnnError } from '../errors.ts';
import { FixedKeyPermutation, TWEAK_DOMAIN_GARBLE } from './hash.ts';
import { uniformBelow } from './session.ts';

/** Words per output wire per instance in the output table (two 64-bit rows). */
export const ARITH_ROW_WORDS = 4;

const TWO32 = 4294967296;

/** Pre-images σ(W) ⊕ j of `count·nOut` labels (instance-major), tweaks tweakBase + index. */
function preImages(labels: Uint32Array, tweakBase: number, xorWith?: Uint32Array): Uint32Array {
  const blocks = labels.length >>> 2;
  const pre = new Uint32Array(labels.length);
  const x0 = xorWith?.[0] ?? 0,
    x1 = xorWith?.[1] ?? 0,
    x2 = xorWith?.[2] ?? 0,
    x3 = xorWith?.[3] ?? 0;
  for (let i = 0; i < blocks; i++) {
    const o = 4 * i,
      w0 = labels[o]! ^ x0,
      w1 = labels[o + 1]! ^ x1,
      w2 = labels[o + 2]! ^ x2,
      w3 = labels[o + 3]! ^ x3;
    const j = tweakBase + i,
      jh = Math.floor(j / TWO32);
    pre[o] = w2 ^ (j - jh * TWO32);
    pre[o + 1] = w3 ^ jh;
    pre[o + 2] = w0 ^ w2;
    pre[o + 3] = w1 ^ w3 ^ TWEAK_DOMAIN_GARBLE;
  }
  return pre;
}

/** The two low words of H(W, j) = π(σ(W) ⊕ j) ⊕ σ(W), for every block (σ(W) low words are W's high words). */
function hashLow(perm: FixedKeyPermutation, labels: Uint32Array, tweakBase: number, xorWith?: Uint32Array) {
  const pre = preImages(labels, tweakBase, xorWith);
  const e = perm.permute(pre);
  const blocks = labels.length >>> 2,
    out = new Uint32Array(2 * blocks);
  const x2 = xorWith?.[2] ?? 0,
    x3 = xorWith?.[3] ?? 0;
  for (let i = 0; i < blocks; i++) {
    out[2 * i] = e[4 * i]! ^ labels[4 * i + 2]! ^ x2;
    out[2 * i + 1] = e[4 * i + 1]! ^ labels[4 * i + 3]! ^ x3;
  }
  return out;
}

/** Tweaks the output tables of `count` instances with `outputs` wires use. */
export function arithTweaksUsed(outputs: number, count: number): number {
  return outputs * count;
}

/**
 * Garbler: output tables for `count` instances from the output zero labels (instance-major,
 * `weights.length` per instance). Returns the tables (ARITH_ROW_WORDS words per output per
 * instance) and the garbler's share −Σ_o r_o mod p per instance.
 * Throws RangeError for mismatched sizes, a weight outside Z_p, or a bad p.
 */
export function garbleArithOutputs(
  perm: FixedKeyPermutation,
  outputZero: Uint32Array,
  delta: Uint32Array,
  weights: Float64Array,
  p: number,
  count: number,
  tweakBase: number,
): { tables: Uint32Array; share: Float64Array } {
  const nOut = weights.length;
  if (!Number.isSafeInteger(p) || p < 3 || p >= 2 ** 52) throw new RangeError('p must be an integer in [3, 2^52)');
  if (outputZero.length !== 4 * nOut * count) throw new RangeError('outputZero must hold one block per output');
  if (weights.some((w) => !Number.isInteger(w) || w < 0 || w >= p)) throw new RangeError('weights must be in Z_p');
  const h0 = hashLow(perm, outputZero, tweakBase),
    h1 = hashLow(perm, outputZero, tweakBase, delta);
  const r = uniformBelow(p, nOut * count);
  const tables = new Uint32Array(ARITH_ROW_WORDS * nOut * count);
  const share = new Float64Array(count);
  for (let k = 0; k < count; k++) {
    let s = 0;
    for (let o = 0; o < nOut; o++) {
      const i = k * nOut + o,
        ri = r[i]!;
      let r1 = ri + weights[o]!;
      if (r1 >= p) r1 -= p;
      s += ri;
      if (s >= p) s -= p;
      const row0 = outputZero[4 * i]! & 1; // W1 has the other colour: lsb(Δ) = 1
      const t0 = ARITH_ROW_WORDS * i + 2 * row0,
        t1 = ARITH_ROW_WORDS * i + 2 * (row0 ^ 1);
      const hi0 = Math.floor(ri / TWO32),
        hi1 = Math.floor(r1 / TWO32);
      tables[t0] = (ri - hi0 * TWO32) ^ h0[2 * i]!;
      tables[t0 + 1] = hi0 ^ h0[2 * i + 1]!;
      tables[t1] = (r1 - hi1 * TWO32) ^ h1[2 * i]!;
      tables[t1 + 1] = hi1 ^ h1[2 * i + 1]!;
    }
    share[k] = s === 0 ? 0 : p - s;
  }
  return { tables, share };
}

/**
 * Evaluator: Σ_o z_o mod p per instance from its output labels (instance-major, `outputs`
 * per instance) and the garbler's tables. Throws RangeError for mismatched sizes and
 * PpnnError('PROTOCOL_VIOLATION') when a row decodes to a value ≥ p (a malformed table).
 */
export function evaluateArithOutputs(
  perm: FixedKeyPermutation,
  outputLabels: Uint32Array,
  tables: Uint32Array,
  outputs: number,
  p: number,
  count: number,
  tweakBase: number,
): Float64Array {
  if (outputLabels.length !== 4 * outputs * count) throw new RangeError('outputLabels must hold one block per output');
  if (tables.length !== ARITH_ROW_WORDS * outputs * count) throw new RangeError('output tables have the wrong size');
  const h = hashLow(perm, outputLabels, tweakBase);
  const sums = new Float64Array(count);
  for (let k = 0; k < count; k++) {
    let s = 0;
    for (let o = 0; o < outputs; o++) {
      const i = k * outputs + o,
        t = ARITH_ROW_WORDS * i + 2 * (outputLabels[4 * i]! & 1);
      const z = ((tables[t + 1]! ^ h[2 * i + 1]!) >>> 0) * TWO32 + ((tables[t]! ^ h[2 * i]!) >>> 0);
      if (z >= p) throw new PpnnError('PROTOCOL_VIOLATION', 'gc: an output table row decodes outside Z_p');
      s += z;
      if (s >= p) s -= p;
    }
    sums[k] = s;
  }
  return sums;
}
