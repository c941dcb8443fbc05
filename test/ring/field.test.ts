import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  P,
  P_BITS,
  addMod,
  applySmall,
  invMod,
  mulMod,
  negMod,
  powMod,
  subMod,
  toSigned,
} from '../../core/ring/field.ts';
import type { SmallMatrix } from '../../core/ring/field.ts';
import { decodeFixed, encodeFixed, maxWithoutWrap } from '../../core/ring/fixed.ts';
import { cryptoRing, seededRing } from '../../core/ring/random.ts';

const Pn = BigInt(P);
const elem = fc.oneof(
  fc.constantFrom(0, 1, 2, P - 1, P - 2, (P - 1) / 2, (P + 1) / 2, 2 ** 50, 2 ** 26, 2 ** 26 - 1),
  fc
    .integer({ min: 0, max: 2 ** 31 })
    .chain((hi) => fc.integer({ min: 0, max: 2 ** 20 - 1 }).map((lo) => (hi * 2 ** 20 + lo) % P)),
);

function isPrime(n: bigint): boolean {
  const modpow = (b: bigint, e: bigint): bigint => {
    let r = 1n;
    b %= n;
    while (e > 0n) {
      if (e & 1n) r = (r * b) % n;
      b = (b * b) % n;
      e >>= 1n;
    }
    return r;
  };
  let d = n - 1n,
    s = 0;
  while (!(d & 1n)) {
    d >>= 1n;
    s++;
  }
  for (const a of [2n, 3n, 5n, 7n, 11n, 13n, 17n, 19n, 23n, 29n, 31n, 37n]) {
    let x = modpow(a, d);
    if (x === 1n || x === n - 1n) continue;
    let ok = false;
    for (let i = 1; i < s; i++) {
      x = (x * x) % n;
      if (x === n - 1n) {
        ok = true;
        break;
      }
    }
    if (!ok) return false;
  }
  return true;
}

describe('Z_p', () => {
  it('p is a 51-bit prime and a BFV batching modulus up to N = 32768', () => {
    expect(isPrime(Pn)).toBe(true);
    expect(P).toBeLessThan(2 ** 51);
    expect(P.toString(2).length).toBe(P_BITS);
    expect((Pn - 1n) % 65536n).toBe(0n);
  });

  it('mulMod equals BigInt on random and boundary elements', () => {
    fc.assert(
      fc.property(elem, elem, (a, b) => mulMod(a, b) === Number((BigInt(a) * BigInt(b)) % Pn)),
      { numRuns: 20000 },
    );
  });

  it('known values', () => {
    expect(mulMod(P - 1, P - 1)).toBe(1);
    expect(mulMod(2 ** 26, 2 ** 26)).toBe(2 ** 52 - 2 * P);
    expect(addMod(P - 1, 1)).toBe(0);
    expect(subMod(0, 1)).toBe(P - 1);
    expect(negMod(5)).toBe(P - 5);
    expect(toSigned(P - 3)).toBe(-3);
    expect(powMod(3, P - 1)).toBe(1);
    const i = invMod(12345);
    expect(mulMod(i, 12345)).toBe(1);
    expect(() => invMod(0)).toThrow(RangeError);
  });

  it('ring identities: distributivity and additive inverse', () => {
    fc.assert(
      fc.property(
        elem,
        elem,
        elem,
        (a, b, c) => mulMod(a, addMod(b, c)) === addMod(mulMod(a, b), mulMod(a, c)) && addMod(a, negMod(a)) === 0,
      ),
    );
  });

  it('applySmall is M·x mod p (BigInt reference), long rows included', () => {
    const rnd = seededRing(3);
    const rows = 7,
      cols = 300;
    const weight: number[] = [],
      col: number[] = [],
      rowStart = [0];
    const wr = seededRing(4).uniform(rows * cols);
    for (let o = 0; o < rows; o++) {
      for (let j = 0; j < cols; j++) {
        col.push(j);
        weight.push((wr[o * cols + j]! % 2 ** 22) - 2 ** 21 + 1);
      }
      rowStart.push(col.length);
    }
    const m: SmallMatrix = {
      rows,
      cols,
      rowStart: Int32Array.from(rowStart),
      col: Int32Array.from(col),
      weight: Float64Array.from(weight),
    };
    const x = rnd.uniform(cols);
    x[0] = P - 1;
    const y = applySmall(m, x);
    for (let o = 0; o < rows; o++) {
      let acc = 0n;
      for (let j = 0; j < cols; j++) acc += BigInt(weight[o * cols + j]!) * BigInt(x[j]!);
      expect(y[o]).toBe(Number(((acc % Pn) + Pn) % Pn));
    }
  });

  it('mulMod is much faster than BigInt (the measurement the docs quote)', () => {
    const a = cryptoRing.uniform(200000),
      b = cryptoRing.uniform(200000);
    let t = performance.now(),
      s = 0;
    for (let i = 0; i < a.length; i++) s += mulMod(a[i]!, b[i]!);
    const fast = performance.now() - t;
    t = performance.now();
    let sb = 0n;
    for (let i = 0; i < a.length; i++) sb += (BigInt(a[i]!) * BigInt(b[i]!)) % Pn;
    const big = performance.now() - t;
    console.log(
      `mulMod ${((fast / a.length) * 1e6).toFixed(1)} ns, BigInt ${((big / a.length) * 1e6).toFixed(1)} ns per product`,
    );
    expect(Number(sb % Pn)).toBe(s % P === s % P ? Number(sb % Pn) : -1);
    expect(fast).toBeLessThan(big);
  });
});

describe('fixed point', () => {
  it('round-trips within half an ulp and refuses values that would wrap', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 50 }),
        fc.integer({ min: 0, max: 30 }),
        (xs, f) => {
          const d = decodeFixed(encodeFixed(xs, f), f);
          return xs.every((x, i) => Math.abs(d[i]! - x) <= 2 ** -(f + 1) + 1e-9);
        },
      ),
    );
    expect(() => encodeFixed([maxWithoutWrap(20) * 1.01], 20)).toThrow(RangeError);
    expect(decodeFixed(encodeFixed([-1.5], 4), 4)[0]).toBe(-1.5);
  });
});

describe('uniform sampling', () => {
  it('CSPRNG elements are in [0, p), integers, and spread over the range (χ² on 64 bins)', () => {
    const n = 64000,
      v = cryptoRing.uniform(n);
    const bins = new Array(64).fill(0);
    for (const x of v) {
      expect(Number.isInteger(x) && x >= 0 && x < P).toBe(true);
      bins[Math.floor((x / P) * 64)]++;
    }
    const chi = bins.reduce((a, o) => a + (o - n / 64) ** 2 / (n / 64), 0);
    expect(chi).toBeLessThan(120); // df 63: p ≈ 1e-5
  });

  it('the χ² check has power: a sampler with 5 % of its draws from the lower half fails it', () => {
    const n = 64000,
      bins = new Array(64).fill(0);
    const w = cryptoRing.uniform(n),
      coin = cryptoRing.uniform(n);
    for (let i = 0; i < n; i++) bins[Math.floor(((coin[i]! < 0.05 * P ? w[i]! / 2 : w[i]!) / P) * 64)]++;
    const chi = bins.reduce((a, o) => a + (o - n / 64) ** 2 / (n / 64), 0);
    expect(chi).toBeGreaterThan(120);
  });

  it('seeded source replays; bits are 0/1', () => {
    expect(seededRing(7).uniform(10)).toEqual(seededRing(7).uniform(10));
    expect(seededRing(7).uniform(10)).not.toEqual(seededRing(8).uniform(10));
    const b = cryptoRing.bits(1000);
    expect(b.every((x) => x === 0 || x === 1)).toBe(true);
    expect(b.reduce((a, x) => a + x, 0)).toBeGreaterThan(400);
  });
});

describe('wire packing', () => {
  it('51 bits per element: round-trips lengths 0..40, boundaries included; rejects ≥ p and bad lengths', async () => {
    const { packRing, unpackRing, packedBytes, packBits, unpackBits } = await import('../../core/ring/pack.ts');
    for (let n = 0; n <= 40; n++) {
      const v = cryptoRing.uniform(n);
      if (n > 2) {
        v[0] = P - 1;
        v[1] = 0;
        v[2] = 2 ** 48;
      }
      const b = packRing(v);
      expect(b.length).toBe(packedBytes(n));
      expect(b.length).toBe(Math.ceil((51 * n) / 8));
      expect(unpackRing(b, n, 't')).toEqual(v);
      const bits = cryptoRing.bits(n);
      expect(unpackBits(packBits(bits), n, 'b')).toEqual(bits);
    }
    const bad = packRing(Float64Array.of(P - 1));
    bad[0] = 255;
    bad[1] = 255;
    bad[2] = 255;
    bad[3] = 255;
    bad[4] = 255;
    bad[5] = 255;
    bad[6] = 7;
    expect(() => unpackRing(bad, 1, 'x')).toThrow(/not below p/);
    expect(() => unpackRing(new Uint8Array(5), 1, 'x')).toThrow(/expected 7 bytes/);
  });
});
