// Long file: garbling and evaluation are one pair of mirrored loops; split, each half reads worse.
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
 * Tweaks are gate-major over the whole call: AND gate g (in level order) of instance K
 * uses j = tweakBase + 2·(g·count + K) and j + 1, so the inner loop over instances steps
 * j by 2 instead of recomputing it.
 *
 * The layouts crossing this module's API are instance-major: input labels at
 * (k·inputCount + i)·4, output labels at (k·outputs + o)·4, decode / output bits at
 * k·outputs + o; tables in [chunk][level][gate][instance] order, which both sides derive
 * from the same circuit.
 */
import { OP_NOT, OP_XOR, ONE, ZERO, type Circuit } from './circuit.ts';
import { FixedKeyPermutation, randomBlocks, TWEAK_DOMAIN_GARBLE } from './hash.ts';

/** Instances garbled per pass: bounds the label buffer (wires × chunk × 16 B) to a few MB per circuit. */
export const GARBLE_CHUNK = 256;
/** Words of one garbled AND table (two blocks). */
export const TABLE_WORDS = 8;

/** What the garbler keeps and sends for `count` instances of a circuit. */
export interface GarbledCircuits {
  count: number;
  /** garbled tables, TABLE_WORDS per AND gate per instance (sent to the evaluator) */
  tables: Uint32Array;
  /** zero labels of every input wire, instance-major (kept; labels of a bit v are W0 ⊕ v·Δ) */
  inputZero: Uint32Array;
  /** zero labels of every output wire, instance-major (kept; a constant output has the all-zero block) */
  outputZero: Uint32Array;
  /** lsb of each output's zero label, instance-major (sent when the outputs are decoded as bits) */
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

const TWO32 = 4294967296;

/** Input labels of instances k0..k0+c−1 (instance-major in `src`) into the wire-major chunk buffer L. */
function scatterInputs(L: Uint32Array, src: Uint32Array, nIn: number, k0: number, c: number): void {
  for (let k = 0; k < c; k++) {
    let s = 4 * (k0 + k) * nIn;
    for (let i = 0; i < nIn; i++, s += 4) {
      const d = 4 * (i * c + k);
      L[d] = src[s]!;
      L[d + 1] = src[s + 1]!;
      L[d + 2] = src[s + 2]!;
      L[d + 3] = src[s + 3]!;
    }
  }
}

/** Output labels of the chunk (wire-major in L) into instance-major `dst`; constant outputs get the zero block. */
function gatherOutputs(L: Uint32Array, outputs: Int32Array, dst: Uint32Array, k0: number, c: number): void {
  const nOut = outputs.length;
  for (let k = 0; k < c; k++) {
    let d = 4 * (k0 + k) * nOut;
    for (let o = 0; o < nOut; o++, d += 4) {
      const w = outputs[o]!;
      if (w < 0) continue; // ZERO / ONE: dst is zero-filled
      const s = 4 * (w * c + k);
      dst[d] = L[s]!;
      dst[d + 1] = L[s + 1]!;
      dst[d + 2] = L[s + 2]!;
      dst[d + 3] = L[s + 3]!;
    }
  }
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
    nOut = circuit.outputs.length,
    outputs = circuit.outputs;
  const zero = inputZero ?? randomBlocks(nIn * count);
  if (zero.length !== 4 * nIn * count) throw new RangeError(`inputZero must hold ${nIn * count} blocks`);
  const tables = new Uint32Array(TABLE_WORDS * circuit.andCount * count);
  const outputZero = new Uint32Array(4 * nOut * count);
  const d0 = delta[0]!,
    d1 = delta[1]!,
    d2 = delta[2]!,
    d3 = delta[3]!;
  const s0 = d2,
    s1 = d3,
    s2 = d0 ^ d2,
    s3 = d1 ^ d3; // σ(Δ): σ is linear, so σ(A ⊕ Δ) = σ(A) ⊕ σ(Δ)
  const dom = TWEAK_DOMAIN_GARBLE;
  let tableAt = 0;
  // one label buffer and one pre-image buffer per call, reused by every chunk and level
  const chunk = Math.min(GARBLE_CHUNK, count);
  const labelBuf = new Uint32Array(4 * circuit.wireCount * chunk);
  const scratch = new Uint32Array(16 * maxAndLevel(circuit) * chunk);
  for (let k0 = 0; k0 < count; k0 += GARBLE_CHUNK) {
    const c = Math.min(GARBLE_CHUNK, count - k0);
    const L = labelBuf.subarray(0, 4 * circuit.wireCount * c);
    scatterInputs(L, zero, nIn, k0, c);
    let ord = 0;
    for (const level of circuit.levels) {
      const A = level.and,
        nA = A.length / 3;
      if (nA > 0) {
        const pre = scratch.subarray(0, 16 * nA * c);
        for (let g = 0; g < nA; g++) {
          const ia0 = 4 * A[3 * g]! * c,
            ib0 = 4 * A[3 * g + 1]! * c;
          const j0 = tweakBase + 2 * ((ord + g) * count + k0),
            jh0 = Math.floor(j0 / TWO32),
            jl0 = j0 - jh0 * TWO32;
          for (let k = 0, o = 16 * g * c; k < c; k++, o += 16) {
            const ia = ia0 + 4 * k,
              ib = ib0 + 4 * k;
            let jl = jl0 + 2 * k,
              jh = jh0;
            if (jl >= TWO32) ((jl -= TWO32), jh++);
            // σ(A0) ⊕ j, σ(A0 ⊕ Δ) ⊕ j, σ(B0) ⊕ (j+1), σ(B0 ⊕ Δ) ⊕ (j+1); j is even, so j+1 only sets bit 0
            const p0 = L[ia + 2]! ^ jl,
              p1 = L[ia + 3]! ^ jh,
              p2 = L[ia]! ^ L[ia + 2]!,
              p3 = L[ia + 1]! ^ L[ia + 3]! ^ dom;
            const q0 = L[ib + 2]! ^ jl ^ 1,
              q1 = L[ib + 3]! ^ jh,
              q2 = L[ib]! ^ L[ib + 2]!,
              q3 = L[ib + 1]! ^ L[ib + 3]! ^ dom;
            pre[o] = p0;
            pre[o + 1] = p1;
            pre[o + 2] = p2;
            pre[o + 3] = p3;
            pre[o + 4] = p0 ^ s0;
            pre[o + 5] = p1 ^ s1;
            pre[o + 6] = p2 ^ s2;
            pre[o + 7] = p3 ^ s3;
            pre[o + 8] = q0;
            pre[o + 9] = q1;
            pre[o + 10] = q2;
            pre[o + 11] = q3;
            pre[o + 12] = q0 ^ s0;
            pre[o + 13] = q1 ^ s1;
            pre[o + 14] = q2 ^ s2;
            pre[o + 15] = q3 ^ s3;
          }
        }
        const H = perm.permute(pre);
        // H(x, i) = π(σ(x) ⊕ i) ⊕ σ(x); σ(A0) is read back from L, σ(A1) = σ(A0) ⊕ σ(Δ)
        for (let g = 0; g < nA; g++) {
          const ia0 = 4 * A[3 * g]! * c,
            ib0 = 4 * A[3 * g + 1]! * c,
            oc0 = 4 * A[3 * g + 2]! * c;
          for (let k = 0, o = 16 * g * c, t = tableAt + TABLE_WORDS * g * c; k < c; k++, o += 16, t += 8) {
            const ia = ia0 + 4 * k,
              ib = ib0 + 4 * k,
              oc = oc0 + 4 * k;
            const a0 = L[ia]!,
              a1 = L[ia + 1]!,
              a2 = L[ia + 2]!,
              a3 = L[ia + 3]!;
            const b0 = L[ib]!,
              b1 = L[ib + 1]!,
              b2 = L[ib + 2]!,
              b3 = L[ib + 3]!;
            const sa0 = a2,
              sa1 = a3,
              sa2 = a0 ^ a2,
              sa3 = a1 ^ a3; // σ(A0)
            const sb0 = b2,
              sb1 = b3,
              sb2 = b0 ^ b2,
              sb3 = b1 ^ b3; // σ(B0)
            // H(A0), H(A1) = π(·) ⊕ σ(A0) ⊕ σ(Δ): their XOR drops σ(A0) and keeps σ(Δ)
            const ha0 = H[o]! ^ sa0,
              ha1 = H[o + 1]! ^ sa1,
              ha2 = H[o + 2]! ^ sa2,
              ha3 = H[o + 3]! ^ sa3;
            const xa0 = H[o]! ^ H[o + 4]! ^ s0,
              xa1 = H[o + 1]! ^ H[o + 5]! ^ s1,
              xa2 = H[o + 2]! ^ H[o + 6]! ^ s2,
              xa3 = H[o + 3]! ^ H[o + 7]! ^ s3; // H(A0) ⊕ H(A1)
            const hb0 = H[o + 8]! ^ sb0,
              hb1 = H[o + 9]! ^ sb1,
              hb2 = H[o + 10]! ^ sb2,
              hb3 = H[o + 11]! ^ sb3;
            const xb0 = H[o + 8]! ^ H[o + 12]! ^ s0,
              xb1 = H[o + 9]! ^ H[o + 13]! ^ s1,
              xb2 = H[o + 10]! ^ H[o + 14]! ^ s2,
              xb3 = H[o + 11]! ^ H[o + 15]! ^ s3; // H(B0) ⊕ H(B1)
            const pa = 0 - (a0 & 1),
              pb = 0 - (b0 & 1); // all-ones masks (0 − x, not −x: no −0)
            const tg0 = xa0 ^ (pb & d0),
              tg1 = xa1 ^ (pb & d1),
              tg2 = xa2 ^ (pb & d2),
              tg3 = xa3 ^ (pb & d3);
            tables[t] = tg0;
            tables[t + 1] = tg1;
            tables[t + 2] = tg2;
            tables[t + 3] = tg3;
            tables[t + 4] = xb0 ^ a0;
            tables[t + 5] = xb1 ^ a1;
            tables[t + 6] = xb2 ^ a2;
            tables[t + 7] = xb3 ^ a3;
            // C0 = (H(A0) ⊕ pa·TG) ⊕ (H(B0) ⊕ pb·(H(B0) ⊕ H(B1)))
            L[oc] = ha0 ^ (pa & tg0) ^ hb0 ^ (pb & xb0);
            L[oc + 1] = ha1 ^ (pa & tg1) ^ hb1 ^ (pb & xb1);
            L[oc + 2] = ha2 ^ (pa & tg2) ^ hb2 ^ (pb & xb2);
            L[oc + 3] = ha3 ^ (pa & tg3) ^ hb3 ^ (pb & xb3);
          }
        }
        tableAt += TABLE_WORDS * nA * c;
        ord += nA;
      }
      freeGates(L, level.free, c, delta);
    }
    gatherOutputs(L, outputs, outputZero, k0, c);
  }
  const decode = new Uint8Array(nOut * count);
  for (let k = 0; k < count; k++) {
    for (let o = 0; o < nOut; o++) {
      const w = outputs[o]!;
      decode[k * nOut + o] = w === ZERO ? 0 : w === ONE ? 1 : outputZero[4 * (k * nOut + o)]! & 1;
    }
  }
  return { count, tables, inputZero: zero, outputZero, decode };
}

/** XOR and NOT gates of one level over a chunk; the evaluator passes no delta (NOT copies the label). */
function freeGates(L: Uint32Array, F: Int32Array, c: number, delta?: Uint32Array): void {
  const w = 4 * c;
  // L starts 8-byte aligned (a subarray from 0 of a fresh buffer) and holds an even number of words
  const L64 = new BigUint64Array(L.buffer, L.byteOffset, L.length >>> 1);
  for (let i = 0; i < F.length; i += 4) {
    const a = F[i + 1]! * w,
      out = F[i + 3]! * w;
    if (F[i] === OP_XOR) {
      // 64-bit words halve the loop trips (≈ 15–30 % faster in V8 than u32); offsets are even
      const h = w >>> 1,
        a2 = a >>> 1,
        b2 = (F[i + 2]! * w) >>> 1,
        o2 = out >>> 1;
      for (let x = 0; x < h; x++) L64[o2 + x] = L64[a2 + x]! ^ L64[b2 + x]!;
    } else if (F[i] === OP_NOT && delta) {
      const e0 = delta[0]!,
        e1 = delta[1]!,
        e2 = delta[2]!,
        e3 = delta[3]!;
      for (let x = 0; x < w; x += 4) {
        L[out + x] = L[a + x]! ^ e0;
        L[out + x + 1] = L[a + x + 1]! ^ e1;
        L[out + x + 2] = L[a + x + 2]! ^ e2;
        L[out + x + 3] = L[a + x + 3]! ^ e3;
      }
    } else {
      L.copyWithin(out, a, a + w);
    }
  }
}

/**
 * Evaluate `count` garbled instances to their output labels (instance-major, one block per
 * output; constant outputs get the all-zero block): `inputLabels` instance-major (one active
 * label per input wire), `tables` from the garbler, the same `tweakBase`.
 * Throws RangeError when a buffer has the wrong size.
 */
export function evaluateLabels(
  perm: FixedKeyPermutation,
  circuit: Circuit,
  count: number,
  inputLabels: Uint32Array,
  tables: Uint32Array,
  tweakBase: number,
): Uint32Array {
  const nIn = circuit.inputCount,
    nOut = circuit.outputs.length;
  if (!Number.isSafeInteger(count) || count <= 0) throw new RangeError('count must be a positive integer');
  if (inputLabels.length !== 4 * nIn * count) throw new RangeError(`inputLabels must hold ${nIn * count} blocks`);
  if (tables.length !== TABLE_WORDS * circuit.andCount * count) throw new RangeError('tables have the wrong size');
  const out = new Uint32Array(4 * nOut * count);
  const dom = TWEAK_DOMAIN_GARBLE;
  let tableAt = 0;
  const chunk = Math.min(GARBLE_CHUNK, count);
  const labelBuf = new Uint32Array(4 * circuit.wireCount * chunk);
  const scratch = new Uint32Array(8 * maxAndLevel(circuit) * chunk);
  for (let k0 = 0; k0 < count; k0 += GARBLE_CHUNK) {
    const c = Math.min(GARBLE_CHUNK, count - k0);
    const L = labelBuf.subarray(0, 4 * circuit.wireCount * c);
    scatterInputs(L, inputLabels, nIn, k0, c);
    let ord = 0;
    for (const level of circuit.levels) {
      const A = level.and,
        nA = A.length / 3;
      if (nA > 0) {
        const pre = scratch.subarray(0, 8 * nA * c);
        for (let g = 0; g < nA; g++) {
          const ia0 = 4 * A[3 * g]! * c,
            ib0 = 4 * A[3 * g + 1]! * c;
          const j0 = tweakBase + 2 * ((ord + g) * count + k0),
            jh0 = Math.floor(j0 / TWO32),
            jl0 = j0 - jh0 * TWO32;
          for (let k = 0, o = 8 * g * c; k < c; k++, o += 8) {
            const ia = ia0 + 4 * k,
              ib = ib0 + 4 * k;
            let jl = jl0 + 2 * k,
              jh = jh0;
            if (jl >= TWO32) ((jl -= TWO32), jh++);
            pre[o] = L[ia + 2]! ^ jl;
            pre[o + 1] = L[ia + 3]! ^ jh;
            pre[o + 2] = L[ia]! ^ L[ia + 2]!;
            pre[o + 3] = L[ia + 1]! ^ L[ia + 3]! ^ dom;
            pre[o + 4] = L[ib + 2]! ^ jl ^ 1;
            pre[o + 5] = L[ib + 3]! ^ jh;
            pre[o + 6] = L[ib]! ^ L[ib + 2]!;
            pre[o + 7] = L[ib + 1]! ^ L[ib + 3]! ^ dom;
          }
        }
        const H = perm.permute(pre);
        for (let g = 0; g < nA; g++) {
          const ia0 = 4 * A[3 * g]! * c,
            ib0 = 4 * A[3 * g + 1]! * c,
            oc0 = 4 * A[3 * g + 2]! * c;
          for (let k = 0, o = 8 * g * c, t = tableAt + TABLE_WORDS * g * c; k < c; k++, o += 8, t += 8) {
            const ia = ia0 + 4 * k,
              ib = ib0 + 4 * k,
              oc = oc0 + 4 * k;
            const a0 = L[ia]!,
              a1 = L[ia + 1]!,
              a2 = L[ia + 2]!,
              a3 = L[ia + 3]!;
            const b0 = L[ib]!,
              b1 = L[ib + 1]!,
              b2 = L[ib + 2]!,
              b3 = L[ib + 3]!;
            const sa = 0 - (a0 & 1),
              sb = 0 - (b0 & 1);
            // C = H(A, j) ⊕ sa·TG ⊕ H(B, j+1) ⊕ sb·(TE ⊕ A), H(x, i) = π(σ(x) ⊕ i) ⊕ σ(x)
            L[oc] = H[o]! ^ a2 ^ (sa & tables[t]!) ^ H[o + 4]! ^ b2 ^ (sb & (tables[t + 4]! ^ a0));
            L[oc + 1] = H[o + 1]! ^ a3 ^ (sa & tables[t + 1]!) ^ H[o + 5]! ^ b3 ^ (sb & (tables[t + 5]! ^ a1));
            L[oc + 2] =
              H[o + 2]! ^ a0 ^ a2 ^ (sa & tables[t + 2]!) ^ H[o + 6]! ^ b0 ^ b2 ^ (sb & (tables[t + 6]! ^ a2));
            L[oc + 3] =
              H[o + 3]! ^ a1 ^ a3 ^ (sa & tables[t + 3]!) ^ H[o + 7]! ^ b1 ^ b3 ^ (sb & (tables[t + 7]! ^ a3));
          }
        }
        tableAt += TABLE_WORDS * nA * c;
        ord += nA;
      }
      freeGates(L, level.free, c);
    }
    gatherOutputs(L, circuit.outputs, out, k0, c);
  }
  return out;
}

/**
 * Evaluate `count` garbled instances to plaintext output bits (instance-major): the output
 * labels of evaluateLabels decoded with the garbler's `decode` bits.
 * Throws RangeError when a buffer has the wrong size.
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
  const nOut = circuit.outputs.length;
  if (decode.length !== nOut * count) throw new RangeError('decode has the wrong size');
  const labels = evaluateLabels(perm, circuit, count, inputLabels, tables, tweakBase);
  const bits = new Uint8Array(nOut * count);
  for (let i = 0; i < bits.length; i++) bits[i] = (labels[4 * i]! & 1) ^ decode[i]!;
  return bits;
}

/** Active labels of bits `bits` (0/1, instance-major like inputZero): W0 ⊕ bit·Δ. */
export function activeLabels(zero: Uint32Array, bits: Uint8Array, delta: Uint32Array): Uint32Array {
  if (zero.length !== 4 * bits.length) throw new RangeError('activeLabels: one zero label per bit');
  const out = new Uint32Array(zero);
  const d0 = delta[0]!,
    d1 = delta[1]!,
    d2 = delta[2]!,
    d3 = delta[3]!;
  for (let i = 0; i < bits.length; i++) {
    const m = 0 - (bits[i]! & 1);
    out[4 * i]! ^= m & d0;
    out[4 * i + 1]! ^= m & d1;
    out[4 * i + 2]! ^= m & d2;
    out[4 * i + 3]! ^= m & d3;
  }
  return out;
}
