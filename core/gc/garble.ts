/**
 * Garbling and evaluation: free-XOR (Kolesnikov–Schneider 2008) and half-gates (Zahur,
 * Rosulek, Evans, EUROCRYPT 2015) with the fixed-key TCCR hash H of core/gc/hash.ts
 * (Guo–Katz–Wang–Yu 2020). Per AND gate, tweaks j, j+1 (unique per gate and instance):
 *
 *   garbler (zero labels A0, B0; A1 = A0 ⊕ Δ, lsb(Δ) = 1)     evaluator (labels A, B)
 *   pa = lsb A0, pb = lsb B0                                 sa = lsb A, sb = lsb B
 *   TG = H(A0, j) ⊕ H(A1, j) ⊕ pb·Δ                          WG = H(A, j) ⊕ sa·TG
 *   WG0 = H(A0, j) ⊕ pa·TG                                   WE = H(B, j+1) ⊕ sb·(TE ⊕ A)
 *   TE = H(B0, j+1) ⊕ H(B1, j+1) ⊕ A0                         C = WG ⊕ WE
 *   WE0 = H(B0, j+1) ⊕ pb·(TE ⊕ A0);  C0 = WG0 ⊕ WE0
 *   table (TG, TE): 32 bytes per AND gate; XOR: C0 = A0 ⊕ B0; NOT: C0 = A0 ⊕ Δ.
 *
 * Many instances of one circuit (all ReLUs of a layer) are garbled together, level by
 * level (core/gc/circuit.ts): the pre-images of every AND gate of a level in every
 * instance of a chunk go through AES in one call, so the cipher call count is the AND
 * depth times the chunks, not the gate count. Labels are stored wire-major
 * ([wire][instance][4 words]) so free gates run over contiguous memory.
 *
 * The layouts crossing this module's API are instance-major: input labels at
 * (k·inputCount + i)·4, decode / output bits at k·outputs + o; tables in
 * [chunk][level][gate][instance] order, which both sides derive from the same circuit.
 */
import { OP_NOT, OP_XOR, ONE, ZERO, type Circuit } from './circuit.ts';
import { FixedKeyPermutation, randomBlocks, TWEAK_DOMAIN_GARBLE } from './hash.ts';

/** Instances garbled per pass: bounds the label buffer (wires × chunk × 16 B) to a few MB per circuit. */
export const GARBLE_CHUNK = 512;
/** Words of one garbled AND table (two blocks). */
export const TABLE_WORDS = 8;

/** What the garbler keeps and sends for `count` instances of a circuit. */
export interface GarbledCircuits {
  count: number;
  /** garbled tables, TABLE_WORDS per AND gate per instance (sent to the evaluator) */
  tables: Uint32Array;
  /** zero labels of every input wire, instance-major (kept; labels of a bit v are W0 ⊕ v·Δ) */
  inputZero: Uint32Array;
  /** lsb of each output's zero label, instance-major (sent: lets the evaluator decode) */
  decode: Uint8Array;
}

/** Tweaks a garbling of `count` instances of `circuit` uses: the caller advances its counter by this. */
export function tweaksUsed(circuit: Circuit, count: number): number {
  return 2 * circuit.andCount * count;
}

function maxAndLevel(circuit: Circuit): number {
  let m = 0;
  for (const level of circuit.levels) m = Math.max(m, level.and.length / 3);
  return m;
}

/** A fresh free-XOR offset: uniform with lsb 1 (the point-and-permute bit). */
export function randomDelta(): Uint32Array {
  const d = randomBlocks(1);
  d[0]! |= 1;
  return d;
}

/**
 * Garble `count` instances of `circuit` under offset `delta` with tweaks from `tweakBase`
 * (see tweaksUsed). Input zero labels are fresh random unless `inputZero` is given.
 * Throws RangeError for a bad count, delta without lsb 1, or a wrong-sized inputZero.
 */
export function garble(
  perm: FixedKeyPermutation,
  circuit: Circuit,
  count: number,
  delta: Uint32Array,
  tweakBase: number,
  inputZero?: Uint32Array,
): GarbledCircuits {
  if (!Number.isSafeInteger(count) || count <= 0) throw new RangeError('count must be a positive integer');
  if (delta.length !== 4 || (delta[0]! & 1) !== 1) throw new RangeError('delta must be one block with lsb 1');
  if (!Number.isSafeInteger(tweakBase + tweaksUsed(circuit, count)) || tweakBase < 0)
    throw new RangeError('tweaks exhausted');
  const nIn = circuit.inputCount,
    nOut = circuit.outputs.length;
  const zero = inputZero ?? randomBlocks(nIn * count);
  if (zero.length !== 4 * nIn * count) throw new RangeError(`inputZero must hold ${nIn * count} blocks`);
  const tables = new Uint32Array(TABLE_WORDS * circuit.andCount * count);
  const decode = new Uint8Array(nOut * count);
  const sd = [delta[2]!, delta[3]!, delta[0]! ^ delta[2]!, delta[1]! ^ delta[3]!]; // σ(Δ): σ is linear
  let tableAt = 0;
  // one label buffer and one pre-image buffer per call, reused by every chunk and level
  const labelBuf = new Uint32Array(4 * circuit.wireCount * Math.min(GARBLE_CHUNK, count));
  const scratch = new Uint32Array(16 * maxAndLevel(circuit) * Math.min(GARBLE_CHUNK, count));
  for (let k0 = 0; k0 < count; k0 += GARBLE_CHUNK) {
    const c = Math.min(GARBLE_CHUNK, count - k0);
    const L = labelBuf.subarray(0, 4 * circuit.wireCount * c);
    for (let k = 0; k < c; k++) {
      for (let i = 0; i < nIn; i++)
        L.set(zero.subarray(4 * ((k0 + k) * nIn + i), 4 * ((k0 + k) * nIn + i) + 4), 4 * (i * c + k));
    }
    let ord = 0;
    for (const level of circuit.levels) {
      const A = level.and,
        nA = A.length / 3;
      if (nA > 0) {
        const pre = scratch.subarray(0, 16 * nA * c);
        for (let g = 0; g < nA; g++) {
          const a = A[3 * g]!,
            b = A[3 * g + 1]!;
          for (let k = 0; k < c; k++) {
            const ia = 4 * (a * c + k),
              ib = 4 * (b * c + k),
              o = 16 * (g * c + k);
            const j = tweakBase + 2 * ((k0 + k) * circuit.andCount + ord + g);
            const jl = j >>> 0,
              jh = (j / 4294967296) >>> 0;
            const a0 = L[ia]!,
              a1 = L[ia + 1]!,
              a2 = L[ia + 2]!,
              a3 = L[ia + 3]!;
            const b0 = L[ib]!,
              b1 = L[ib + 1]!,
              b2 = L[ib + 2]!,
              b3 = L[ib + 3]!;
            // σ(A0) ⊕ j, σ(A0 ⊕ Δ) ⊕ j, σ(B0) ⊕ (j+1), σ(B0 ⊕ Δ) ⊕ (j+1); j is even, so j+1 only flips bit 0
            pre[o] = a2 ^ jl;
            pre[o + 1] = a3 ^ jh;
            pre[o + 2] = a0 ^ a2;
            pre[o + 3] = a1 ^ a3 ^ TWEAK_DOMAIN_GARBLE;
            pre[o + 4] = pre[o]! ^ sd[0]!;
            pre[o + 5] = pre[o + 1]! ^ sd[1]!;
            pre[o + 6] = pre[o + 2]! ^ sd[2]!;
            pre[o + 7] = pre[o + 3]! ^ sd[3]!;
            pre[o + 8] = b2 ^ (jl + 1);
            pre[o + 9] = b3 ^ jh;
            pre[o + 10] = b0 ^ b2;
            pre[o + 11] = b1 ^ b3 ^ TWEAK_DOMAIN_GARBLE;
            pre[o + 12] = pre[o + 8]! ^ sd[0]!;
            pre[o + 13] = pre[o + 9]! ^ sd[1]!;
            pre[o + 14] = pre[o + 10]! ^ sd[2]!;
            pre[o + 15] = pre[o + 11]! ^ sd[3]!;
          }
        }
        const H = perm.permute(pre);
        // H(x, i) = π(σ(x) ⊕ i) ⊕ σ(x) = π(pre) ⊕ pre ⊕ i
        for (let g = 0; g < nA; g++) {
          const a = A[3 * g]!,
            b = A[3 * g + 1]!,
            out = A[3 * g + 2]!;
          for (let k = 0; k < c; k++) {
            const ia = 4 * (a * c + k),
              ib = 4 * (b * c + k),
              o = 16 * (g * c + k);
            const j = tweakBase + 2 * ((k0 + k) * circuit.andCount + ord + g);
            const jl = j >>> 0,
              jh = (j / 4294967296) >>> 0;
            const dom = TWEAK_DOMAIN_GARBLE;
            const ha0 = H[o]! ^ pre[o]! ^ jl,
              ha1 = H[o + 1]! ^ pre[o + 1]! ^ jh;
            const ha2 = H[o + 2]! ^ pre[o + 2]!,
              ha3 = H[o + 3]! ^ pre[o + 3]! ^ dom;
            const hA0 = H[o + 4]! ^ pre[o + 4]! ^ jl,
              hA1 = H[o + 5]! ^ pre[o + 5]! ^ jh;
            const hA2 = H[o + 6]! ^ pre[o + 6]!,
              hA3 = H[o + 7]! ^ pre[o + 7]! ^ dom;
            const hb0 = H[o + 8]! ^ pre[o + 8]! ^ (jl + 1),
              hb1 = H[o + 9]! ^ pre[o + 9]! ^ jh;
            const hb2 = H[o + 10]! ^ pre[o + 10]!,
              hb3 = H[o + 11]! ^ pre[o + 11]! ^ dom;
            const hB0 = H[o + 12]! ^ pre[o + 12]! ^ (jl + 1),
              hB1 = H[o + 13]! ^ pre[o + 13]! ^ jh;
            const hB2 = H[o + 14]! ^ pre[o + 14]!,
              hB3 = H[o + 15]! ^ pre[o + 15]! ^ dom;
            const pa = 0 - (L[ia]! & 1),
              pb = 0 - (L[ib]! & 1); // all-ones masks (0 − x, not −x: no −0)
            const tg0 = ha0 ^ hA0 ^ (pb & delta[0]!),
              tg1 = ha1 ^ hA1 ^ (pb & delta[1]!);
            const tg2 = ha2 ^ hA2 ^ (pb & delta[2]!),
              tg3 = ha3 ^ hA3 ^ (pb & delta[3]!);
            const te0 = hb0 ^ hB0 ^ L[ia]!,
              te1 = hb1 ^ hB1 ^ L[ia + 1]!;
            const te2 = hb2 ^ hB2 ^ L[ia + 2]!,
              te3 = hb3 ^ hB3 ^ L[ia + 3]!;
            const t = tableAt + TABLE_WORDS * (g * c + k);
            tables[t] = tg0;
            tables[t + 1] = tg1;
            tables[t + 2] = tg2;
            tables[t + 3] = tg3;
            tables[t + 4] = te0;
            tables[t + 5] = te1;
            tables[t + 6] = te2;
            tables[t + 7] = te3;
            // C0 = (H(A0) ⊕ pa·TG) ⊕ (pb ? H(B1) : H(B0))
            const oc = 4 * (out * c + k);
            L[oc] = ha0 ^ (pa & tg0) ^ hb0 ^ (pb & (hb0 ^ hB0));
            L[oc + 1] = ha1 ^ (pa & tg1) ^ hb1 ^ (pb & (hb1 ^ hB1));
            L[oc + 2] = ha2 ^ (pa & tg2) ^ hb2 ^ (pb & (hb2 ^ hB2));
            L[oc + 3] = ha3 ^ (pa & tg3) ^ hb3 ^ (pb & (hb3 ^ hB3));
          }
        }
        tableAt += TABLE_WORDS * nA * c;
        ord += nA;
      }
      freeGates(L, level.free, c, delta);
    }
    for (let k = 0; k < c; k++) {
      for (let o = 0; o < nOut; o++) {
        const w = circuit.outputs[o]!;
        decode[(k0 + k) * nOut + o] = w === ZERO ? 0 : w === ONE ? 1 : L[4 * (w * c + k)]! & 1;
      }
    }
  }
  return { count, tables, inputZero: zero, decode };
}

/** XOR and NOT gates of one level over a chunk; the evaluator passes no delta (NOT copies the label). */
function freeGates(L: Uint32Array, F: Int32Array, c: number, delta?: Uint32Array): void {
  const w = 4 * c;
  for (let i = 0; i < F.length; i += 4) {
    const a = F[i + 1]! * w,
      out = F[i + 3]! * w;
    if (F[i] === OP_XOR) {
      const b = F[i + 2]! * w;
      for (let x = 0; x < w; x++) L[out + x] = L[a + x]! ^ L[b + x]!;
    } else if (F[i] === OP_NOT && delta) {
      for (let x = 0; x < w; x += 4) {
        L[out + x] = L[a + x]! ^ delta[0]!;
        L[out + x + 1] = L[a + x + 1]! ^ delta[1]!;
        L[out + x + 2] = L[a + x + 2]! ^ delta[2]!;
        L[out + x + 3] = L[a + x + 3]! ^ delta[3]!;
      }
    } else {
      L.copyWithin(out, a, a + w);
    }
  }
}

/**
 * Evaluate `count` garbled instances: `inputLabels` instance-major (one active label per
 * input wire), `tables` and `decode` from the garbler, the same `tweakBase`. Returns the
 * plaintext output bits, instance-major. Throws RangeError when a buffer has the wrong size.
 */
export function evaluate(
  perm: FixedKeyPermutation,
  circuit: Circuit,
  count: number,
  inputLabels: Uint32Array,
  tables: Uint32Array,
  decode: Uint8Array,
  tweakBase: number,
): Uint8Array {
  const nIn = circuit.inputCount,
    nOut = circuit.outputs.length;
  if (inputLabels.length !== 4 * nIn * count) throw new RangeError(`inputLabels must hold ${nIn * count} blocks`);
  if (tables.length !== TABLE_WORDS * circuit.andCount * count) throw new RangeError('tables have the wrong size');
  if (decode.length !== nOut * count) throw new RangeError('decode has the wrong size');
  const bits = new Uint8Array(nOut * count);
  let tableAt = 0;
  // one label buffer and one pre-image buffer per call, reused by every chunk and level
  const labelBuf = new Uint32Array(4 * circuit.wireCount * Math.min(GARBLE_CHUNK, count));
  const scratch = new Uint32Array(16 * maxAndLevel(circuit) * Math.min(GARBLE_CHUNK, count));
  for (let k0 = 0; k0 < count; k0 += GARBLE_CHUNK) {
    const c = Math.min(GARBLE_CHUNK, count - k0);
    const L = labelBuf.subarray(0, 4 * circuit.wireCount * c);
    for (let k = 0; k < c; k++) {
      for (let i = 0; i < nIn; i++)
        L.set(inputLabels.subarray(4 * ((k0 + k) * nIn + i), 4 * ((k0 + k) * nIn + i) + 4), 4 * (i * c + k));
    }
    let ord = 0;
    for (const level of circuit.levels) {
      const A = level.and,
        nA = A.length / 3;
      if (nA > 0) {
        const pre = scratch.subarray(0, 8 * nA * c);
        for (let g = 0; g < nA; g++) {
          const a = A[3 * g]!,
            b = A[3 * g + 1]!;
          for (let k = 0; k < c; k++) {
            const ia = 4 * (a * c + k),
              ib = 4 * (b * c + k),
              o = 8 * (g * c + k);
            const j = tweakBase + 2 * ((k0 + k) * circuit.andCount + ord + g);
            const jl = j >>> 0,
              jh = (j / 4294967296) >>> 0;
            pre[o] = L[ia + 2]! ^ jl;
            pre[o + 1] = L[ia + 3]! ^ jh;
            pre[o + 2] = L[ia]! ^ L[ia + 2]!;
            pre[o + 3] = L[ia + 1]! ^ L[ia + 3]! ^ TWEAK_DOMAIN_GARBLE;
            pre[o + 4] = L[ib + 2]! ^ (jl + 1);
            pre[o + 5] = L[ib + 3]! ^ jh;
            pre[o + 6] = L[ib]! ^ L[ib + 2]!;
            pre[o + 7] = L[ib + 1]! ^ L[ib + 3]! ^ TWEAK_DOMAIN_GARBLE;
          }
        }
        const H = perm.permute(pre);
        for (let g = 0; g < nA; g++) {
          const a = A[3 * g]!,
            b = A[3 * g + 1]!,
            out = A[3 * g + 2]!;
          for (let k = 0; k < c; k++) {
            const ia = 4 * (a * c + k),
              ib = 4 * (b * c + k),
              o = 8 * (g * c + k);
            const j = tweakBase + 2 * ((k0 + k) * circuit.andCount + ord + g);
            const jl = j >>> 0,
              jh = (j / 4294967296) >>> 0;
            const t = tableAt + TABLE_WORDS * (g * c + k);
            const sa = 0 - (L[ia]! & 1),
              sb = 0 - (L[ib]! & 1);
            const oc = 4 * (out * c + k);
            // C = H(A, j) ⊕ sa·TG ⊕ H(B, j+1) ⊕ sb·(TE ⊕ A)
            L[oc] =
              H[o]! ^
              pre[o]! ^
              jl ^
              (sa & tables[t]!) ^
              H[o + 4]! ^
              pre[o + 4]! ^
              (jl + 1) ^
              (sb & (tables[t + 4]! ^ L[ia]!));
            L[oc + 1] =
              H[o + 1]! ^
              pre[o + 1]! ^
              jh ^
              (sa & tables[t + 1]!) ^
              H[o + 5]! ^
              pre[o + 5]! ^
              jh ^
              (sb & (tables[t + 5]! ^ L[ia + 1]!));
            L[oc + 2] =
              H[o + 2]! ^
              pre[o + 2]! ^
              (sa & tables[t + 2]!) ^
              H[o + 6]! ^
              pre[o + 6]! ^
              (sb & (tables[t + 6]! ^ L[ia + 2]!));
            L[oc + 3] =
              H[o + 3]! ^
              pre[o + 3]! ^
              (sa & tables[t + 3]!) ^
              H[o + 7]! ^
              pre[o + 7]! ^
              (sb & (tables[t + 7]! ^ L[ia + 3]!));
          }
        }
        tableAt += TABLE_WORDS * nA * c;
        ord += nA;
      }
      freeGates(L, level.free, c);
    }
    for (let k = 0; k < c; k++) {
      for (let o = 0; o < nOut; o++) {
        const w = circuit.outputs[o]!,
          at = (k0 + k) * nOut + o;
        bits[at] = (w < 0 ? 0 : L[4 * (w * c + k)]! & 1) ^ decode[at]!;
      }
    }
  }
  return bits;
}

/** Active labels of bits `bits` (0/1, instance-major like inputZero): W0 ⊕ bit·Δ. */
export function activeLabels(zero: Uint32Array, bits: Uint8Array, delta: Uint32Array): Uint32Array {
  if (zero.length !== 4 * bits.length) throw new RangeError('activeLabels: one zero label per bit');
  const out = new Uint32Array(zero);
  for (let i = 0; i < bits.length; i++) {
    if (bits[i]) {
      out[4 * i]! ^= delta[0]!;
      out[4 * i + 1]! ^= delta[1]!;
      out[4 * i + 2]! ^= delta[2]!;
      out[4 * i + 3]! ^= delta[3]!;
    }
  }
  return out;
}
