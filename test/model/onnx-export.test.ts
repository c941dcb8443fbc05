/**
 * ONNX import of what exporters write: Pad folding, constant folding of the shape chain
 * `x.view(x.size(0), -1)` exports, weight-first Gemm, Identity of weights, Dropout inputs,
 * Flatten / Reshape variants — each built model compared with onnxruntime-web — plus the
 * committed PyTorch 1.13 MNIST fixtures (test/vectors/pytorch/make_fixtures.py) against ORT
 * on MNIST images and against the accuracy PyTorch recorded, and one error listing every
 * blocking node with its hint.
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { imageToInput, loadDataset } from '../../core/data/datasets.ts';
import { isPpnnError } from '../../core/errors.ts';
import { argmax, forward } from '../../core/model/forward.ts';
import { importOnnx } from '../../core/model/onnx.ts';
import type { Conv2dLayer, DenseLayer, PoolLayer } from '../../core/model/types.ts';
import { F, OnnxBuilder } from '../vectors/build-onnx.ts';
import { assertClose, ortComparison, runOrt } from '../vectors/ort-reference.ts';

const { maxDiffs, expectMatchesOrt } = ortComparison();
afterAll(() => console.log('max |ours − onnxruntime-web| per model:', maxDiffs));

/** Pad(0) → Conv, Pad(1) → Conv, Pad(1) → AveragePool, the dynamic view chain with Cast and Slice, Gemm. */
function buildPadsAndView(seed: number, batch: number | string): Uint8Array {
  const g = new OnnxBuilder(seed);
  g.input('x', [batch, 1, 8, 8]);
  const zero = g.init('zero_pads', [8], [0, 0, 0, 0, 0, 0, 0, 0], 'int64');
  let x = g.node('Pad', ['x', zero], { mode: 'constant' }, { name: 'pad_zero' });
  x = g.node('Conv', [x, g.init('w1', [3, 1, 3, 3]), g.init('b1', [3])], { kernel_shape: [3, 3] });
  x = g.node(
    'Pad',
    [x, g.init('pads1', [8], [0, 0, 1, 1, 0, 0, 1, 1], 'int64'), g.constant('pv', [], [0])],
    {},
    { name: 'pad_conv' },
  );
  x = g.node('Conv', [x, g.init('w2', [4, 3, 3, 3])], { pads: [1, 0, 1, 0] });
  x = g.node('Mul', [x, x]);
  x = g.node('Pad', [x, g.constant('pads2', [8], [0, 0, 1, 1, 0, 0, 1, 1], 'int64')], {}, { name: 'pad_pool' });
  x = g.node('AveragePool', [x], { kernel_shape: [3, 3], strides: [2, 2] });
  const shape = g.node('Shape', [x]);
  const n = g.node('Gather', [shape, g.constant('zero', [], [0], 'int64')], { axis: 0 });
  const n1 = g.node('Unsqueeze', [n, g.constant('axes', [1], [0], 'int64')]);
  const chw = g.node('Slice', [shape, g.constant('s', [1], [1], 'int64'), g.constant('e', [1], [4], 'int64')]);
  const size = g.node(
    'Cast',
    [
      g.node('Mul', [
        g.node('Mul', [
          g.node('Gather', [chw, g.constant('i0', [], [0], 'int64')]),
          g.node('Gather', [chw, g.constant('i1', [], [1], 'int64')]),
        ]),
        g.node('Gather', [chw, g.constant('i2', [], [2], 'int64')]),
      ]),
    ],
    { to: 7 },
  );
  const target = g.node('Concat', [n1, g.node('Unsqueeze', [size, g.constant('axes2', [1], [0], 'int64')])], {
    axis: 0,
  });
  x = g.node('Reshape', [x, target], {}, { name: 'view' });
  g.node('Gemm', [x, g.init('fc', [5, 48]), g.init('fc_b', [5])], { transB: 1 }, { outputs: ['y'] });
  g.output('y', [batch, 5]);
  return g.toBytes();
}

/** Weight-first Gemm (transA, alpha, beta) on a batch of 1, Identity of weights, Dropout inputs, BN after Flatten. */
function buildWeightFirst(seed: number): Uint8Array {
  const g = new OnnxBuilder(seed);
  g.input('x', [1, 2, 3, 3]);
  let x = g.node('Conv', ['x', g.init('w', [2, 2, 2, 2])]);
  x = g.node('Flatten', [x], { axis: -3 });
  const variance = g.randomValues(8).map((v) => Math.abs(v) + 0.5);
  const gamma = g.node('Identity', [g.init('gamma', [8])]);
  x = g.node('BatchNormalization', [x, gamma, g.init('beta', [8]), g.init('mean', [8]), g.init('var', [8], variance)]);
  x = g.node('Dropout', [x, g.constant('ratio', [], [0.5])]);
  // Y = 0.5 · Aᵀ · xᵀ + 2 · C with A stored [in, out]: a column [6, 1].
  x = g.node('Gemm', [g.init('A', [8, 6]), x, g.init('C', [6, 1])], {
    transA: 1,
    transB: 1,
    alpha: F(0.5),
    beta: F(2),
  });
  x = g.node('Gemm', [g.init('A2', [4, 6]), x], { alpha: F(1.5) });
  x = g.node('Reshape', [x, g.init('row', [2], [1, -1], 'int64')]);
  g.node('Gemm', [x, g.init('B', [4, 3])], {}, { outputs: ['y'] });
  g.output('y', [1, 3]);
  return g.toBytes();
}

describe('importOnnx: exporter idioms vs onnxruntime-web', () => {
  it('drops zero Pads, folds non-zero Pads into Conv and AveragePool, folds the dynamic view chain', async () => {
    for (const batch of ['N', 2] as const) {
      const bytes = buildPadsAndView(21, batch);
      const model = importOnnx(bytes);
      expect(model.layers.map((l) => l.kind)).toEqual(['conv2d', 'conv2d', 'square', 'avgpool', 'flatten', 'dense']);
      expect((model.layers[0] as Conv2dLayer).padding).toEqual([0, 0]);
      expect((model.layers[1] as Conv2dLayer).padding).toEqual([2, 1]);
      expect((model.layers[3] as PoolLayer).padding).toEqual([1, 1]);
      await expectMatchesOrt(`pads+view batch ${batch}`, bytes, [1, 8, 8], 2, 22);
    }
  });

  it('weight-first Gemm (transA, alpha, beta), Identity of a weight, Dropout ratio, BN after Flatten', async () => {
    const bytes = buildWeightFirst(23);
    const model = importOnnx(bytes);
    expect(model.layers.map((l) => l.kind)).toEqual(['conv2d', 'flatten', 'batchnorm', 'dense', 'dense', 'dense']);
    expect((model.layers[3] as DenseLayer).outFeatures).toBe(6);
    await expectMatchesOrt('weight-first gemm', bytes, [2, 3, 3], 1, 24);
  });

  it('Reshape to the same shape is a no-op and Flatten axis=0 flattens a batch of 1', async () => {
    const g = new OnnxBuilder(25);
    g.input('x', [1, 2, 4, 4]);
    let x = g.node('Reshape', ['x', g.init('same', [4], [1, 2, -1, 4], 'int64')]);
    x = g.node('Conv', [x, g.init('w', [2, 2, 3, 3])]);
    x = g.node('Flatten', [x], { axis: 0 });
    g.node('Gemm', [x, g.init('fc', [3, 8]), g.init('b', [3])], { transB: 1 }, { outputs: ['y'] });
    g.output('y', [1, 3]);
    const bytes = g.toBytes();
    expect(importOnnx(bytes).layers.map((l) => l.kind)).toEqual(['conv2d', 'flatten', 'dense']);
    await expectMatchesOrt('reshape no-op + flatten axis 0', bytes, [2, 4, 4], 1, 26);
  });
});

function refusal(bytes: Uint8Array): { code: string; message: string; details?: { problems?: unknown[] } } {
  try {
    importOnnx(bytes);
  } catch (e) {
    expect(isPpnnError(e)).toBe(true);
    return e as { code: string; message: string };
  }
  throw new Error('expected a refusal');
}

describe('importOnnx: every blocking node in one error', () => {
  it('names each unsupported node with its hint, and refused attributes too', () => {
    const g = new OnnxBuilder(27);
    g.input('x', ['N', 1, 6, 6]);
    let x = g.node('Conv', ['x', g.init('w', [2, 1, 3, 3])], { group: 1 });
    x = g.node('Sigmoid', [x], {}, { name: 'gate' });
    x = g.node('Pad', [x, g.init('p', [8], [0, 0, 1, 1, 0, 0, 1, 1], 'int64')], {}, { name: 'pad_max' });
    x = g.node('MaxPool', [x], { kernel_shape: [2, 2], strides: [2, 2] });
    x = g.node('Tanh', [x], {}, { name: 'squash' });
    x = g.node('Flatten', [x]);
    x = g.node('Gemm', [x, g.init('fc', [3, 18])], { transB: 1 });
    g.node('Softmax', [x], { axis: 1 }, { name: 'probs', outputs: ['y'] });
    g.output('y');
    const err = refusal(g.toBytes());
    expect(err.code).toBe('MODEL_UNSUPPORTED_OP');
    expect(err.message).toMatch(/^4 problems block the import/);
    for (const m of [
      "'gate'",
      "'squash'",
      "'probs'",
      "'pad_max'",
      'square or polynomial activation',
      'without the final softmax',
      'cannot be folded into MaxPool',
    ]) {
      expect(err.message).toContain(m);
    }
    expect(err.details?.problems).toHaveLength(4);
  });
});

const FIXTURES = new URL('../vectors/pytorch/', import.meta.url);
interface Sidecar {
  accuracy: { value: number; correct: number; images: number };
  bytes: number;
  dynamicBatchVariant?: { fixture: string };
}

describe('PyTorch 1.13 MNIST fixtures (make_fixtures.py)', () => {
  const cases: Record<string, string[]> = {
    'square-bn-avgpool': ['conv2d', 'square', 'avgpool', 'conv2d', 'square', 'avgpool', 'flatten', 'dense'],
    'lenet-view': ['conv2d', 'square', 'avgpool', 'conv2d', 'square', 'avgpool', 'flatten', 'dense', 'square', 'dense'],
    'conv-flatten-bn1d': ['conv2d', 'flatten', 'batchnorm', 'square', 'dense'],
    lenet5: [
      'conv2d',
      'relu',
      'maxpool',
      'conv2d',
      'relu',
      'maxpool',
      'flatten',
      'dense',
      'relu',
      'dense',
      'relu',
      'dense',
    ],
  };
  for (const [name, kinds] of Object.entries(cases)) {
    it(`${name}: imports as exported and matches onnxruntime-web on MNIST test images`, async () => {
      const sidecar = JSON.parse(readFileSync(new URL(`${name}.json`, FIXTURES), 'utf8')) as Sidecar;
      const files = [`${name}.onnx`, ...(sidecar.dynamicBatchVariant ? [sidecar.dynamicBatchVariant.fixture] : [])];
      const ds = await loadDataset('mnist', 'test');
      const images = Array.from({ length: 8 }, (_, i) => imageToInput(ds, i).map(Math.fround));
      for (const file of files) {
        const bytes = new Uint8Array(readFileSync(new URL(file, FIXTURES)));
        expect(bytes.length).toBeLessThan(1 << 20);
        const model = importOnnx(bytes);
        expect(model.layers.map((l) => l.kind)).toEqual(kinds);
        const ort: Float64Array[] = [];
        for (const x of images) ort.push((await runOrt(bytes, [x], [1, 1, 28, 28]))[0]!);
        maxDiffs[`pytorch ${file}`] = Math.max(
          ...images.map((x, i) => assertClose(`${file} image ${i}`, forward(model, x), ort[i]!)),
        );
      }
    });
  }

  it('conv-flatten-bn1d: plaintext accuracy on all 10,000 MNIST test images equals what PyTorch reported', async () => {
    const sidecar = JSON.parse(readFileSync(new URL('conv-flatten-bn1d.json', FIXTURES), 'utf8')) as Sidecar;
    const model = importOnnx(new Uint8Array(readFileSync(new URL('conv-flatten-bn1d.onnx', FIXTURES))));
    const ds = await loadDataset('mnist', 'test');
    let correct = 0;
    for (let i = 0; i < ds.count; i++) if (argmax(forward(model, imageToInput(ds, i))) === ds.labels[i]) correct++;
    expect(sidecar.accuracy.images).toBe(10000);
    expect(correct).toBe(sidecar.accuracy.correct);
  }, 60_000);
});
