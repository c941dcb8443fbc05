/**
 * gazelle's online HE step (HeServer.evaluateOnShares): the client encrypts its large share
 * y_c, the server adds y_s, applies A slot-wise and the linear map, and the client's
 * decryption plus s equals M·A(y_c + y_s). Square, general polynomial (β ≠ 0, γ ≠ 0 with
 * padding, which must stay 0), identity; coded errors; op counts; SEAL object ownership.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  HeClient,
  HeServer,
  chooseParams,
  liveSealObjects,
  rotationStepsFor,
  validateParams,
} from '../../core/he/index.ts';
import type { Layout, PolyActivation } from '../../core/he/index.ts';
import { conv2d, dense } from '../../core/model/forward.ts';
import type { Conv2dLayer, DenseLayer, Shape } from '../../core/model/types.ts';
import { convLayer } from '../helpers/small-net.ts';
import { rejectedCode as code } from '../helpers/error-code.ts';

const rand = (n: number, range = 1) => Float64Array.from({ length: n }, () => (Math.random() * 2 - 1) * range);

const convL: Conv2dLayer = convLayer('gconv', 4, 6, { k: 3, weight: rand(6 * 4 * 9, 0.5), stride: 2, padding: 1 });
const denseL: DenseLayer = {
  kind: 'dense',
  name: 'gfc',
  inFeatures: 64,
  outFeatures: 10,
  weight: rand(640, 0.3),
  bias: new Float64Array(10),
};
const cases: { layer: Conv2dLayer | DenseLayer; shape: Shape }[] = [
  { layer: convL, shape: [4, 8, 8] },
  { layer: denseL, shape: [64] },
];

const INPUT_MAX = 2 ** 21,
  S_RANGE = 1024;
const params = chooseParams({ depth: 2, maxAbsValue: 2 ** 12, precision: 1e-6, inputMaxAbs: INPUT_MAX });
let client: HeClient, server: HeServer;

beforeAll(async () => {
  const specs = cases.map((c) => ({ spec: c.layer, inputShape: c.shape }));
  const steps = [
    ...new Set([
      ...rotationStepsFor(specs, 'fast', params.polyModulusDegree / 2),
      ...rotationStepsFor(specs, 'reference', params.polyModulusDegree / 2),
    ]),
  ];
  client = await HeClient.create(params, { rotationSteps: steps, relinKeys: true });
  server = await HeServer.create(params, client.setupMessage());
}, 30_000);

afterAll(async () => {
  client.delete();
  await server.delete();
  expect(liveSealObjects()).toBe(0);
});

const poly = (act: PolyActivation | undefined) => (y: number) => (act ? act.a * y * y + act.b * y + act.c : y);

/** Random large client share, server share so that y = y_c + y_s ∈ [−1, 1]. */
function shares(n: number, B: number) {
  const y = Array.from({ length: B }, () => rand(n));
  const yc = Array.from({ length: B }, () => rand(n, 1e6));
  const ys = y.map((v, b) => v.map((x, i) => x - yc[b]![i]!));
  return { y: y.map((v, b) => v.map((_, i) => yc[b]![i]! + ys[b]![i]!)), yc, ys };
}

async function runOnline(c: (typeof cases)[number], act: PolyActivation | undefined, layout: Layout, B = 2) {
  const n = c.shape.reduce((a, b) => a * b, 1);
  const { y, yc, ys } = shares(n, B);
  const cts = client.encryptMasks(c.layer, yc, layout, {
    inputShape: c.shape,
    online: { activation: act !== undefined },
  });
  const res = await server.evaluateOnShares(c.layer, cts, B, {
    layout,
    sRange: S_RANGE,
    inputShape: c.shape,
    serverShare: ys,
    activation: act,
  });
  const dec = client.decryptShares(c.layer, res.response, B);
  for (let b = 0; b < B; b++) {
    const a = y[b]!.map(poly(act));
    const want = c.layer.kind === 'dense' ? dense(c.layer, a) : conv2d(c.layer, a, c.shape);
    let worst = 0;
    dec.share[b]!.forEach((x, k) => {
      worst = Math.max(worst, Math.abs(x + res.s[b]![k]! - want[k]!));
    });
    expect(worst, `${c.layer.name} ${layout} image ${b}: max abs error`).toBeLessThanOrEqual(1e-4);
  }
  return { cts, res };
}

describe('gazelle: Enc(M·A(y_c + y_s) − s)', () => {
  it('chooses an online chain: top prime ≈ Δ, q0·q1 holds the share', () => {
    expect(params.coeffModulusBits.length).toBe(4);
    expect(params.coeffModulusBits[2]).toBe(params.scaleBits);
    expect(() => validateParams(params, { depth: 2, inputMaxAbs: INPUT_MAX, precision: 1e-6 })).not.toThrow();
  });

  const acts: [string, PolyActivation | undefined][] = [
    ['square', { a: 1, b: 0, c: 0 }],
    ['poly β≠0', { a: 0.25, b: 0.5, c: -0.3 }],
    ['identity', undefined],
  ];
  for (const c of cases)
    for (const [what, act] of acts) {
      it(`${c.layer.name} (fast), ${what}`, async () => {
        const prev = server.stats.layers.find((l) => l.layer === c.layer.name);
        const { cts, res } = await runOnline(c, act, 'fast');
        const l = server.stats.layers.find((x) => x.layer === c.layer.name)!;
        expect(l.ops.ctCtMul - (prev?.ops.ctCtMul ?? 0)).toBe(act ? cts.length : 0);
        expect(l.ops.relinearizations - (prev?.ops.relinearizations ?? 0)).toBe(act ? cts.length : 0);
        const trace = l.ciphertexts.slice(prev?.ciphertexts.length ?? 0).map((r) => `${r.direction}:${r.level}`);
        expect(trace).toEqual([...cts.map(() => `toServer:${act ? 2 : 1}`), ...res.response.map(() => 'toClient:0')]);
      });
    }

  it('reference conv (rotations after the squaring) and an affine activation (α = 0)', async () => {
    await runOnline(cases[0]!, { a: 0.25, b: 0.5, c: -0.3 }, 'reference', 1);
    await runOnline(cases[1]!, { a: 0, b: 2, c: 0.5 }, 'fast', 3);
  });
});

describe('gazelle: validation', () => {
  it('wrong level, count, sizes, activation or missing relinearization keys give coded errors', async () => {
    const c = cases[1]!;
    const { yc, ys } = shares(64, 1);
    const sq = { a: 1, b: 0, c: 0 };
    const level1 = client.encryptMasks(c.layer, yc, 'fast', { online: { activation: false } });
    const level2 = client.encryptMasks(c.layer, yc, 'fast', { online: { activation: true } });
    const opts = { layout: 'fast' as const, sRange: 8, serverShare: ys, activation: sq };
    const live = liveSealObjects();
    expect(await code(() => server.evaluateOnShares(c.layer, level1, 1, opts))).toBe('PARAMS_MISMATCH');
    expect(await code(() => server.evaluateOnShares(c.layer, level2, 1, { ...opts, activation: undefined }))).toBe(
      'PARAMS_MISMATCH',
    );
    expect(await code(() => server.evaluateOnShares(c.layer, level2.slice(1), 1, opts))).toBe('CIPHERTEXT_INVALID');
    expect(
      await code(() => server.evaluateOnShares(c.layer, level2, 1, { ...opts, serverShare: [new Float64Array(3)] })),
    ).toBe('SHAPE_MISMATCH');
    expect(
      await code(() => server.evaluateOnShares(c.layer, level2, 1, { ...opts, activation: { a: 0, b: 0, c: 1 } })),
    ).toBe('RangeError');
    expect(
      await code(() =>
        client.encryptMasks(c.layer, [rand(64, 2 * INPUT_MAX)], 'fast', { online: { activation: true } }),
      ),
    ).toBe('RangeError');
    expect(liveSealObjects()).toBe(live);
    const noRelin = await HeClient.create(params, { rotationSteps: client.rotationSteps });
    const plain = await HeServer.create(params, noRelin.setupMessage());
    try {
      const cts = noRelin.encryptMasks(c.layer, yc, 'fast', { online: { activation: true } });
      expect(await code(() => plain.evaluateOnShares(c.layer, cts, 1, opts))).toBe('HE_PARAMS');
      // an affine activation needs no relinearization
      const res = await plain.evaluateOnShares(c.layer, cts, 1, { ...opts, activation: { a: 0, b: 1, c: 0 } });
      expect(noRelin.decryptShares(c.layer, res.response, 1).share[0]!.length).toBe(10);
    } finally {
      noRelin.delete();
      await plain.delete();
    }
    expect(liveSealObjects()).toBe(live);
  }, 20_000);
});
