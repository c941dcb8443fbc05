import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { P, addMod, mulMod, subMod, toSigned } from '../../core/ring/field.ts';
import { cryptoRing } from '../../core/ring/random.ts';
import {
  checkTrunc,
  clientOpening,
  maskBits,
  serverOpening,
  serverTruncMaterial,
  squareClient,
  squareFactors,
  squareServer,
  truncClientShare,
  truncServerShare,
  type TruncSpec,
} from '../../core/ring/truncate.ts';

/** Run truncation (and the square) on shares of `ys` with the OLEs made in the clear (what BFV computes). */
function simulate(t: TruncSpec, y: number[]) {
  const n = y.length,
    R = cryptoRing;
  const yv = Float64Array.from(y, (v) => (v < 0 ? v + P : v));
  const ys = R.uniform(n),
    yc = Float64Array.from(yv, (v, i) => subMod(v, ys[i]!));
  const A = R.uniform(n),
    { q, x } = serverTruncMaterial(t, A);
  const b = R.bits(n),
    nu = R.uniform(n),
    mu = R.uniform(n),
    rho1 = R.uniform(n),
    rho2 = R.uniform(n);
  const f = squareFactors(t, q, x);
  const hTrunc = Float64Array.from(b, (bi, i) => subMod(bi ? x[i]! : 0, nu[i]!));
  const hSq = Float64Array.from(b, (bi, i) => subMod(bi ? f.b3[i]! : 0, nu[i]!));
  const g = Float64Array.from(rho1, (r1, i) =>
    subMod(addMod(mulMod(r1, f.b1[i]!), mulMod(rho2[i]!, f.b2[i]!)), mu[i]!),
  );
  const d = serverOpening(t, ys, A);
  const { P: Pc, gamma } = clientOpening(t, yc, d);
  const e = maskBits(gamma, b);
  const ts = truncServerShare(q, x, e, nu);
  const trunc = Array.from(truncClientShare(Pc, e, hTrunc), (c, i) => toSigned(addMod(c, ts[i]!)));
  const sq = squareClient(Pc, gamma, e, rho1, rho2, g, hSq);
  const zs = squareServer(q, f, sq.m1, sq.m2, e, mu, nu);
  const square = Array.from(sq.share, (c, i) => addMod(c, zs[i]!));
  return { trunc, square, d };
}

describe('exact truncation on Z_p shares', () => {
  const t: TruncSpec = { l: 40, d: 18 };

  it('y / 2^d to within one ulp for every value, boundaries included; the square is exact in Z_p', () => {
    const lim = 2 ** (t.l - 1) - 1;
    const ys = [0, 1, -1, lim, -lim, 2 ** t.d, -(2 ** t.d), 12345678901, -98765432109];
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -lim, max: lim }), { minLength: 1, maxLength: 40 }), (rnd) => {
        const y = [...ys, ...rnd];
        const { trunc, square } = simulate(t, y);
        return (
          y.every((v, i) => {
            const want = Math.floor(v / 2 ** t.d);
            const tr = trunc[i]!;
            if (Math.abs(tr - want) > 1) return false;
            return true;
          }) && square.every((z) => z >= 0 && z < P)
        );
      }),
      { numRuns: 200 },
    );
  });

  it('z = (y′)² exactly where y′ is the truncated value of the same run', () => {
    // the square uses the same opening as the truncation; compare with the client-side view
    const y = Array.from({ length: 2000 }, (_, i) => Math.round((i - 1000) * 2 ** 28.3));
    const { trunc, square } = simulate(t, y);
    // trunc and square come from one opening, so z must be trunc² (mod p)
    y.forEach((_, i) =>
      expect(square[i]).toBe(
        mulMod(trunc[i]! < 0 ? trunc[i]! + P : trunc[i]!, trunc[i]! < 0 ? trunc[i]! + P : trunc[i]!),
      ),
    );
  });

  it("the server's opening d is uniform whatever y is (χ² over 32 bins, y constant vs. y varied)", () => {
    const n = 32000;
    for (const y of [Array(n).fill(2 ** 38), Array.from({ length: n }, (_, i) => i - n / 2)]) {
      const { d } = simulate(t, y);
      const bins = new Array(32).fill(0);
      for (const v of d) bins[Math.floor((v / P) * 32)]++;
      const chi = bins.reduce((a, o) => a + (o - n / 32) ** 2 / (n / 32), 0);
      expect(chi).toBeLessThan(70); // df 31, p ≈ 1e-4
    }
  });

  it('rejects impossible specs', () => {
    expect(() => checkTrunc({ l: 51, d: 3 })).toThrow(RangeError);
    expect(() => checkTrunc({ l: 10, d: 10 })).toThrow(RangeError);
    checkTrunc({ l: 49, d: 20 });
  });
});
