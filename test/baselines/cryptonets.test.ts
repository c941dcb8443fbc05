/**
 * CryptoNets baseline end to end on a tiny network (real SEAL, real parameters): logits
 * against the float64 forward pass, the level trace, op counts, coded refusals, and every
 * SEAL object freed (also when cancelled).
 */
import { describe, expect, it } from 'vitest';
import { runCryptoNets } from '../../core/baselines/cryptonets.ts';
import { chooseCryptoNetsParams, cryptoNetsLayers, logitBound } from '../../core/baselines/cryptonets-params.ts';
import { liveSealObjects } from '../../core/he/seal.ts';
import { MAX_BITS_128 } from '../../core/he/params.ts';
import { forward } from '../../core/model/forward.ts';
import type { Model } from '../../core/model/types.ts';
import { rng, signedUniform } from '../helpers/random-model.ts';
import { conv3x3 } from '../helpers/small-net.ts';

function tinyNet(seed: number, activation: 'square' | 'relu' | 'poly' = 'square'): Model {
  const r = rng(seed);
  const v = signedUniform(r);
  const weight = v(18, 0.5);
  weight[4] = 0; // a zero weight: skipped, must not change the result
  return {
    name: 'tiny',
    inputShape: [1, 6, 6],
    meta: {},
    layers: [
      conv3x3('conv', 1, 2, weight, v(2, 0.2)),
      activation === 'poly'
        ? { kind: 'poly', name: 'act', a: 0.5, b: 0.3, c: -0.1 }
        : { kind: activation, name: 'act' },
      { kind: 'flatten', name: 'flat' },
      { kind: 'dense', name: 'fc', inFeatures: 32, outFeatures: 3, weight: v(96, 0.4), bias: v(3, 0.1) },
    ],
  };
}

const images = (n: number, seed: number): Float64Array[] => {
  const r = rng(seed);
  return Array.from({ length: n }, () => Float64Array.from({ length: 36 }, () => r() * 2 - 1));
};

function expectClose(got: Float64Array[], model: Model, xs: Float64Array[]): void {
  expect(got).toHaveLength(xs.length);
  xs.forEach((x, j) => {
    const want = forward(model, x);
    const scale = Math.max(1, ...Array.from(want, Math.abs));
    for (let k = 0; k < want.length; k++) expect(Math.abs(got[j]![k]! - want[k]!) / scale).toBeLessThan(1e-3);
  });
}

describe('cryptonets baseline', () => {
  it('matches the float64 forward pass on 8 images, traces levels and counts ops', async () => {
    const model = tinyNet(1);
    const xs = images(8, 2);
    const events: { layer: string; level: number }[] = [];
    const r = await runCryptoNets(model, xs, { onProgress: (e) => events.push({ layer: e.layer, level: e.level }) });
    expectClose(r.logits, model, xs);

    // conv, square, dense: depth 3, 128-bit secure chain [q0, 3 × Δ, P]
    expect(r.params.coeffModulusBits).toHaveLength(5);
    expect(r.params.coeffModulusBits.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(
      MAX_BITS_128[r.params.polyModulusDegree]!,
    );
    expect(r.params.slots).toBe(r.params.polyModulusDegree / 2);

    // level trace: input at the top (3), then one level per multiplicative layer; flatten free
    expect(r.levels.map((l) => [l.layer, l.levels[0], l.levelsUsed])).toEqual([
      ['input', 3, 0],
      ['conv', 2, 1],
      ['act', 1, 1],
      ['flat', 1, 0],
      ['fc', 0, 1],
    ]);
    expect(events.map((e) => e.level)).toEqual([2, 1, 1, 0]);
    expect(r.levels.map((l) => l.ciphertexts)).toEqual([36, 32, 32, 32, 3]);

    // op counts: 36 pixels encrypted, 3 logits decrypted; 2·16·8 conv + 96 dense ct×pt (one zero weight skipped at 16
    // positions)
    expect(r.he).toMatchObject({
      encryptions: 36,
      decryptions: 3,
      ctCtMul: 32,
      relinearizations: 32,
      rotations: 0,
      modSwitches: 0,
    });
    expect(r.he.ctPtMul).toBe(2 * 16 * 9 - 16 + 96);
    expect(r.he.rescales).toBe(32 + 32 + 3);
    expect(r.he.additions).toBe(r.he.ctPtMul - 35 + 32 + 3); // Σ(terms − 1) per output, plus one bias add per output
    expect(r.bytesClientToServer).toBeGreaterThan(36 * 10_000);
    expect(r.bytesServerToClient).toBeGreaterThan(0);
    expect(r.clientMs).toBeGreaterThan(0);
    expect(r.serverMs).toBeGreaterThan(0);
    expect(liveSealObjects()).toBe(0);
  }, 30_000);

  it('evaluates a general poly activation in two levels', async () => {
    const model = tinyNet(3, 'poly');
    const xs = images(4, 4);
    const r = await runCryptoNets(model, xs);
    expectClose(r.logits, model, xs);
    expect(r.levels.find((l) => l.layer === 'act')!.levelsUsed).toBe(2);
    expect(r.he.modSwitches).toBe(32);
    expect(liveSealObjects()).toBe(0);
  }, 30_000);

  it('streams a second, strided and padded convolution through its accumulators', async () => {
    // conv → square → conv (stride 2, padding 1): the second conv is evaluated by scattering
    // each squared output into the windows that contain it, not by gathering its inputs
    const r = rng(7);
    const v = signedUniform(r);
    const model: Model = {
      name: 'two-conv',
      inputShape: [1, 8, 8],
      meta: {},
      layers: [
        conv3x3('c1', 1, 2, v(18, 0.5), v(2, 0.2)),
        { kind: 'square', name: 's1' },
        conv3x3('c2', 2, 3, v(54, 0.4), v(3, 0.1), 2, 1),
        { kind: 'square', name: 's2' }, // keeps c2 a conv (unmerged with fc)
        { kind: 'flatten', name: 'flat' },
        { kind: 'dense', name: 'fc', inFeatures: 27, outFeatures: 4, weight: v(108, 0.3), bias: v(4, 0.1) },
      ],
    };
    const xs = Array.from({ length: 3 }, () => v(64, 1));
    const res = await runCryptoNets(model, xs);
    expectClose(res.logits, model, xs);
    expect(res.levels.map((l) => [l.layer, l.levels[0], l.ciphertexts])).toEqual([
      ['input', 5, 64],
      ['c1', 4, 72],
      ['s1', 3, 72],
      ['c2', 2, 27],
      ['s2', 1, 27],
      ['flat', 1, 27],
      ['fc', 0, 4],
    ]);
    // c2: each output position sums the in-bounds taps of its padded 3×3 window over 2 channels
    let taps = 0;
    for (let oy = 0; oy < 3; oy++)
      for (let ox = 0; ox < 3; ox++)
        for (let a = 0; a < 3; a++)
          for (let b = 0; b < 3; b++) {
            const iy = oy * 2 + a - 1,
              ix = ox * 2 + b - 1;
            if (iy >= 0 && iy < 6 && ix >= 0 && ix < 6) taps++;
          }
    expect(res.he.ctPtMul).toBe(2 * 36 * 9 + 3 * 2 * taps + 108);
    expect(liveSealObjects()).toBe(0);
  }, 30_000);

  it('refuses relu with MODEL_UNSUPPORTED_LAYER naming the layer', async () => {
    await expect(runCryptoNets(tinyNet(1, 'relu'), images(2, 5))).rejects.toMatchObject({
      code: 'MODEL_UNSUPPORTED_LAYER',
      message: expect.stringContaining("'act'"),
    });
    expect(liveSealObjects()).toBe(0);
  });

  it('validates inputs and frees everything when cancelled', async () => {
    await expect(runCryptoNets(tinyNet(1), [new Float64Array(5)])).rejects.toMatchObject({ code: 'SHAPE_MISMATCH' });
    const ac = new AbortController();
    const run = runCryptoNets(tinyNet(1), images(2, 6), { signal: ac.signal, onProgress: () => ac.abort() });
    await expect(run).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(liveSealObjects()).toBe(0);
  }, 30_000);

  it('sizes parameters from depth and the logit bound', () => {
    const model = tinyNet(1);
    const layers = cryptoNetsLayers(model);
    const p = chooseCryptoNetsParams(model, layers);
    expect(p.depth).toBe(3);
    // q0 holds |logit| ≤ bound at scale Δ with sign and margin
    expect(2 ** (p.coeffModulusBits[0]! - p.scaleBits)).toBeGreaterThanOrEqual(4 * logitBound(model, layers));
    // a deeper square network needs a longer chain; far too deep is refused with HE_PARAMS
    const deep: Model = {
      ...model,
      layers: Array.from({ length: 40 }, (_, i) => ({ kind: 'square' as const, name: `sq${i}` })),
      inputShape: [3],
    };
    expect(() => chooseCryptoNetsParams(deep, cryptoNetsLayers(deep))).toThrow(
      expect.objectContaining({ code: 'HE_PARAMS' }),
    );
  });
});
