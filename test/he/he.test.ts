/**
 * End-to-end CKKS preprocessing at N = 8192 (the real parameter size): shares and
 * products against the plaintext layer, fast vs reference, masking of every slot,
 * circuit privacy (statistical test), coded errors and SEAL object ownership.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  HeClient,
  HeServer,
  chooseParams,
  liveSealObjects,
  maxUploadScaleBits,
  planLayer,
  rotationStepsFor,
} from '../../core/he/index.ts';
import type { Layout } from '../../core/he/index.ts';
import { conv2d, dense } from '../../core/model/forward.ts';
import type { Conv2dLayer, DenseLayer, Shape } from '../../core/model/types.ts';
import { convLayer } from '../helpers/small-net.ts';
import { rejectedCode as code } from '../helpers/error-code.ts';

const rand = (n: number, range = 1, sparsity = 0) =>
  Float64Array.from({ length: n }, () => (Math.random() < sparsity ? 0 : (Math.random() * 2 - 1) * range));

function conv(
  name: string,
  inC: number,
  outC: number,
  k: number,
  stride: number,
  pad: number,
  sparsity = 0.2,
): Conv2dLayer {
  return convLayer(name, inC, outC, { k, weight: rand(outC * inC * k * k, 0.5, sparsity), stride, padding: pad });
}
/** 2×2 average pooling on 4 channels written as a depthwise conv: mostly zero weights. */
function avgpoolAsConv(): Conv2dLayer {
  const C = 4,
    w = new Float64Array(C * C * 4);
  for (let c = 0; c < C; c++) for (let i = 0; i < 4; i++) w[(c * C + c) * 4 + i] = 0.25;
  return convLayer('pool', C, C, { k: 2, weight: w, stride: 2 });
}

const layers: { layer: Conv2dLayer | DenseLayer; shape: Shape }[] = [
  { layer: conv('conv1', 1, 8, 6, 2, 0), shape: [1, 28, 28] },
  { layer: conv('conv_s1_pad', 3, 4, 3, 1, 1), shape: [3, 8, 8] },
  { layer: avgpoolAsConv(), shape: [4, 8, 8] },
  {
    layer: {
      kind: 'dense',
      name: 'fc',
      inFeatures: 256,
      outFeatures: 10,
      weight: rand(2560, 0.1, 0.1),
      bias: new Float64Array(10),
    },
    shape: [256],
  },
];

/** Rows of 2-norm ≈ 200, like the dense map a BatchNorm1d scales per feature (docs/ONNX.md). */
const wideRows: { layer: DenseLayer; shape: Shape } = {
  layer: {
    kind: 'dense',
    name: 'wide_rows',
    inFeatures: 256,
    outFeatures: 16,
    weight: rand(4096, 21.7),
    bias: new Float64Array(16),
  },
  shape: [256],
};

const params = chooseParams({ depth: 2, maxAbsValue: 2 ** 12, precision: 1e-6 });
const S_RANGE = 1024,
  A_RANGE = 4,
  T_RANGE = 4096;
const sessions = new Map<Layout, { client: HeClient; server: HeServer }>();

beforeAll(async () => {
  for (const layout of ['fast', 'reference'] as const) {
    const client = await HeClient.create(params, {
      rotationSteps: rotationStepsFor(
        [...layers, wideRows].map((l) => ({ spec: l.layer, inputShape: l.shape })),
        layout,
        params.polyModulusDegree / 2,
      ),
    });
    sessions.set(layout, { client, server: await HeServer.create(params, client.setupMessage()) });
  }
}, 30_000);

afterAll(async () => {
  for (const { client, server } of sessions.values()) {
    client.delete();
    await server.delete();
  }
  expect(liveSealObjects()).toBe(0);
});

function reference(layer: Conv2dLayer | DenseLayer, r: Float64Array, shape: Shape): Float64Array {
  return layer.kind === 'dense' ? dense(layer, r) : conv2d(layer, r, shape);
}

/** max |got − want| with a readable failure message (result, reference, difference). */
function expectClose(got: Float64Array, want: Float64Array, tol: number, what: string): void {
  let worst = 0,
    at = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i]! - want[i]!);
    if (d > worst) {
      worst = d;
      at = i;
    }
  }
  if (!(worst <= tol))
    throw new Error(
      `${what}: max abs error ${worst.toExponential(3)} > ${tol} at ${at}: result ${got[at]} reference ${want[at]} ` +
        `diff ${got[at]! - want[at]!}`,
    );
}

async function run(
  layout: Layout,
  l: { layer: Conv2dLayer | DenseLayer; shape: Shape },
  masks: Float64Array[],
  product: boolean,
  server?: HeServer,
) {
  const s = sessions.get(layout)!;
  const cts = s.client.encryptMasks(l.layer, masks, layout, { inputShape: l.shape, product });
  const res = await (server ?? s.server).evaluate(l.layer, cts, masks.length, {
    layout,
    sRange: S_RANGE,
    product: product ? { aRange: A_RANGE, tRange: T_RANGE } : undefined,
    inputShape: l.shape,
  });
  return { cts, res, dec: s.client.decryptShares(l.layer, res.response, masks.length) };
}

describe('CKKS preprocessing: share = M·r − s', () => {
  for (const layout of ['fast', 'reference'] as const)
    for (const l of layers) {
      it(`${l.layer.name} (${layout}): decrypt + s equals M·r and the product is (M·r)⊙a − t`, async () => {
        const B = 3;
        const s0 = sessions.get(layout)!;
        const masks = Array.from({ length: B }, () => rand(l.shape.reduce((a, b) => a * b, 1)));
        const { res, dec } = await run(layout, l, masks, true);
        for (let b = 0; b < B; b++) {
          const want = reference(l.layer, masks[b]!, l.shape);
          expectClose(
            dec.share[b]!.map((x, k) => x + res.s[b]![k]!),
            want,
            1e-4,
            `share ${b}`,
          );
          expectClose(
            dec.product![b]!.map((x, k) => x + res.t![b]![k]!),
            want.map((x, k) => x * res.a![b]![k]!),
            1e-3,
            `product ${b}`,
          );
          // s is one uniform mask per slot, summed over the fold group when the client folds (client-fold.ts)
          const plan = planLayer(l.layer, {
            images: B,
            slots: s0.client.slots,
            layout,
            inputShape: l.shape,
            steps: s0.client.rotationSteps,
            product: true,
            clientFold: true,
          });
          const group = Math.max(...plan.outputs.map((o) => 2 ** (o.clientFold?.length ?? 0)));
          for (const v of res.s[b]!) expect(Math.abs(v)).toBeLessThanOrEqual(group * S_RANGE);
        }
      });
    }

  it('fast conv uses fewer rotations than the reference (one per kernel offset), and both agree', async () => {
    const l = layers[0]!;
    const masks = [rand(784), rand(784)];
    const counts: Record<string, number> = {};
    const results: Float64Array[][] = [];
    for (const layout of ['fast', 'reference'] as const) {
      const conv1 = () => sessions.get(layout)!.server.stats.layers.find((x) => x.layer === 'conv1');
      const before = conv1()?.ops.rotations ?? 0;
      const { res, dec } = await run(layout, l, masks, false);
      counts[layout] = conv1()!.ops.rotations - before;
      results.push(dec.share.map((v, b) => v.map((x, k) => x + res.s[b]![k]!)));
    }
    expect(counts.fast).toBeLessThan(counts.reference!); // chosen by the cost model: 0 when no keys (test/he/layout)
    expect(counts.reference).toBe(35); // 6×6 offsets minus the zero shift, one input ciphertext
    for (let b = 0; b < 2; b++) expectClose(results[0]![b]!, results[1]![b]!, 1e-4, `fast vs reference image ${b}`);
  });
});

describe('masking and circuit privacy', () => {
  it('every slot of every returned ciphertext is masked', async () => {
    const s = sessions.get('fast')!;
    const l = layers[3]!; // dense: 16 of 4096 slots per image used, the rest must still be masked
    const { res } = await run('fast', l, [rand(256)], true);
    for (const [i, bytes] of res.response.entries()) {
      const slots = s.client.decryptRaw(bytes, i < res.response.length / 2 ? 'share' : 'product');
      const range = i < res.response.length / 2 ? S_RANGE : T_RANGE;
      const small = slots.filter((v) => Math.abs(v) < 1e-3 * range).length;
      expect(small).toBeLessThan(0.01 * slots.length); // uniform mask: expect 0.1 %
      expect(Math.max(...slots.map(Math.abs))).toBeGreaterThan(0.9 * range);
    }
  });

  /**
   * Two-sample Kolmogorov–Smirnov test on the decrypted slots of the responses for two
   * different weight sets (same masks r): with sRange ≫ |M·r| the client cannot tell them
   * apart (D below the α = 0.001 critical value). Control: with sRange ≈ |M·r| the same
   * test does tell them apart, so it has power.
   */
  it('responses for two weight sets are indistinguishable by a KS test (and the test has power)', async () => {
    const s = sessions.get('fast')!;
    const base = layers[3]!.layer as DenseLayer;
    const w1 = { ...base, name: 'ks1', weight: rand(2560, 0.5) };
    const w2 = { ...base, name: 'ks2', weight: rand(2560, 0.5).map((x) => x + 0.4) };
    const masks = Array.from({ length: 16 }, () => rand(256));
    const ks = async (sRange: number) => {
      const slotsOf = async (layer: DenseLayer) => {
        const cts = s.client.encryptMasks(layer, masks, 'fast');
        const res = await s.server.evaluate(layer, cts, masks.length, { layout: 'fast', sRange });
        s.client.decryptShares(layer, res.response, masks.length);
        return res.response.flatMap((b) => [...s.client.decryptRaw(b)]);
      };
      const a = (await slotsOf(w1)).sort((x, y) => x - y),
        b = (await slotsOf(w2)).sort((x, y) => x - y);
      let i = 0,
        j = 0,
        d = 0;
      while (i < a.length && j < b.length) {
        if (a[i]! <= b[j]!) i++;
        else j++;
        d = Math.max(d, Math.abs(i / a.length - j / b.length));
      }
      return { d, critical: 1.95 * Math.sqrt((a.length + b.length) / (a.length * b.length)) };
    };
    const hidden = await ks(2 ** 10 * 60); // |M·r| ≤ Σ|w| ≈ 60 here: 10 bits of statistical hiding
    expect(hidden.d).toBeLessThan(hidden.critical);
    // control: masks narrower than the values. The client folds this layer's partial sums (each a
    // fraction of |M·r|), so "narrow" is below a partial sum's size
    const exposed = await ks(0.25);
    expect(exposed.d).toBeGreaterThan(exposed.critical);
  });
});

describe('validation and memory', () => {
  it('corrupt, truncated, foreign or miscounted ciphertexts: coded errors, objects stay usable', async () => {
    const { client, server } = sessions.get('fast')!;
    const l = layers[3]!;
    const good = client.encryptMasks(l.layer, [rand(256)], 'fast', { product: true });
    const opts = { layout: 'fast' as const, sRange: 8, product: { aRange: 1, tRange: 1 } };
    const live = liveSealObjects();
    const flipHeader = good.map((b) => b.slice());
    flipHeader[0]![9]! ^= 0xff;
    const truncated = good.map((b, i) => (i === 0 ? b.subarray(0, b.length - 100) : b));
    const junk = good.map((b) => {
      const c = b.slice();
      for (let i = 20; i < c.length; i += 211) c[i]! ^= 0x5a;
      return c;
    });
    expect(await code(() => server.evaluate(l.layer, flipHeader, 1, opts))).toBe('CIPHERTEXT_INVALID');
    expect(await code(() => server.evaluate(l.layer, truncated, 1, opts))).toBe('CIPHERTEXT_INVALID');
    expect(await code(() => server.evaluate(l.layer, junk, 1, opts))).toBe('CIPHERTEXT_INVALID');
    expect(await code(() => server.evaluate(l.layer, good.slice(1), 1, opts))).toBe('CIPHERTEXT_INVALID');
    expect(await code(() => server.evaluate(l.layer, good, 1, { ...opts, product: undefined }))).toBe(
      'PARAMS_MISMATCH',
    ); // level 2 ≠ 1
    expect(
      await code(() => server.evaluate({ ...(l.layer as DenseLayer), weight: new Float64Array(5) }, good, 1, opts)),
    ).toBe('SHAPE_MISMATCH');
    // a ciphertext made under other parameters
    const other = chooseParams({ depth: 1, maxAbsValue: 2 ** 12, precision: 1e-6 });
    const foreign = await HeClient.create(other, {
      rotationSteps: rotationStepsFor([{ spec: l.layer }], 'fast', other.polyModulusDegree / 2),
    });
    try {
      const fct = foreign.encryptMasks(l.layer, [rand(256)], 'fast');
      expect(await code(() => server.evaluate(l.layer, fct, 1, { ...opts, product: undefined }))).toBe(
        'PARAMS_MISMATCH',
      );
      expect(await code(() => HeServer.create(params, foreign.setupMessage()))).toBe('PARAMS_MISMATCH');
    } finally {
      foreign.delete();
    }
    expect(liveSealObjects()).toBe(live); // nothing leaked by the failures
    // still usable: a correct round trip on the same objects
    const res = await server.evaluate(l.layer, good, 1, opts);
    expect(await code(() => client.decryptShares(l.layer, res.response.slice(1), 1))).toBe('CIPHERTEXT_INVALID');
    const bad = res.response.map((b) => b.slice());
    bad[0]![3] = 9;
    expect(await code(() => client.decryptRaw(bad[0]!))).toBe('CIPHERTEXT_INVALID');
    const dec = client.decryptShares(l.layer, res.response, 1);
    expect(dec.share[0]!.length).toBe(10);
    expect(liveSealObjects()).toBe(live);
  });

  it('a worker pool of 2 gives the same results as inline evaluation', async () => {
    const { client } = sessions.get('fast')!;
    const pooled = await HeServer.create(params, client.setupMessage(), { workers: 2 });
    try {
      const l = layers[0]!;
      const masks = [rand(784), rand(784)];
      const { res, dec } = await run('fast', l, masks, true, pooled);
      for (let b = 0; b < 2; b++)
        expectClose(
          dec.share[b]!.map((x, k) => x + res.s[b]![k]!),
          reference(l.layer, masks[b]!, l.shape),
          1e-4,
          `pooled share ${b}`,
        );
      expect(pooled.stats.layers.find((x) => x.layer === 'conv1')!.ops.ctPtMul).toBeGreaterThan(0);
    } finally {
      await pooled.delete();
    }
  }, 30_000);
});

describe('upload scale Δ·2^b (precision plan: uploadScaleBits)', () => {
  it('divides the upload noise of large-norm rows; inline and pooled agree; a wrong b is refused', async () => {
    // its own server: the shared one's pool of encryptions of zero is left as the other tests found it
    const { client } = sessions.get('fast')!;
    const server = await HeServer.create(params, client.setupMessage());
    const l = wideRows;
    const masks = [rand(256), rand(256)];
    const worst = async (b: number, srv: HeServer = server) => {
      const cts = client.encryptMasks(l.layer, masks, 'fast', { uploadScaleBits: b });
      const res = await srv.evaluate(l.layer, cts, 2, { layout: 'fast', sRange: S_RANGE, uploadScaleBits: b });
      const dec = client.decryptShares(l.layer, res.response, 2);
      let e = 0;
      masks.forEach((r, i) => {
        const want = reference(l.layer, r, l.shape);
        dec.share[i]!.forEach((x, k) => (e = Math.max(e, Math.abs(x + res.s[i]![k]! - want[k]!))));
      });
      return e;
    };
    const bMax = maxUploadScaleBits(params, 1);
    expect(bMax).toBeGreaterThanOrEqual(6);
    const b = Math.min(7, bMax);
    const e0 = await worst(0),
      eb = await worst(b);
    // the measured errors (stdout) back the precision plan's terms in core/protocol/precision.ts
    console.log(
      `wide rows (‖M‖₂ ≈ 200): max share error ${e0.toExponential(2)} at b = 0, ${eb.toExponential(2)} at b = ${b}`,
    );
    expect(eb).toBeLessThan(e0 / 4);
    const pooled = await HeServer.create(params, client.setupMessage(), { workers: 2 });
    try {
      expect(await worst(b, pooled)).toBeLessThan(e0 / 4);
    } finally {
      await pooled.delete();
    }
    // the server encodes the weights for the b it is told: another scale is refused, not decrypted to garbage
    const cts = client.encryptMasks(l.layer, masks, 'fast', { uploadScaleBits: 3 });
    expect(await code(() => server.evaluate(l.layer, cts, 2, { layout: 'fast', sRange: S_RANGE }))).toBe(
      'PARAMS_MISMATCH',
    );
    expect(() => client.encryptMasks(l.layer, masks, 'fast', { uploadScaleBits: bMax + 1 })).toThrow(RangeError);
    await expect(
      server.evaluate(l.layer, cts, 2, { layout: 'fast', sRange: S_RANGE, uploadScaleBits: -1 }),
    ).rejects.toThrow(RangeError);
    await server.delete();
  }, 60_000);
});
