/**
 * The ring prediction's op counts (core/runtime/predict-ring.ts) against what BfvServer.linear
 * really does: rotations, ct×pt products and encodings (weights + two per response) of a
 * dense and a convolution plan, in both layouts, counted by the server's own HE stats. And the
 * message bench (latency.ts): a chain it cannot time is refused, a real one takes time.
 */
import { describe, expect, it } from 'vitest';
import { BfvClient, BfvServer } from '../../core/he/bfv.ts';
import { chooseBfvParams } from '../../core/he/bfv-params.ts';
import { planLayer } from '../../core/he/layout.ts';
import type { Conv2dLayer, DenseLayer } from '../../core/model/types.ts';
import { P } from '../../core/ring/field.ts';
import { cryptoRing } from '../../core/ring/random.ts';
import { MessageBench } from '../../core/runtime/latency.ts';
import { bfvLinearCounts } from '../../core/runtime/predict-ring.ts';

describe('ring prediction', () => {
  it('counts the rotations, products and encodings BfvServer.linear makes', async () => {
    const params = chooseBfvParams(P);
    const dense: DenseLayer = {
      kind: 'dense',
      name: 'd',
      inFeatures: 20,
      outFeatures: 6,
      // two zero rows: their weight vectors are skipped, as the server skips them
      weight: Float64Array.from({ length: 120 }, (_, i) => (i >= 40 && i < 80 ? 0 : ((i * 7919) % 2001) - 1000)),
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
    const cases = [
      { layer: dense, layout: 'fast' as const },
      { layer: conv, layout: 'fast' as const },
      { layer: conv, layout: 'reference' as const },
    ];
    const plans = cases.map((c) =>
      planLayer(c.layer, {
        images: 3,
        slots: params.polyModulusDegree / 2,
        layout: c.layout,
        inputShape: c.layer.kind === 'conv2d' ? [2, 5, 5] : undefined,
      }),
    );
    const client = await BfvClient.create(params, [...new Set(plans.flatMap((p) => p.rotationSteps))]);
    const server = await BfvServer.create(params, client.setupMessage());
    try {
      cases.forEach((c, k) => {
        const plan = plans[k]!;
        const name = `${c.layer.name}-${c.layout}`;
        const inSize = c.layer.kind === 'dense' ? 20 : 50;
        const req = client.encrypt(name, plan.inputVectors([0, 1, 2].map(() => cryptoRing.uniform(inSize))));
        const masks = plan.outputs.map(() => new Float64Array(params.polyModulusDegree));
        server.linear(name, plan, c.layer.weight, req, masks);
        const ops = server.stats.layers.find((l) => l.layer === name)!.ops as unknown as Record<string, number>;
        const n = bfvLinearCounts(plan, (pt) => plan.weightVector(c.layer.weight, pt) !== null);
        expect(n.rotations).toBe(ops.rotate ?? ops.rotations);
        expect(n.terms).toBe(ops.mulPlain ?? ops.ctPtMul);
        // per response: the mask − s and the empty plaintext of Enc_pk(0) (both inside the measured finish)
        expect(n.pts + 2 * n.outputs).toBe(ops.encode ?? ops.encodes);
        expect(n.inputs).toBe(req.length);
      });
    } finally {
      server.delete();
      client.delete();
    }
  }, 120_000);

  it('times message chains between two worker threads and refuses chains it cannot time', async () => {
    const bench = MessageBench.start();
    try {
      expect(() => bench.chainMs([{ from: 'server', tag: 'on.act', blobs: [8] }])).toThrow(RangeError);
      const ms = await bench.chainMs(
        [
          { from: 'client', tag: 'on.input', blobs: [6272] },
          { from: 'server', tag: 'on.act', blobs: [1000] },
          { from: 'client', tag: 'on.share', blobs: [1000] },
          { from: 'server', tag: 'on.result', blobs: [80] },
        ],
        3,
      );
      expect(ms).toBeGreaterThan(0);
      expect(ms).toBeLessThan(10_000);
    } finally {
      await bench.close();
    }
  }, 60_000);
});
