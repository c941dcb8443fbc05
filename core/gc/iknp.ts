/**
 * IKNP OT extension (Ishai–Kilian–Nissim–Petrank, CRYPTO 2003), semi-honest, κ = 128:
 * 128 base OTs (core/gc/base-ot.ts, roles reversed) turn into any number of random OTs at
 * the cost of AES. Random OTs are made in preprocessing, before any choice is known, and
 * derandomised later with Beaver's trick (one bit up, two blocks down per OT).
 *
 *   IKNP sender (garbler, s ∈ {0,1}^128)        IKNP receiver (evaluator)
 *   base OT receiver, choices s_j   ◀── base OT ──▶  base OT sender, seeds (k0_j, k1_j)
 *   random OT batch of m:
 *                                   ◀── u_j ──────  r ← {0,1}^m, t_j = G(k0_j),
 *                                                   u_j = t_j ⊕ G(k1_j) ⊕ r   (j < 128)
 *   q_j = G(k_{s_j}) ⊕ s_j·u_j = t_j ⊕ s_j·r
 *   rows: q_i = t_i ⊕ r_i·s
 *   R0_i = H(q_i, i), R1_i = H(q_i ⊕ s, i)           choice r_i, R_{r_i} = H(t_i, i)
 *   derandomise to messages (x0_i, x1_i), real choice b_i:
 *                                   ◀── d = b ⊕ r ─
 *   e0 = x0 ⊕ R_d, e1 = x1 ⊕ R_{1⊕d}  ── e0, e1 ──▶  x_b = e_b ⊕ R_r
 *
 * G is AES-128-CTR keyed by the base-OT key (a PRG); one stream per column, consumed in
 * order across batches. H is the fixed-key TCCR hash of core/gc/hash.ts with the global
 * OT index as tweak (GKWY 2020 show it suffices for IKNP; the correlation is q_i ⊕ s).
 * Why the sender's view hides r: u_j is masked by G(k_{1−s_j}), a PRG stream under a key
 * the sender never learns, and d = b ⊕ r is one-time padded by the uniform r.
 * Bit layout: column bytes are LSB-first, read as little-endian u32 words (x86/ARM hosts).
 */
import { createCipheriv, randomFillSync } from 'node:crypto';
import { PpnnError } from '../errors.ts';
import { transposeColumns } from './bits.ts';
import { FixedKeyPermutation, tccrHash } from './hash.ts';

/** Security parameter: base OTs and bits per extended-OT row. */
export const KAPPA = 128;

/** The PRG G(k) from byte `offset` (a multiple of 16) for `bytes` bytes: AES-128-CTR, IV = block counter. */
export function prgStream(key: Uint8Array, offset: number, bytes: number): Uint8Array {
  const iv = new Uint8Array(16);
  let block = offset / 16;
  for (let b = 15; b >= 8; b--) {
    iv[b] = block % 256;
    block = Math.floor(block / 256);
  }
  const c = createCipheriv('aes-128-ctr', key, iv);
  return new Uint8Array(c.update(new Uint8Array(bytes)));
}

function roundUp(m: number): number {
  return Math.ceil(m / KAPPA) * KAPPA;
}

function columnWords(columns: Uint8Array[], mPadded: number): Uint32Array {
  const bytes = mPadded >>> 3;
  const out = new Uint32Array(KAPPA * (bytes >>> 2));
  const view = new Uint8Array(out.buffer);
  for (let j = 0; j < KAPPA; j++) view.set(columns[j]!, j * bytes);
  return out;
}

/** A batch of random OTs on the receiver's side: random choice bits and the chosen block of each. */
export interface RandomOtReceived {
  /** 0/1 per OT */
  choices: Uint8Array;
  /** block i (4 words) = R_{choices[i]} of OT i */
  blocks: Uint32Array;
}

/** A batch of random OTs on the sender's side: both blocks of each OT. */
export interface RandomOtSent {
  blocks0: Uint32Array;
  blocks1: Uint32Array;
}

/** IKNP receiver state (the evaluator): both seeds of every base OT and the stream positions. */
export class IknpReceiver {
  private streamOffset = 0;
  private otIndex = 0;
  private readonly perm = new FixedKeyPermutation();

  /** `keys0`, `keys1`: 128 × 16-byte base-OT keys each. Throws RangeError for other sizes. */
  private readonly keys0: Uint8Array;
  private readonly keys1: Uint8Array;
  constructor(keys0: Uint8Array, keys1: Uint8Array) {
    this.keys0 = keys0;
    this.keys1 = keys1;
    if (keys0.length !== 16 * KAPPA || keys1.length !== 16 * KAPPA)
      throw new RangeError('IKNP receiver: 128 keys of 16 bytes each');
  }

  /**
   * Make `m` random OTs: returns the message for the sender (128 columns u_j, m'/8 bytes
   * each, m' = m rounded up to 128) and the receiver's random choices and blocks.
   */
  extend(
    m: number,
    random: (buf: Uint8Array) => void = (b) => randomFillSync(b),
  ): { message: Uint8Array; received: RandomOtReceived } {
    if (!Number.isSafeInteger(m) || m <= 0) throw new RangeError('m must be a positive integer');
    const mp = roundUp(m),
      bytes = mp >>> 3;
    const r = new Uint8Array(bytes);
    random(r);
    const message = new Uint8Array(KAPPA * bytes);
    const t: Uint8Array[] = [];
    for (let j = 0; j < KAPPA; j++) {
      const tj = prgStream(this.keys0.subarray(16 * j, 16 * j + 16), this.streamOffset, bytes);
      const gj = prgStream(this.keys1.subarray(16 * j, 16 * j + 16), this.streamOffset, bytes);
      const uj = message.subarray(j * bytes, (j + 1) * bytes);
      for (let i = 0; i < bytes; i++) uj[i] = tj[i]! ^ gj[i]! ^ r[i]!;
      t.push(tj);
    }
    this.streamOffset += bytes; // a multiple of 16: m' is a multiple of 128
    const rows = transposeColumns(columnWords(t, mp), mp);
    const blocks = tccrHash(this.perm, rows.subarray(0, 4 * m), this.otIndex);
    this.otIndex += mp;
    const choices = new Uint8Array(m);
    for (let i = 0; i < m; i++) choices[i] = (r[i >>> 3]! >>> (i & 7)) & 1;
    return { message, received: { choices, blocks } };
  }
}

/** IKNP sender state (the garbler): its secret s and one seed per base OT. */
export class IknpSender {
  private streamOffset = 0;
  private otIndex = 0;
  private readonly perm = new FixedKeyPermutation();
  private readonly sBlock = new Uint32Array(4);

  /** `s`: 128 choice bits (0/1) of the base OTs; `keys`: the 128 keys received. Throws RangeError for other sizes. */
  private readonly s: Uint8Array;
  private readonly keys: Uint8Array;
  constructor(s: Uint8Array, keys: Uint8Array) {
    this.s = s;
    this.keys = keys;
    if (s.length !== KAPPA || keys.length !== 16 * KAPPA)
      throw new RangeError('IKNP sender: 128 bits and 128 keys of 16 bytes');
    for (let j = 0; j < KAPPA; j++) this.sBlock[j >>> 5]! |= (s[j]! & 1) << (j & 31);
  }

  /** Both blocks of `m` random OTs from the receiver's message. Throws PROTOCOL_VIOLATION when its size is wrong. */
  extend(m: number, message: Uint8Array): RandomOtSent {
    if (!Number.isSafeInteger(m) || m <= 0) throw new RangeError('m must be a positive integer');
    const mp = roundUp(m),
      bytes = mp >>> 3;
    if (message.length !== KAPPA * bytes) {
      throw new PpnnError(
        'PROTOCOL_VIOLATION',
        `IKNP: expected ${KAPPA * bytes} bytes of columns, got ${message.length}`,
      );
    }
    const q: Uint8Array[] = [];
    for (let j = 0; j < KAPPA; j++) {
      const qj = prgStream(this.keys.subarray(16 * j, 16 * j + 16), this.streamOffset, bytes);
      if (this.s[j] === 1) {
        const uj = message.subarray(j * bytes, (j + 1) * bytes);
        for (let i = 0; i < bytes; i++) qj[i]! ^= uj[i]!;
      }
      q.push(qj);
    }
    this.streamOffset += bytes; // a multiple of 16: m' is a multiple of 128
    const rows = transposeColumns(columnWords(q, mp), mp).subarray(0, 4 * m);
    const rowsS = new Uint32Array(rows);
    const s = this.sBlock;
    for (let i = 0; i < rowsS.length; i += 4) {
      rowsS[i]! ^= s[0]!;
      rowsS[i + 1]! ^= s[1]!;
      rowsS[i + 2]! ^= s[2]!;
      rowsS[i + 3]! ^= s[3]!;
    }
    const blocks0 = tccrHash(this.perm, rows, this.otIndex);
    const blocks1 = tccrHash(this.perm, rowsS, this.otIndex);
    this.otIndex += mp;
    return { blocks0, blocks1 };
  }
}

/** Receiver, derandomise: d_i = b_i ⊕ r_i for the real choices `b` (0/1 each). */
export function derandomiseChoices(received: RandomOtReceived, b: Uint8Array): Uint8Array {
  if (b.length !== received.choices.length)
    throw new RangeError(`choices: expected ${received.choices.length}, got ${b.length}`);
  const d = new Uint8Array(b.length);
  for (let i = 0; i < b.length; i++) d[i] = (b[i]! ^ received.choices[i]!) & 1;
  return d;
}

/** Sender, derandomise: e0 = x0 ⊕ R_d, e1 = x1 ⊕ R_{1⊕d} per OT (block buffers of equal length). */
export function derandomiseSend(
  sent: RandomOtSent,
  d: Uint8Array,
  x0: Uint32Array,
  x1: Uint32Array,
): { e0: Uint32Array; e1: Uint32Array } {
  const m = d.length;
  if (x0.length !== 4 * m || x1.length !== 4 * m || sent.blocks0.length !== 4 * m)
    throw new RangeError('derandomiseSend: sizes differ');
  const e0 = new Uint32Array(4 * m),
    e1 = new Uint32Array(4 * m);
  const R0 = sent.blocks0,
    R1 = sent.blocks1;
  for (let i = 0; i < m; i++) {
    const flip = d[i] === 1;
    for (let w = 4 * i; w < 4 * i + 4; w++) {
      e0[w] = x0[w]! ^ (flip ? R1[w]! : R0[w]!);
      e1[w] = x1[w]! ^ (flip ? R0[w]! : R1[w]!);
    }
  }
  return { e0, e1 };
}

/** Receiver, derandomise: x_b = e_b ⊕ R_r per OT. */
export function derandomiseReceive(
  received: RandomOtReceived,
  b: Uint8Array,
  e0: Uint32Array,
  e1: Uint32Array,
): Uint32Array {
  const m = b.length;
  if (e0.length !== 4 * m || e1.length !== 4 * m || received.blocks.length !== 4 * m)
    throw new RangeError('derandomiseReceive: sizes differ');
  const out = new Uint32Array(4 * m);
  const R = received.blocks;
  for (let i = 0; i < m; i++) {
    const e = b[i] === 1 ? e1 : e0;
    for (let w = 4 * i; w < 4 * i + 4; w++) out[w] = e[w]! ^ R[w]!;
  }
  return out;
}
