import { describe, expect, it } from 'vitest';
import { conv2d, dense } from '../../core/model/forward.ts';
import { convGeometry, planCost, planLayer, simulatePlan } from '../../core/he/layout.ts';
import { planConvDiagonal, planConvIm2col } from '../../core/he/layout-conv.ts';
import { planDenseBsgs } from '../../core/he/layout-dense.ts';
import { foldOffsets, foldedOutputs, replicateOverGroups, withClientFold } from '../../core/he/client-fold.ts';
import { rotationStepsFor } from '../../core/he/setup.ts';
import type { Conv2dLayer, DenseLayer } from '../../core/model/types.ts';
import { convLayer, denseLayer } from '../helpers/small-net.ts';

function rand(n: number, sparsity = 0): Float64Array {
  return Float64Array.from({ length: n }, () => (Math.random() < sparsity ? 0 : Math.random() * 2 - 1));
}

function decodeAll(plan: ReturnType<typeof planLayer>, outs: Float64Array[], B: number): Float64Array[] {
  return Array.from({ length: B }, (_, b) =>
    Float64Array.from(
      { length: plan.outputSize },
      (_, k) => outs[plan.outCt[b * plan.outputSize + k]!]![plan.outSlot[b * plan.outputSize + k]!]!,
    ),
  );
}

function maxDiff(a: Float64Array, b: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

const convCases: [string, Omit<Conv2dLayer, 'weight' | 'bias' | 'kind' | 'name'>, [number, number, number]][] = [
  [
    '1→8 6×6 s2 on 28×28',
    { inChannels: 1, outChannels: 8, kernel: [6, 6], stride: [2, 2], padding: [0, 0] },
    [1, 28, 28],
  ],
  [
    '3→5 3×3 s1 p1 on 7×6',
    { inChannels: 3, outChannels: 5, kernel: [3, 3], stride: [1, 1], padding: [1, 1] },
    [3, 7, 6],
  ],
  [
    '2→4 3×2 s2 p(1,0) on 9×8',
    { inChannels: 2, outChannels: 4, kernel: [3, 2], stride: [2, 2], padding: [1, 0] },
    [2, 9, 8],
  ],
];

describe('slot layouts (plaintext simulation)', () => {
  for (const [name, shape, inShape] of convCases)
    for (const layout of ['fast', 'reference'] as const)
      for (const B of [1, 7]) {
        it(`conv ${name} ${layout} B=${B} equals the plaintext convolution`, () => {
          const layer: Conv2dLayer = {
            kind: 'conv2d',
            name: 'c',
            ...shape,
            weight: rand(shape.outChannels * shape.inChannels * shape.kernel[0] * shape.kernel[1], 0.3),
            bias: new Float64Array(shape.outChannels),
          };
          const masks = Array.from({ length: B }, () => rand(inShape[0] * inShape[1] * inShape[2]));
          const plan = planLayer(layer, { images: B, slots: 1024, layout, inputShape: inShape });
          const got = decodeAll(plan, simulatePlan(plan, layer.weight, masks), B);
          for (let b = 0; b < B; b++) expect(maxDiff(got[b]!, conv2d(layer, masks[b]!, inShape))).toBeLessThan(1e-12);
          if (layout === 'fast' && shape.inChannels === 1) {
            // without Galois keys the planner still finds a rotation-free layout, and it is exact too
            const bare = planLayer(layer, { images: B, slots: 1024, layout, inputShape: inShape, steps: [] });
            expect(bare.rotationSteps).toEqual([]);
            const got2 = decodeAll(bare, simulatePlan(bare, layer.weight, masks), B);
            for (let b = 0; b < B; b++)
              expect(maxDiff(got2[b]!, conv2d(layer, masks[b]!, inShape))).toBeLessThan(1e-12);
          }
        });
      }
  for (const [n, m] of [
    [256, 10],
    [10, 37],
    [100, 100],
    [5, 3],
  ])
    for (const layout of ['fast', 'reference'] as const) {
      it(`dense ${n}→${m} ${layout} equals the plaintext product`, () => {
        const layer: DenseLayer = denseLayer('d', n!, m!, rand(n! * m!, 0.2));
        const B = 5;
        const masks = Array.from({ length: B }, () => rand(n!));
        const plan = planLayer(layer, { images: B, slots: 1024, layout });
        const got = decodeAll(plan, simulatePlan(plan, layer.weight, masks), B);
        for (let b = 0; b < B; b++) expect(maxDiff(got[b]!, dense(layer, masks[b]!))).toBeLessThan(1e-12);
      });
    }
});

describe('fast conv packing choice', () => {
  it('stacks input channels for a multi-channel conv on a batch (fewer uploads) and stays exact', () => {
    const layer: Conv2dLayer = convLayer('conv2', 8, 16, { k: 6, weight: rand(16 * 8 * 36), stride: 2 });
    const B = 16;
    const plan = planLayer(layer, { images: B, slots: 4096, layout: 'fast', inputShape: [8, 12, 12] });
    expect(plan.inputCount).toBeLessThan(8 * 36);
    const masks = Array.from({ length: B }, () => rand(8 * 144));
    const got = decodeAll(plan, simulatePlan(plan, layer.weight, masks), B);
    for (let b = 0; b < B; b++) expect(maxDiff(got[b]!, conv2d(layer, masks[b]!, [8, 12, 12]))).toBeLessThan(1e-12);
  });
});

describe('BSGS dense and channel-diagonal conv', () => {
  it('every BSGS split (server or client baby steps) equals the plaintext product', () => {
    for (const [n, m] of [
      [256, 128],
      [128, 10],
      [10, 37],
      [100, 100],
    ] as const) {
      const layer: DenseLayer = denseLayer('d', n, m, rand(n * m, 0.2));
      const B = 9,
        masks = Array.from({ length: B }, () => rand(n));
      const K = Math.min(2 ** Math.ceil(Math.log2(n)), 2 ** Math.ceil(Math.log2(m)));
      for (let b1 = 1; b1 <= K; b1 *= 2)
        for (const clientBaby of [false, true]) {
          const plan = planDenseBsgs(layer, B, 1024, { b1, clientBaby });
          const got = decodeAll(plan, simulatePlan(plan, layer.weight, masks), B);
          for (let b = 0; b < B; b++) expect(maxDiff(got[b]!, dense(layer, masks[b]!))).toBeLessThan(1e-12);
          // at most two keys beyond the fold steps: the baby step and the giant step
          expect(plan.rotationSteps.length).toBeLessThanOrEqual(
            2 + Math.log2(Math.max(1, 2 ** Math.ceil(Math.log2(n)) / 2 ** Math.ceil(Math.log2(m)))),
          );
        }
    }
  });
  it('the merged MNIST dense1 (256→128) uploads one ciphertext per 16 images instead of 128 copies', () => {
    const layer: DenseLayer = denseLayer('dense1', 256, 128, rand(256 * 128));
    const plan = planLayer(layer, { images: 64, slots: 4096, layout: 'fast', product: true });
    expect(plan.inputCount).toBeLessThanOrEqual((64 / 16) * 16);
    expect(plan.utilisation).toBeGreaterThan(0.06);
    const old = planDenseBsgs(layer, 64, 4096, { b1: 128, clientBaby: true }); // the former client-side diagonals
    expect(planCost(plan, { product: true }).bytes).toBeLessThan(planCost(old, { product: true }).bytes / 4);
  });
  it('the channel-diagonal conv (8→16 on 12×12) is exact and returns one ciphertext per 16 images', () => {
    const layer: Conv2dLayer = convLayer('conv2', 8, 16, { k: 6, weight: rand(16 * 8 * 36, 0.1), stride: 2 });
    const B = 20,
      masks = Array.from({ length: B }, () => rand(8 * 144));
    const plan = planLayer(layer, { images: B, slots: 4096, layout: 'fast', inputShape: [8, 12, 12], product: true });
    expect(plan.description).toMatch(/channel diagonals/);
    expect(plan.outputs.length).toBe(2);
    const got = decodeAll(plan, simulatePlan(plan, layer.weight, masks), B);
    for (let b = 0; b < B; b++) expect(maxDiff(got[b]!, conv2d(layer, masks[b]!, [8, 12, 12]))).toBeLessThan(1e-12);
    for (const [C, O] of [
      [4, 2],
      [3, 5],
    ] as const) {
      // wide (fold) and non-power-of-two channels
      const l2: Conv2dLayer = convLayer('c', C, O, { k: 3, weight: rand(O * C * 9), padding: 1 });
      const diag = planConvDiagonal(l2, convGeometry(l2, [C, 4, 4]), 3, 1024)!;
      const ms = Array.from({ length: 3 }, () => rand(C * 16));
      const g2 = decodeAll(diag, simulatePlan(diag, l2.weight, ms), 3);
      for (let b = 0; b < 3; b++) expect(maxDiff(g2[b]!, conv2d(l2, ms[b]!, [C, 4, 4]))).toBeLessThan(1e-12);
    }
  });
});

describe('folding on the client (client-fold.ts)', () => {
  const conv2: Conv2dLayer = convLayer('c2', 8, 16, { k: 5, weight: rand(16 * 8 * 25) });
  const shape: [number, number, number] = [8, 12, 12];

  it('a folded plan sums each output over its group: decoded by foldedOutputs it equals the convolution', () => {
    for (const B of [1, 3]) {
      const plan = planLayer(conv2, { images: B, slots: 4096, layout: 'fast', inputShape: shape, clientFold: true });
      const folded = withClientFold(planConvIm2col(conv2, convGeometry(conv2, shape), B, 4096, { R: 2, Cb: 8 }));
      expect(folded).not.toBeNull();
      expect(folded!.outputs.every((o) => o.foldSteps.length === 0 && (o.clientFold?.length ?? 0) > 0)).toBe(true);
      for (const p of [plan, folded!]) {
        const masks = Array.from({ length: B }, () => rand(8 * 144));
        // the server's part: the unfolded slots (what simulatePlan gives before the client fold)
        const unfolded = p.outputs.map((o) => ({ ...o, clientFold: [] }));
        const raw = simulatePlan({ ...p, outputs: unfolded }, conv2.weight, masks);
        const got = foldedOutputs(p, B, raw);
        masks.forEach((r, b) => expect(maxDiff(got[b]!, conv2d(conv2, r, shape))).toBeLessThan(1e-9));
      }
    }
  });

  it('one image with client folding needs no conv keys, and the MNIST-like net one key in all', () => {
    const cold = planLayer(conv2, { images: 1, slots: 4096, layout: 'fast', inputShape: shape, clientFold: true });
    expect(cold.rotationSteps).toEqual([]);
    const old = planLayer(conv2, { images: 1, slots: 4096, layout: 'fast', inputShape: shape });
    expect(old.rotationSteps.length).toBeGreaterThan(0);
    const fc: DenseLayer = denseLayer('fc', 256, 64, rand(256 * 64));
    const layers = [
      { spec: conv2, inputShape: shape, product: true },
      { spec: fc, product: true },
    ];
    const before = rotationStepsFor(layers, 'fast', 4096, [1]);
    const after = rotationStepsFor(layers, 'fast', 4096, [1], { clientFold: true });
    expect(after.length).toBeLessThan(before.length);
    expect(after.length).toBeLessThanOrEqual(1);
  });

  it('the masks of a folded output: a copied over each group, s and t are group sums', () => {
    const plan = withClientFold(planConvIm2col(conv2, convGeometry(conv2, shape), 1, 4096, { R: 2, Cb: 8 }))!;
    const S = plan.slots;
    const a = Float64Array.from({ length: S }, () => Math.random());
    const rep = replicateOverGroups(plan, 0, a);
    const offs = foldOffsets(plan.outputs[0]!.clientFold!);
    expect(offs.length).toBe(2 ** plan.outputs[0]!.clientFold!.length);
    for (let k = 0; k < plan.outCt.length; k++) {
      if (plan.outCt[k] !== 0) continue;
      const i = plan.outSlot[k]!;
      for (const o of offs) expect(rep[(i + o) % S]).toBe(a[i]);
    }
    const ones = plan.outputs.map(() => new Float64Array(S).fill(1));
    expect(foldedOutputs(plan, 1, ones)[0]!.every((v) => v === offs.length)).toBe(true);
  });
});
