import { createCipheriv, createHash } from 'node:crypto';
import { ristretto255, ristretto255_hasher } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import { PpnnError } from '../../core/errors.ts';
import { baseOtReceiverFinish, baseOtReceiverStart, baseOtSend, type RandomSource } from '../../core/gc/base-ot.ts';
import { packBits, transposeColumns, unpackBits } from '../../core/gc/bits.ts';
import { FIXED_KEY, FixedKeyPermutation, tccrHash, TWEAK_DOMAIN_OT } from '../../core/gc/hash.ts';
import { IknpReceiver, IknpSender, KAPPA, prgStream } from '../../core/gc/iknp.ts';
import {
  chooseSend,
  otSetupReceiver,
  otSetupSender,
  randomOtReceive,
  randomOtSend,
  transferReceive,
  transferSend,
} from '../../core/gc/ot.ts';
import { memoryPair } from '../../core/transport/memory.ts';
import { thrownCode as code } from '../helpers/error-code.ts';

const hex = (b: Uint8Array | Uint32Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** Deterministic byte source: SHA-256(seed ∥ counter) blocks (tests only). */
function seeded(seed: string): RandomSource {
  let counter = 0;
  let pool = new Uint8Array(0);
  return (n) => {
    const out = new Uint8Array(n);
    for (let o = 0; o < n;) {
      if (pool.length === 0) pool = new Uint8Array(createHash('sha256').update(`${seed}/${counter++}`).digest());
      const take = Math.min(pool.length, n - o);
      out.set(pool.subarray(0, take), o);
      pool = pool.subarray(take);
      o += take;
    }
    return out;
  };
}

// ---- independent reference computations (node:crypto and noble directly, byte by byte) ----
function refTccr(x: Buffer, i: bigint, domain: number): Buffer {
  const sig = Buffer.alloc(16);
  for (let b = 0; b < 8; b++) {
    sig[b] = x[8 + b]!; // low half of σ(x) is L (the high half of x)
    sig[8 + b] = x[b]! ^ x[8 + b]!; // high half is L ⊕ R
  }
  const tweak = Buffer.alloc(16);
  tweak.writeBigUInt64LE(i, 0);
  tweak.writeUInt32LE(domain, 12);
  const pre = Buffer.from(sig.map((v, k) => v ^ tweak[k]!));
  const c = createCipheriv('aes-128-ecb', FIXED_KEY, null).setAutoPadding(false);
  const enc = c.update(pre);
  return Buffer.from(enc.map((v, k) => v ^ sig[k]!));
}
function refPrg(key: Uint8Array, offset: number, bytes: number): Buffer {
  const blocks = Math.ceil(bytes / 16);
  const ctr = Buffer.alloc(16 * blocks);
  for (let k = 0; k < blocks; k++) ctr.writeBigUInt64BE(BigInt(offset / 16 + k), 16 * k + 8);
  return createCipheriv('aes-128-ecb', key, null).setAutoPadding(false).update(ctr).subarray(0, bytes);
}
function refScalar(random: RandomSource): bigint {
  const b = random(64);
  let v = 0n;
  for (let i = 63; i >= 0; i--) v = v * 256n + BigInt(b[i]!);
  const s = v % ristretto255.Point.Fn.ORDER;
  return s === 0n ? 1n : s;
}
function refKdf(j: number, pair: Uint8Array, P: Uint8Array): Buffer {
  const idx = Buffer.alloc(4);
  idx.writeUInt32BE(j);
  return createHash('sha256').update('ppnn/gc/mr-ot/1').update(idx).update(pair).update(P).digest().subarray(0, 16);
}

describe('fixed-key TCCR hash', () => {
  it('matches the byte-level reference and the committed vector', () => {
    const x = new Uint32Array(
      Uint8Array.from(Buffer.from('000102030405060708090a0b0c0d0e0fffeeddccbbaa99887766554433221100', 'hex')).buffer,
    );
    const out = tccrHash(new FixedKeyPermutation(), x, 5, 7);
    const ref = Buffer.concat([
      refTccr(Buffer.from(hex(x.subarray(0, 4)), 'hex'), 5n, TWEAK_DOMAIN_OT),
      refTccr(Buffer.from(hex(x.subarray(4)), 'hex'), 12n, TWEAK_DOMAIN_OT),
    ]);
    expect(hex(out)).toBe(ref.toString('hex'));
    expect(hex(out)).toBe(KAT.tccr);
    // large tweaks use the high word
    const big = tccrHash(new FixedKeyPermutation(), x.subarray(0, 4), 2 ** 40 + 3);
    expect(hex(big)).toBe(
      refTccr(Buffer.from(hex(x.subarray(0, 4)), 'hex'), 2n ** 40n + 3n, TWEAK_DOMAIN_OT).toString('hex'),
    );
  });
  it('rejects partial blocks and tweaks outside [0, 2^53)', () => {
    const perm = new FixedKeyPermutation();
    expect(() => tccrHash(perm, new Uint32Array(3), 0)).toThrow(RangeError);
    expect(() => tccrHash(perm, new Uint32Array(4), -1)).toThrow(RangeError);
    expect(() => tccrHash(perm, new Uint32Array(8), 2 ** 53 - 1)).toThrow(RangeError);
    expect(() => new FixedKeyPermutation(new Uint8Array(15))).toThrow(RangeError);
  });
});

describe('PRG (AES-128-CTR) and bit transpose', () => {
  it('PRG stream equals ECB of the big-endian counter and the committed vector; offsets continue the stream', () => {
    const key = Uint8Array.from({ length: 16 }, (_, i) => i * 17);
    expect(Buffer.from(prgStream(key, 0, 48)).equals(refPrg(key, 0, 48))).toBe(true);
    expect(Buffer.from(prgStream(key, 32, 16)).equals(Buffer.from(prgStream(key, 0, 48).subarray(32)))).toBe(true);
    expect(hex(prgStream(key, 16 * 2 ** 33, 16))).toBe(refPrg(key, 16 * 2 ** 33, 16).toString('hex'));
    expect(hex(prgStream(key, 0, 32))).toBe(KAT.prg);
  });
  it('transposeColumns equals the naive bit-by-bit transpose', () => {
    const m = 256;
    const cols = new Uint32Array(4 * m);
    const rnd = seeded('transpose');
    new Uint8Array(cols.buffer).set(rnd(cols.byteLength));
    const rows = transposeColumns(cols, m);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < KAPPA; j++) {
        const colBit = (cols[j * (m / 32) + (i >>> 5)]! >>> (i & 31)) & 1;
        const rowBit = (rows[4 * i + (j >>> 5)]! >>> (j & 31)) & 1;
        if (colBit !== rowBit) throw new Error(`bit (${i}, ${j}) differs`);
      }
    }
    expect(() => transposeColumns(new Uint32Array(4 * 100), 100)).toThrow(RangeError);
  });
  it('packs and unpacks bits LSB-first', () => {
    const bits = Uint8Array.from([1, 0, 1, 1, 0, 0, 0, 0, 1]);
    expect(Array.from(packBits(bits))).toEqual([0b1101, 1]);
    expect(Array.from(unpackBits(packBits(bits), 9))).toEqual(Array.from(bits));
    expect(() => unpackBits(new Uint8Array(1), 9)).toThrow(RangeError);
  });
});

describe('Masny–Rindal base OT', () => {
  it('with seeded randomness: the receiver gets k_c, matching the reference and the committed vector', () => {
    const choices = Uint8Array.from([0, 1, 1, 0]);
    const { state, message } = baseOtReceiverStart(choices, seeded('receiver'));
    const sent = baseOtSend(message, choices.length, seeded('sender'));
    const keys = baseOtReceiverFinish(state, sent.message);
    for (let j = 0; j < 4; j++) {
      const want = (choices[j] ? sent.keys1 : sent.keys0).subarray(16 * j, 16 * j + 16);
      const other = (choices[j] ? sent.keys0 : sent.keys1).subarray(16 * j, 16 * j + 16);
      expect(hex(keys.subarray(16 * j, 16 * j + 16))).toBe(hex(want));
      expect(hex(other)).not.toBe(hex(want));
    }
    // reference: the same protocol written out with noble points and node:crypto SHA-256
    const P = ristretto255.Point;
    const H = (b: Uint8Array) => ristretto255_hasher.hashToCurve(b, { DST: 'ppnn/gc/mr-ot/1/H' });
    const rr = seeded('receiver'),
      rs = seeded('sender');
    const y = refScalar(rs);
    expect(hex(sent.message)).toBe(hex(P.BASE.multiply(y).toBytes()));
    for (let j = 0; j < 4; j++) {
      const x = refScalar(rr);
      const other = H(rr(32));
      const mine = P.BASE.multiply(x).subtract(H(other.toBytes()));
      const [r0, r1] = choices[j] ? [other, mine] : [mine, other];
      const pair = Buffer.concat([r0.toBytes(), r1.toBytes()]);
      expect(hex(message.subarray(64 * j, 64 * j + 64))).toBe(pair.toString('hex'));
      const k0 = refKdf(j, pair, r0.add(H(r1.toBytes())).multiply(y).toBytes());
      const k1 = refKdf(j, pair, r1.add(H(r0.toBytes())).multiply(y).toBytes());
      expect(hex(sent.keys0.subarray(16 * j, 16 * j + 16))).toBe(k0.toString('hex'));
      expect(hex(sent.keys1.subarray(16 * j, 16 * j + 16))).toBe(k1.toString('hex'));
    }
    expect(hex(sent.keys0.subarray(0, 16)) + hex(sent.keys1.subarray(16, 32))).toBe(KAT.baseOt);
  });
  it('rejects malformed points and messages with PROTOCOL_VIOLATION', () => {
    const { state, message } = baseOtReceiverStart(Uint8Array.of(0));
    expect(code(() => baseOtSend(new Uint8Array(64).fill(0xff), 1))).toBe('PROTOCOL_VIOLATION');
    expect(code(() => baseOtSend(new Uint8Array(64), 1))).toBe('PROTOCOL_VIOLATION'); // identity
    expect(code(() => baseOtSend(message.subarray(1), 1))).toBe('PROTOCOL_VIOLATION');
    expect(code(() => baseOtReceiverStart(Uint8Array.of(2)))).toBe('RangeError');
    expect(code(() => baseOtReceiverFinish(state, new Uint8Array(31)))).toBe('PROTOCOL_VIOLATION');
    expect(code(() => baseOtReceiverFinish(state, new Uint8Array(32).fill(0xff)))).toBe('PROTOCOL_VIOLATION');
  });
});

/** Fixed base-OT material for IKNP known answers. */
function fixedIknp(): {
  rx: IknpReceiver;
  tx: IknpSender;
  keys0: Uint8Array;
  keys1: Uint8Array;
  s: Uint8Array;
} {
  const r = seeded('iknp-keys');
  const keys0 = r(16 * KAPPA),
    keys1 = r(16 * KAPPA);
  const s = r(KAPPA).map((v) => v & 1);
  const keys = new Uint8Array(16 * KAPPA);
  for (let j = 0; j < KAPPA; j++) keys.set((s[j] ? keys1 : keys0).subarray(16 * j, 16 * j + 16), 16 * j);
  return {
    rx: new IknpReceiver(keys0, keys1),
    tx: new IknpSender(s, keys),
    keys0,
    keys1,
    s,
  };
}

describe('IKNP extension', () => {
  it('known answer: seeded keys and choices give the reference rows, hashes and the committed vector', () => {
    const { rx, tx, keys0, s } = fixedIknp();
    const m = 200;
    const choiceBytes = seeded('iknp-r')(32);
    const { message, received } = rx.extend(m, (b) => b.set(choiceBytes.subarray(0, b.length)));
    const sent = tx.extend(m, message);
    for (let i = 0; i < m; i++) {
      // t_i bit j = bit i of G(k0_j); the receiver's block is H(t_i, i)
      const t = Buffer.alloc(16);
      for (let j = 0; j < KAPPA; j++) {
        const g = refPrg(keys0.subarray(16 * j, 16 * j + 16), 0, 32);
        t[j >>> 3]! |= ((g[i >>> 3]! >>> (i & 7)) & 1) << (j & 7);
      }
      const c = (choiceBytes[i >>> 3]! >>> (i & 7)) & 1;
      expect(received.choices[i]).toBe(c);
      expect(hex(received.blocks.subarray(4 * i, 4 * i + 4))).toBe(
        refTccr(t, BigInt(i), TWEAK_DOMAIN_OT).toString('hex'),
      );
      const mine = c ? sent.blocks1 : sent.blocks0,
        notMine = c ? sent.blocks0 : sent.blocks1;
      expect(hex(mine.subarray(4 * i, 4 * i + 4))).toBe(hex(received.blocks.subarray(4 * i, 4 * i + 4)));
      expect(hex(notMine.subarray(4 * i, 4 * i + 4))).not.toBe(hex(received.blocks.subarray(4 * i, 4 * i + 4)));
      if (i === 0) {
        // q_0 ⊕ t_0 = c_0·s: the other block is H(t_0 ⊕ s)
        const ts = Buffer.from(t);
        for (let j = 0; j < KAPPA; j++) ts[j >>> 3]! ^= s[j]! << (j & 7);
        expect(hex(notMine.subarray(0, 4))).toBe(refTccr(ts, 0n, TWEAK_DOMAIN_OT).toString('hex'));
      }
    }
    expect(hex(received.blocks.subarray(0, 8))).toBe(KAT.iknp);
    expect(() => tx.extend(m, message.subarray(1))).toThrow(PpnnError);
  });

  it('10^5 chosen OTs over the memory transport: base OT, random OTs, derandomisation', async () => {
    const [client, server] = memoryPair();
    const m = 100_000;
    const [rx, tx] = await Promise.all([otSetupReceiver(client), otSetupSender(server)]);
    const rnd = seeded('messages');
    const x0 = new Uint32Array(rnd(16 * m).buffer),
      x1 = new Uint32Array(rnd(16 * m).buffer);
    const b = rnd(m).map((v) => v & 1);
    const received = randomOtReceive(client, rx, m); // preprocessing: no choice known yet
    const sent = await randomOtSend(server, tx, m);
    chooseSend(client, received, b); // later: the real choices
    const [, got] = await Promise.all([transferSend(server, sent, x0, x1), transferReceive(client, received, b)]);
    let wrong = 0,
      leaked = 0;
    for (let i = 0; i < m; i++) {
      const want = b[i] ? x1 : x0,
        other = b[i] ? x0 : x1;
      for (let w = 4 * i; w < 4 * i + 4; w++) if (got[w] !== want[w]) wrong++;
      if (got[4 * i] === other[4 * i] && got[4 * i + 1] === other[4 * i + 1]) leaked++;
    }
    expect(wrong).toBe(0);
    expect(leaked).toBe(0);
    // a second batch continues the PRG streams and tweaks: still correct
    const rec2 = randomOtReceive(client, rx, 300);
    const sent2 = await randomOtSend(server, tx, 300);
    for (let i = 0; i < 300; i++) {
      const mine = rec2.choices[i] ? sent2.blocks1 : sent2.blocks0;
      expect(mine[4 * i]).toBe(rec2.blocks[4 * i]);
    }
    client.close();
  }, 30_000);
});

/**
 * Sender's-view independence: the sender holds s, its 128 keys, the columns u, and the
 * derandomisation bits d. For every OT it can form its row q_i, the row u_i and d_i: 257
 * binary features. A 2×2 χ² of each feature against the receiver's random choice r_i and
 * its real choice b_i, max over features, threshold 36 (Bonferroni for family α ≈ 1e-6).
 */
function maxChiSquare(variant: 'real' | 'forgot-mask' | 'd-unpadded'): number {
  const r = seeded(`view-${variant}`);
  const keys0 = r(16 * KAPPA),
    keys1 = r(16 * KAPPA);
  const s = r(KAPPA).map((v) => v & 1);
  s[7] = 1; // the broken variant leaks through column 7 when the sender holds k1_7
  const keys = new Uint8Array(16 * KAPPA);
  for (let j = 0; j < KAPPA; j++) keys.set((s[j] ? keys1 : keys0).subarray(16 * j, 16 * j + 16), 16 * j);
  const m = 4096,
    bytes = m / 8;
  const rx = new IknpReceiver(keys0, keys1);
  let { message, received } = rx.extend(m);
  if (variant === 'forgot-mask') {
    // a receiver that forgets t_7 = G(k0_7) in column 7: u_7 = G(k1_7) ⊕ r
    const g1 = prgStream(keys1.subarray(16 * 7, 16 * 8), 0, bytes),
      rBits = packBits(received.choices);
    message = new Uint8Array(message);
    for (let i = 0; i < bytes; i++) message[7 * bytes + i] = g1[i]! ^ rBits[i]!;
  }
  const b = r(m).map((v) => v & 1);
  const d = variant === 'd-unpadded' ? b : received.choices.map((c, i) => c ^ b[i]!);
  // the sender's own computation from its view
  const qCols = new Uint32Array(4 * m),
    uCols = new Uint32Array(4 * m);
  for (let j = 0; j < KAPPA; j++) {
    const g = prgStream(keys.subarray(16 * j, 16 * j + 16), 0, bytes);
    const u = message.subarray(j * bytes, (j + 1) * bytes);
    new Uint8Array(qCols.buffer).set(s[j] ? g.map((v, i) => v ^ u[i]!) : g, j * bytes);
    new Uint8Array(uCols.buffer).set(u, j * bytes);
  }
  const q = transposeColumns(qCols, m),
    u = transposeColumns(uCols, m);
  const feature = (f: number, i: number): number =>
    f < 128
      ? (q[4 * i + (f >>> 5)]! >>> (f & 31)) & 1
      : f < 256
        ? (u[4 * i + ((f - 128) >>> 5)]! >>> (f & 31)) & 1
        : d[i]!;
  let worst = 0;
  for (const secret of [received.choices, b]) {
    for (let f = 0; f < 257; f++) {
      const n = [0, 0, 0, 0];
      for (let i = 0; i < m; i++) n[2 * feature(f, i) + secret[i]!]!++;
      const [a, bb, c, dd] = n as [number, number, number, number];
      const den = (a + bb) * (c + dd) * (a + c) * (bb + dd);
      const chi = den === 0 ? 0 : (m * (a * dd - bb * c) ** 2) / den;
      worst = Math.max(worst, chi);
    }
  }
  return worst;
}

describe("the receiver's choices are independent of the sender's view", () => {
  it('χ² test: at chance on the real protocol, detects a receiver that forgets one column mask or d = b', () => {
    const real = maxChiSquare('real');
    const forgot = maxChiSquare('forgot-mask');
    const unpadded = maxChiSquare('d-unpadded');
    expect(real).toBeLessThan(36);
    expect(forgot).toBeGreaterThan(1000);
    expect(unpadded).toBeGreaterThan(1000);
  });
});

// Computed once with the reference functions above (refTccr, refPrg, refKdf) and committed;
// baseOt changed when the base OT became Masny–Rindal (receiver first).
const KAT = {
  tccr: '23ea022bc99cf9cf0647c388bd0218bda07e356eba9cf088f1b24d5e6c9b24a7',
  prg: 'fde4fbae4a09e020eff722969f83832b84d4c9c08b4f482861e3a9c6c35bc4d9',
  baseOt: 'dfe2acc9e66649b55563546eececc781de06398295ca3c0836a7db428a23d40d',
  iknp: '0eeb2d36ed26350ef04b574aebde4c2714b2f435f20a33642149b52dbd8054b6',
};
