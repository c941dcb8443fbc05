import { createCipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  activationCircuit,
  activationReference,
  decodeActivation,
  ringBits,
  type ActivationSpec,
} from '../../core/gc/activation-circuit.ts';
import { evaluateArithOutputs, garbleArithOutputs } from '../../core/gc/arith-output.ts';
import { CircuitBuilder, evaluatePlain, readBits, writeBits, type Circuit } from '../../core/gc/circuit.ts';
import {
  activeLabels,
  evaluate,
  evaluateLabels,
  garble,
  GARBLE_CHUNK,
  randomDelta,
  tweaksUsed,
} from '../../core/gc/garble.ts';
import { FIXED_KEY, FixedKeyPermutation, TWEAK_DOMAIN_GARBLE } from '../../core/gc/hash.ts';
import { mulberry32 } from '../../core/data/datasets.ts';

// primes < 2^52 of several widths: 52, 41, 40 (a BFV batching prime, ≡ 1 mod 2^14), 30 bits, and a tiny one
const PRIMES = [4503599627370449, 2199023255531, 1099511480321, 1073741789, 97];

/** Garble `count` instances, evaluate with the active labels of `inputs` (instance-major bits); return output bits. */
function runGarbled(c: Circuit, count: number, inputs: Uint8Array, perm = new FixedKeyPermutation()): Uint8Array {
  const delta = randomDelta();
  const g = garble(perm, c, count, delta, 1000);
  expect(g.tables.byteLength).toBe(32 * c.andCount * count);
  const labels = activeLabels(g.inputZero, inputs, delta);
  return evaluate(perm, c, count, labels, g.tables, g.decode, 1000);
}

function randomBelow(rng: () => number, p: number): number {
  return Math.floor(rng() * p); // rng has 32 bits; combine two draws for wide p
}
function wide(rng: () => number, p: number): number {
  return Math.floor((rng() * 2 ** 26 + Math.floor(rng() * 2 ** 26)) * (p / 2 ** 52)) % p;
}

describe('half-gates AND gate', () => {
  it('table equals the ZRE15 formulas computed with node:crypto; all four inputs evaluate correctly', () => {
    const cb = new CircuitBuilder('and');
    const [x, y] = [cb.input(1)[0]!, cb.input(1)[0]!];
    const c = cb.compile([cb.and(x, y)]);
    expect(c.andCount).toBe(1);
    const delta = Uint32Array.of(0x11111111, 0x22222222, 0x33333333, 0x44444445 >>> 0);
    delta[0]! |= 1;
    const zero = Uint32Array.of(1, 2, 3, 4, 0xdeadbeef, 6, 7, 8); // A0 (lsb 1), B0 (lsb 1)
    const perm = new FixedKeyPermutation();
    const g = garble(perm, c, 1, delta, 40, zero);
    const buf = (w: Uint32Array): Buffer => Buffer.from(w.buffer, w.byteOffset, 16);
    const xor = (...bs: Buffer[]): Buffer => bs.reduce((a, b) => Buffer.from(a.map((v, i) => v ^ b[i]!)));
    const H = (x: Buffer, j: number): Buffer => {
      const sig = Buffer.concat([x.subarray(8), xor(x.subarray(0, 8), x.subarray(8))]);
      const tw = Buffer.alloc(16);
      tw.writeUInt32LE(j, 0);
      tw.writeUInt32LE(TWEAK_DOMAIN_GARBLE, 12);
      const e = createCipheriv('aes-128-ecb', FIXED_KEY, null).setAutoPadding(false).update(xor(sig, tw));
      return xor(e, sig);
    };
    const A0 = buf(zero.subarray(0, 4)),
      B0 = buf(zero.subarray(4)),
      D = buf(delta);
    const A1 = xor(A0, D),
      B1 = xor(B0, D);
    const TG = xor(H(A0, 40), H(A1, 40), D); // pb = 1
    const TE = xor(H(B0, 41), H(B1, 41), A0);
    expect(Buffer.from(g.tables.buffer).toString('hex')).toBe(Buffer.concat([TG, TE]).toString('hex'));
    for (const [vx, vy] of [
      [0, 0],
      [0, 1],
      [1, 0],
      [1, 1],
    ] as const) {
      const labels = activeLabels(g.inputZero, Uint8Array.of(vx, vy), delta);
      expect(evaluate(perm, c, 1, labels, g.tables, g.decode, 40)[0]).toBe(vx & vy);
    }
  });
});

describe('circuit builder through garble → evaluate', () => {
  for (const p of PRIMES) {
    const n = ringBits(p);
    it(`add/sub mod p, comparison, multiplexer, shifts: ${n}-bit p = ${p}`, () => {
      const cb = new CircuitBuilder('arith');
      const a = cb.input(n),
        b = cb.input(n),
        s = cb.input(1)[0]!;
      const outs = [
        cb.addMod(a, b, p),
        cb.subMod(a, b, p),
        [cb.lessThan(a, b)],
        cb.mux(s, a, b),
        cb.shiftRight(a, 3),
        cb.shiftLeft(a, 2),
      ];
      const c = cb.compile(outs.flat());
      const widths = outs.map((o) => o.length);
      const rng = mulberry32(n);
      const edge = [0, 1, 2, (p - 1) / 2, (p + 1) / 2, p - 2, p - 1];
      const pairs: [number, number][] = [];
      for (const x of edge) for (const y of edge) pairs.push([x, y]);
      while (pairs.length < GARBLE_CHUNK + 77) pairs.push([wide(rng, p), wide(rng, p)]); // > one chunk
      const inputs = new Uint8Array(c.inputCount * pairs.length);
      pairs.forEach(([x, y], k) => {
        writeBits(x, n, inputs, k * c.inputCount);
        writeBits(y, n, inputs, k * c.inputCount + n);
        inputs[k * c.inputCount + 2 * n] = k & 1;
      });
      const bits = runGarbled(c, pairs.length, inputs);
      const nOut = c.outputs.length;
      pairs.forEach(([x, y], k) => {
        const plain = evaluatePlain(c, inputs.subarray(k * c.inputCount, (k + 1) * c.inputCount));
        expect(Array.from(bits.subarray(k * nOut, (k + 1) * nOut))).toEqual(Array.from(plain));
        let at = k * nOut;
        const read = (w: number): number => {
          const v = readBits(bits, at, w);
          at += w;
          return v;
        };
        const got = widths.map(read);
        const want = [(x + y) % p, (x - y + p) % p, x < y ? 1 : 0, k & 1 ? y : x, Math.floor(x / 8), (x * 4) % 2 ** n];
        if (got.some((v, i) => v !== want[i])) throw new Error(`p=${p} x=${x} y=${y}: got ${got}, want ${want}`);
      });
    });
  }

  it('hashes every AND gate of a level, for all instances of a chunk, in one cipher call', () => {
    const { circuit } = activationCircuit({ p: PRIMES[1]!, truncBits: 12, window: 1, relu: true });
    const andLevels = circuit.levels.filter((l) => l.and.length > 0).length;
    const perm = new FixedKeyPermutation();
    const count = GARBLE_CHUNK + 1; // two chunks
    garble(perm, circuit, count, randomDelta(), 0);
    expect(perm.calls).toBe(2 * andLevels);
    expect(perm.blocks).toBe(4 * circuit.andCount * count);
    expect(tweaksUsed(circuit, count)).toBe(2 * circuit.andCount * count);
  });

  it('rejects bad sizes and deltas', () => {
    const { circuit } = activationCircuit({ p: 97, truncBits: 0, window: 1, relu: true });
    const perm = new FixedKeyPermutation();
    expect(() => garble(perm, circuit, 0, randomDelta(), 0)).toThrow(RangeError);
    expect(() => garble(perm, circuit, 1, new Uint32Array(4), 0)).toThrow(RangeError);
    const g = garble(perm, circuit, 2, randomDelta(), 0);
    expect(() => evaluate(perm, circuit, 2, new Uint32Array(4), g.tables, g.decode, 0)).toThrow(RangeError);
    expect(() => evaluate(perm, circuit, 2, g.inputZero, g.tables.subarray(8), g.decode, 0)).toThrow(RangeError);
    expect(() => activationCircuit({ p: 98, truncBits: 0, window: 1, relu: true })).toThrow(RangeError);
    expect(() => activationCircuit({ p: 97, truncBits: 6, window: 1, relu: true })).toThrow(RangeError);
    expect(() => activationCircuit({ p: 97, truncBits: 0, window: 0, relu: true })).toThrow(RangeError);
  });
});

/** Values of `count` windows, boundary values first, ties every 7th; shares a (client) and b' = x − a + h (server). */
function activationInputs(spec: ActivationSpec, count: number) {
  const { p, window: w } = spec;
  const { circuit, layout } = activationCircuit(spec);
  const n = layout.n;
  const rng = mulberry32(p % 1000);
  const h = (p - 1) / 2,
    f2 = 2 ** spec.truncBits;
  const edge = [0, 1, p - 1, h, h + 1, p - 2, 2, h - 1, f2 % p, (p - f2 + p) % p, (f2 - 1) % p, (p - f2 - 1 + p) % p];
  const xs: number[][] = [];
  for (let k = 0; k < count; k++) {
    const vals = Array.from({ length: w }, (_, i) =>
      k < edge.length * 2 ? edge[(k + i) % edge.length]! : wide(rng, p),
    );
    if (k % 7 === 3) vals.fill(edge[k % edge.length]!); // ties
    xs.push(vals);
  }
  const inputs = new Uint8Array(circuit.inputCount * count);
  for (let k = 0; k < count; k++) {
    const base = k * circuit.inputCount;
    for (let i = 0; i < w; i++) {
      const a = wide(rng, p),
        b = (((xs[k]![i]! - a + layout.serverOffset) % p) + p) % p;
      writeBits(a, n, inputs, base + layout.clientAt + i * n);
      writeBits(b, n, inputs, base + layout.serverAt + i * n);
    }
  }
  return { circuit, layout, xs, inputs };
}

describe('activation circuit (ReLU, max-pool, exact truncation, outputs as shares)', () => {
  const cases: ActivationSpec[] = [
    { p: PRIMES[2]!, truncBits: 0, window: 1, relu: true },
    { p: PRIMES[2]!, truncBits: 13, window: 1, relu: true },
    { p: PRIMES[0]!, truncBits: 20, window: 1, relu: true },
    { p: PRIMES[3]!, truncBits: 7, window: 1, relu: true },
    { p: PRIMES[1]!, truncBits: 11, window: 1, relu: false },
    { p: PRIMES[2]!, truncBits: 13, window: 4, relu: true },
    { p: PRIMES[3]!, truncBits: 7, window: 4, relu: false },
    { p: PRIMES[4]!, truncBits: 2, window: 9, relu: false },
    { p: PRIMES[4]!, truncBits: 3, window: 4, relu: true },
  ];
  for (const spec of cases) {
    const kind = spec.relu ? 'ReLU' : 'identity';
    const title = `${kind}, window ${spec.window}, ${ringBits(spec.p)}-bit p, f = ${spec.truncBits}`;
    it(title, () => {
      const { p } = spec;
      const count = 300;
      const { circuit, layout, xs, inputs } = activationInputs(spec, count);
      const n = layout.n,
        w = spec.window,
        f = spec.truncBits;
      // addMod ≤ 3n + 1 per value, 2n per comparison node, f for the truncation borrow, relu n + (n − f) + 1
      expect(circuit.andCount).toBeLessThanOrEqual(
        w * (3 * n + 1) + (w - 1) * 2 * n + f + (spec.relu ? 2 * n - f + 1 : 0),
      );
      const bits = runGarbled(circuit, count, inputs);
      const nOut = circuit.outputs.length;
      for (let k = 0; k < count; k++) {
        const got = decodeActivation(layout, p, bits, k * nOut);
        const want = activationReference(spec, xs[k]!);
        if (got !== want) throw new Error(`x=${xs[k]}: got ${got}, want ${want}`);
      }
    });
  }

  it('output rows turn the output labels into additive shares of the result (both with H0 = 0 and H0 ≠ 0)', () => {
    for (const spec of [
      { p: 2 ** 51 - 131071, truncBits: 13, window: 4, relu: false },
      { p: PRIMES[3]!, truncBits: 7, window: 1, relu: true },
    ]) {
      const count = GARBLE_CHUNK + 9;
      const { circuit, layout, xs, inputs } = activationInputs(spec, count);
      const perm = new FixedKeyPermutation();
      const delta = randomDelta();
      const g = garble(perm, circuit, count, delta, 77);
      const t2 = 77 + tweaksUsed(circuit, count);
      const rows = garbleArithOutputs(perm, g.outputZero, delta, layout.weights, spec.p, count, t2);
      const labels = evaluateLabels(perm, circuit, count, activeLabels(g.inputZero, inputs, delta), g.tables, 77);
      const z = evaluateArithOutputs(perm, labels, rows.tables, circuit.outputs.length, spec.p, count, t2);
      for (let k = 0; k < count; k++) {
        const got = (z[k]! + layout.constant + rows.share[k]!) % spec.p;
        expect(got).toBe(activationReference(spec, xs[k]!));
      }
      // a wrong tweak base reads garbage rows: outside Z_p, or at least not the result
      let bad = 0;
      try {
        const zz = evaluateArithOutputs(perm, labels, rows.tables, circuit.outputs.length, spec.p, count, t2 + 1);
        for (let k = 0; k < count; k++)
          bad += (zz[k]! + layout.constant + rows.share[k]!) % spec.p === activationReference(spec, xs[k]!) ? 0 : 1;
      } catch {
        bad = count;
      }
      expect(bad).toBeGreaterThan(count - 3);
    }
  });
});
