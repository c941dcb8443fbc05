import { afterAll, describe, expect, it } from 'vitest';
import { BfvClient, BfvServer, floodNoise } from '../../core/he/bfv.ts';
import { chooseBfvParams, validateBfvParams } from '../../core/he/bfv-params.ts';
import { planLayer } from '../../core/he/layout.ts';
import { liveSealObjects, withScope } from '../../core/he/seal.ts';
import { P, addMod, mulMod, reduce, subMod } from '../../core/ring/field.ts';
import { cryptoRing, seededRing } from '../../core/ring/random.ts';
import type { Conv2dLayer, DenseLayer } from '../../core/model/types.ts';

const params = chooseBfvParams(P);

function exactLinear(
  weightAt: (o: number, i: number) => number,
  rows: number,
  cols: number,
  r: Float64Array,
): Float64Array {
  const y = new Float64Array(rows);
  for (let o = 0; o < rows; o++) {
    let acc = 0;
    for (let i = 0; i < cols; i++) acc = addMod(acc, mulMod(reduce(weightAt(o, i)), r[i]!));
    y[o] = acc;
  }
  return y;
}

describe('BFV preprocessing (real SEAL)', () => {
  afterAll(() => expect(liveSealObjects()).toBe(0));

  it('parameters: 128-bit, flooding gives ≥ 40 bits, client floor enforced', () => {
    validateBfvParams(params, { plainModulus: P, minCircuitPrivacyBits: 40, minSlots: 1 });
    expect(() => validateBfvParams({ ...params, floodBits: params.floodBits - 10 })).toThrow(/claimed/);
    expect(() => validateBfvParams({ ...params, coeffModulusBits: [60, 60, 60, 60, 60, 60, 60, 60] })).toThrow(
      /insecure/,
    );
    expect(() => validateBfvParams(params, { plainModulus: P - 2, minCircuitPrivacyBits: 40, minSlots: 1 })).toThrow(
      /share modulus/,
    );
    expect(() => validateBfvParams({ ...params, plainModulus: 1000003 })).toThrow(/batching/);
  });

  it('dense (fast) and conv (fast, reference) give M·r − s exactly mod p, with room left after flooding', async () => {
    const rnd = seededRing(11);
    const dense: DenseLayer = {
      kind: 'dense',
      name: 'd',
      inFeatures: 20,
      outFeatures: 6,
      weight: Float64Array.from({ length: 120 }, (_, i) => ((i * 7919) % 2001) - 1000),
      bias: new Float64Array(6),
    };
    const conv: Conv2dLayer = {
      kind: 'conv2d',
      name: 'c',
      inChannels: 2,
      outChannels: 3,
      kernel: [3, 3],
      stride: [1, 1],
      padding: [1, 1],
      weight: Float64Array.from({ length: 54 }, (_, i) => ((i * 104729) % 4001) - 2000),
      bias: new Float64Array(3),
    };
    const B = 3;
    const cases = [
      {
        layer: dense,
        layout: 'fast' as const,
        inSize: 20,
        rows: 6,
        w: (o: number, i: number) => dense.weight[o * 20 + i]!,
      },
      { layer: conv, layout: 'fast' as const, inSize: 2 * 25, rows: 3 * 25, w: undefined },
      { layer: conv, layout: 'reference' as const, inSize: 2 * 25, rows: 3 * 25, w: undefined },
    ];
    const steps = new Set<number>();
    const plans = cases.map((c) =>
      planLayer(c.layer, {
        images: B,
        slots: params.polyModulusDegree / 2,
        layout: c.layout,
        inputShape: c.layer.kind === 'conv2d' ? [2, 5, 5] : undefined,
      }),
    );
    for (const p of plans) for (const s of p.rotationSteps) steps.add(s);
    const client = await BfvClient.create(params, [...steps]);
    const server = await BfvServer.create(params, client.setupMessage());
    try {
      cases.forEach((c, ci) => {
        const plan = plans[ci]!;
        const r = Array.from({ length: B }, () => rnd.uniform(c.inSize));
        const req = client.encrypt(c.layer.name, plan.inputVectors(r));
        const s = plan.outputs.map(() => cryptoRing.uniform(params.polyModulusDegree));
        const resp = server.linear(
          c.layer.name,
          plan,
          c.layer.weight,
          req,
          s.map((v) => v.map((x) => (x === 0 ? 0 : P - x))),
        );
        expect(client.noiseBudget(resp[0]!)).toBeGreaterThan(10);
        const dec = client.decrypt(c.layer.name, resp, resp.length);
        for (let b = 0; b < B; b++) {
          // reference M·r by the plaintext forward pass with exact integer arithmetic
          const w = c.w ?? ((o: number, i: number) => convWeight(conv, [2, 5, 5], o, i));
          const mr = exactLinear(w, c.rows, c.inSize, r[b]!);
          for (let k = 0; k < c.rows; k++) {
            const ct = plan.outCt[b * c.rows + k]!,
              slot = plan.outSlot[b * c.rows + k]!;
            expect(addMod(dec[ct]![slot]!, s[ct]![slot]!)).toBe(mr[k]);
          }
        }
      });
    } finally {
      client.delete();
      server.delete();
    }
  });

  it('element-wise products Σ x_k ⊙ B_k − μ over all N slots; flooding changes c0 but not the message', async () => {
    const client = await BfvClient.create(params, []);
    const server = await BfvServer.create(params, client.setupMessage());
    try {
      const N = params.polyModulusDegree;
      const x1 = cryptoRing.uniform(N),
        x2 = cryptoRing.bits(N),
        B1 = cryptoRing.uniform(N),
        B2 = cryptoRing.uniform(N),
        mu = cryptoRing.uniform(N);
      const req = client.encrypt('act', [x1, x2]);
      const [resp] = server.elementwise('act', req, [
        { inputs: [0, 1], factors: [B1, B2], negMask: mu.map((v) => subMod(0, v)) },
      ]);
      const [dec] = client.decrypt('act', [resp!], 1, 'product');
      for (let i = 0; i < N; i += 97)
        expect(dec![i]).toBe(subMod(addMod(mulMod(x1[i]!, B1[i]!), mulMod(x2[i]!, B2[i]!)), mu[i]!));
      // flooding twice on the server's own copy: bytes differ, decryption does not
      const bytes2 = withScope((scope) => {
        const ct = server.he.loadBytes(scope, resp!, 'product', params.sendPrimes - 1, 'again');
        return server.he.saveBytes(floodNoise(server.he, scope, ct), 'product');
      });
      expect(Buffer.compare(Buffer.from(bytes2), Buffer.from(resp!))).not.toBe(0);
      const [dec2] = client.decrypt('act', [bytes2], 1, 'product');
      expect(dec2).toEqual(dec);
    } finally {
      client.delete();
      server.delete();
    }
  });
});

function convWeight(l: Conv2dLayer, shape: [number, number, number], o: number, i: number): number {
  const [C, H, W] = shape,
    [kh, kw] = l.kernel;
  const OW = W + 2 * l.padding[1] - kw + 1;
  const oc = Math.floor(o / (H * OW)),
    pos = o % (H * OW),
    oy = Math.floor(pos / OW),
    ox = pos % OW;
  const c = Math.floor(i / (H * W)),
    iy = Math.floor((i % (H * W)) / W),
    ix = i % W;
  const ky = iy - oy + l.padding[0],
    kx = ix - ox + l.padding[1];
  if (ky < 0 || ky >= kh || kx < 0 || kx >= kw || c >= C) return 0;
  return l.weight[((oc * C + c) * kh + ky) * kw + kx]!;
}
