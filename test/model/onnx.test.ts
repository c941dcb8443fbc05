/**
 * ONNX import: built models covering every supported op are compared with onnxruntime-web;
 * real PyTorch exports (test/vectors/pytorch, see README there) are compared with both
 * ORT and the outputs PyTorch recorded; malformed and unsupported graphs must be refused
 * with an error naming the op and node.
 */
import { fromBinary } from '@bufbuild/protobuf';
import { TensorProtoSchema } from 'onnx-buf';
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { isPpnnError } from '../../core/errors.ts';
import { forward } from '../../core/model/forward.ts';
import { modelToJSON, parseModel } from '../../core/model/json.ts';
import { importOnnx } from '../../core/model/onnx.ts';
import { decodeTensor } from '../../core/model/onnx/tensors.ts';
import type { DenseLayer, PolyLayer } from '../../core/model/types.ts';
import { F, OnnxBuilder, seededRandom } from '../vectors/build-onnx.ts';
import { assertClose, float32Inputs, ortComparison, restampOpset6ForOrt, runOrt } from '../vectors/ort-reference.ts';

const { maxDiffs, expectMatchesOrt } = ortComparison();
afterAll(() => console.log('max |ours − reference| per model:', maxDiffs));

/** Conv→BN→Relu→MaxPool→strided Conv→padded AvgPool→Pow 2→Flatten→Gemm(alpha, beta, transB). */
function buildCnn(seed: number): Uint8Array {
  const g = new OnnxBuilder(seed);
  g.input('image', ['N', 1, 12, 12]);
  const variance = g.randomValues(4).map((v) => Math.abs(v) + 0.5);
  let x = g.node(
    'Conv',
    ['image', g.init('w1', [4, 1, 3, 3]), g.init('b1', [4], undefined, 'float_data')],
    { pads: [1, 1, 1, 1], kernel_shape: [3, 3] },
    { name: 'conv1' },
  );
  x = g.node(
    'BatchNormalization',
    [x, g.init('gamma', [4]), g.init('beta', [4]), g.init('mean', [4]), g.init('var', [4], variance)],
    { epsilon: F(1e-3) },
  );
  x = g.node('Relu', [x]);
  x = g.node('MaxPool', [x], { kernel_shape: [2, 2], strides: [2, 2] });
  x = g.node('Conv', [x, g.init('w2', [6, 4, 3, 3])], { strides: [2, 2], pads: [1, 1, 1, 1] });
  x = g.node('AveragePool', [x], { kernel_shape: [2, 2], strides: [1, 1], pads: [1, 1, 1, 1], count_include_pad: 1 });
  x = g.node('Pow', [x, g.constant('two', [], [2])]);
  x = g.node('Flatten', [x], { axis: 1 });
  g.node(
    'Gemm',
    [x, g.init('fc', [16, 96]), g.init('fc_b', [16])],
    { transB: 1, alpha: F(0.7), beta: F(1.3) },
    { outputs: ['logits'] },
  );
  g.output('logits', ['N', 16]);
  return g.toBytes();
}

/** Gemm(transB=0)→BN(1-D)→Relu→MatMul+Add→Identity→Dropout→x·x→·0.5→+0.25→Reshape[-1,8]→Gemm. */
function buildMlp(seed: number): Uint8Array {
  const g = new OnnxBuilder(seed);
  g.input('features', ['batch', 20]);
  const variance = g.randomValues(12).map((v) => Math.abs(v) + 0.5);
  let x = g.node('Gemm', ['features', g.init('w1', [20, 12], undefined, 'float_data')]);
  x = g.node('BatchNormalization', [
    x,
    g.init('gamma', [12]),
    g.init('beta', [12]),
    g.init('mean', [12]),
    g.init('var', [12], variance),
  ]);
  x = g.node('Relu', [x]);
  x = g.node('MatMul', [x, g.init('w2', [12, 8])]);
  x = g.node('Add', [g.init('b2', [8]), x]);
  x = g.node('Identity', [x]);
  x = g.node('Dropout', [x]);
  x = g.node('Mul', [x, x], {}, { name: 'square' });
  x = g.node('Mul', [x, g.constant('half', [], [0.5])]);
  x = g.node('Add', [x, g.init('quarter', [1], [0.25])]);
  x = g.node('Reshape', [x, g.init('shape', [2], [-1, 8], 'int64')]);
  g.node('Gemm', [x, g.init('w3', [5, 8]), g.init('b3', [1, 5])], { transB: 1 }, { outputs: ['out'] });
  g.output('out', ['batch', 5]);
  return g.toBytes();
}

/** Conv without bias + Add of a [C,1,1] bias → GlobalAveragePool → Reshape [1,-1] (Constant) → MatMul alone. */
function buildGlobalPool(seed: number): Uint8Array {
  const g = new OnnxBuilder(seed);
  g.input('x', [1, 2, 5, 5]);
  let x = g.node('Conv', ['x', g.init('w', [3, 2, 3, 3])]);
  x = g.node('Add', [x, g.init('bias', [3, 1, 1])]);
  x = g.node('GlobalAveragePool', [x]);
  x = g.node('Reshape', [x, g.constant('flat', [2], [1, -1], 'int64')]);
  g.node('MatMul', [x, g.init('w2', [3, 4])], {}, { outputs: ['y'] });
  g.output('y', [1, 4]);
  return g.toBytes();
}

describe('importOnnx: built models vs onnxruntime-web', () => {
  it('CNN chain (Conv, BatchNormalization, Relu, MaxPool, AveragePool, Pow, Flatten, Gemm)', async () => {
    const bytes = buildCnn(1);
    const model = importOnnx(bytes, { name: 'cnn' });
    expect(model.name).toBe('cnn');
    expect(model.inputShape).toEqual([1, 12, 12]);
    expect(model.layers.map((l) => l.kind)).toEqual([
      'conv2d',
      'batchnorm',
      'relu',
      'maxpool',
      'conv2d',
      'avgpool',
      'square',
      'flatten',
      'dense',
    ]);
    expect(model.layers[0]!.name).toBe('conv1');
    expect(model.layers.every((l) => !('weight' in l) || l.weight instanceof Float64Array)).toBe(true);
    await expectMatchesOrt('built cnn', bytes, [1, 12, 12], 4, 11);
  });

  it('MLP chain (Gemm transB=0, 1-D BatchNorm, MatMul+Add, Identity, Dropout, Mul→poly, Reshape)', async () => {
    const bytes = buildMlp(2);
    const model = importOnnx(bytes);
    expect(model.inputShape).toEqual([20]);
    expect(model.layers.map((l) => l.kind)).toEqual(['dense', 'batchnorm', 'relu', 'dense', 'poly', 'dense']);
    const poly = model.layers[4] as PolyLayer;
    expect([poly.a, poly.b, poly.c]).toEqual([0.5, 0, 0.25]);
    await expectMatchesOrt('built mlp', bytes, [20], 4, 12);
  });

  it('GlobalAveragePool, conv bias Add, Reshape [1,-1] from a Constant, MatMul without Add', async () => {
    const bytes = buildGlobalPool(3);
    const model = importOnnx(bytes);
    expect(model.layers.map((l) => l.kind)).toEqual(['conv2d', 'avgpool', 'flatten', 'dense']);
    expect(Array.from((model.layers[3] as DenseLayer).bias)).toEqual([0, 0, 0, 0]);
    await expectMatchesOrt('built global-pool', bytes, [2, 5, 5], 1, 13);
  });

  it('an imported model survives the project JSON format unchanged', () => {
    const model = importOnnx(buildCnn(1));
    const back = parseModel(JSON.stringify(modelToJSON(model)));
    const x = float32Inputs(seededRandom(5), 1, 144)[0]!;
    expect(Array.from(forward(back, x))).toEqual(Array.from(forward(model, x)));
    expect(back.meta.source).toEqual({ format: 'onnx', producer: 'ppnn-test-builder', irVersion: 8, opset: 13 });
  });

  it('decodes float_data, raw_data, double_data and float64 raw_data weights exactly', () => {
    const values = [0.1, -2.5, 1 / 3, 1e-7, 42, -0.75];
    for (const store of ['float_data', 'raw_data', 'double_data', 'double_raw'] as const) {
      const g = new OnnxBuilder(4);
      g.input('x', ['N', 3]);
      g.node('Gemm', ['x', g.init('w', [2, 3], values, store)], { transB: 1 }, { outputs: ['y'] });
      g.output('y');
      const weight = Array.from((importOnnx(g.toBytes()).layers[0] as DenseLayer).weight);
      const exact = store.startsWith('double') ? values : values.map(Math.fround);
      expect(weight, store).toEqual(exact);
    }
  });
});

/** Expect a PpnnError with `code` whose message contains every string in `mentions`. */
function expectRefused(bytes: Uint8Array, code: string, mentions: readonly string[]): void {
  let caught: unknown;
  try {
    importOnnx(bytes);
  } catch (e) {
    caught = e;
  }
  expect(isPpnnError(caught), `expected a PpnnError, got ${String(caught)}`).toBe(true);
  const err = caught as { code: string; message: string };
  expect(err.code, err.message).toBe(code);
  for (const m of mentions) expect(err.message).toContain(m);
}

/** x → Conv → [op] → Flatten → Gemm, with `op` built by `middle`. */
function chainWith(middle: (g: OnnxBuilder, x: string) => string): Uint8Array {
  const g = new OnnxBuilder(5);
  g.input('x', [1, 1, 4, 4]);
  let x = g.node('Conv', ['x', g.init('w', [2, 1, 3, 3])], {}, { name: 'conv' });
  x = middle(g, x);
  x = g.node('Flatten', [x]);
  g.node('Gemm', [x, g.init('fc', [3, 8])], { transB: 1 }, { outputs: ['y'] });
  g.output('y');
  return g.toBytes();
}

describe('importOnnx: refusals', () => {
  it('unsupported ops in the middle name the op type and the node', () => {
    expectRefused(
      chainWith((g, x) => g.node('Sigmoid', [x], {}, { name: 'gate' })),
      'MODEL_UNSUPPORTED_OP',
      ['Sigmoid', "'gate'", '#1'],
    );
    expectRefused(
      chainWith((g, x) => g.node('Softmax', [x], {}, { name: 'probs' })),
      'MODEL_UNSUPPORTED_OP',
      ['Softmax', "'probs'"],
    );
  });

  it('non-chain graphs: a residual branch, two inputs, two outputs, a dangling node', () => {
    expectRefused(
      chainWith((g, x) => g.node('Add', [g.node('Relu', [x], {}, { name: 'relu' }), x], {}, { name: 'residual' })),
      'MODEL_UNSUPPORTED_OP',
      ['feeds 2 nodes', 'Relu', 'Add'],
    );
    const two = new OnnxBuilder(6);
    two.input('a', [1, 4]).input('b', [1, 4]);
    two.node('Add', ['a', 'b'], {}, { outputs: ['y'] });
    two.output('y');
    expectRefused(two.toBytes(), 'MODEL_UNSUPPORTED_OP', ['2 non-constant inputs']);
    const dangling = new OnnxBuilder(7);
    dangling.input('x', [1, 4]);
    dangling.node('Relu', ['x'], {}, { outputs: ['y'] });
    dangling.node('Relu', [dangling.init('c', [4])], {}, { name: 'stray' });
    dangling.output('y');
    expectRefused(dangling.toBytes(), 'MODEL_UNSUPPORTED_OP', ["'stray'", 'not on the chain']);
  });

  it('attributes the IR cannot express exactly', () => {
    expectRefused(
      chainWith((g, x) => g.node('AveragePool', [x], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, { name: 'avg' })),
      'MODEL_UNSUPPORTED_OP',
      ['count_include_pad=0', "'avg'"],
    );
    expectRefused(
      chainWith((g, x) => g.node('MaxPool', [x], { kernel_shape: [2, 2], pads: [0, 0, 1, 1] })),
      'MODEL_UNSUPPORTED_OP',
      ['asymmetric pads'],
    );
    expectRefused(
      chainWith((g, x) => g.node('Pow', [x, g.constant('three', [], [3])], {}, { name: 'cube' })),
      'MODEL_UNSUPPORTED_OP',
      ['Pow', "'cube'", 'exponent 3'],
    );
    expectRefused(
      chainWith((g, x) => g.node('Reshape', [x, g.constant('s', [3], [1, 2, -1], 'int64')])),
      'MODEL_UNSUPPORTED_OP',
      ['Reshape', 'reshape to [1,2,-1]'],
    );
    expectRefused(
      chainWith((g, x) => g.node('Flatten', [x], { axis: 2 })),
      'MODEL_UNSUPPORTED_OP',
      ['axis=2'],
    );
    const grouped = new OnnxBuilder(8);
    grouped.input('x', [1, 2, 4, 4]);
    grouped.node('Conv', ['x', grouped.init('w', [2, 1, 3, 3])], { group: 2 }, { name: 'dw', outputs: ['y'] });
    grouped.output('y');
    expectRefused(grouped.toBytes(), 'MODEL_UNSUPPORTED_OP', ['group=2', "'dw'"]);
  });

  it('malformed bytes and bad arguments', () => {
    const bytes = buildCnn(1);
    expectRefused(bytes.subarray(0, bytes.length - 37), 'MODEL_INVALID', ['ONNX']);
    expectRefused(bytes.subarray(0, 100), 'MODEL_INVALID', []);
    expectRefused(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3]), 'MODEL_INVALID', []);
    expectRefused(new TextEncoder().encode('{"format":"ppnn-model"}'), 'MODEL_INVALID', []);
    expectRefused(new Uint8Array(0), 'MODEL_INVALID', ['empty']);
    expect(() => importOnnx('model.onnx' as unknown as Uint8Array)).toThrow(TypeError);
  });

  it('unsupported weight dtypes and input ranks', () => {
    const g = new OnnxBuilder(9);
    g.input('x', ['N', 3]);
    g.node('Gemm', ['x', g.init('w', [2, 3], [1, 2, 3, 4, 5, 6], 'int64')], { transB: 1 }, { outputs: ['y'] });
    g.output('y');
    expect(() => importOnnx(g.toBytes())).not.toThrow(); // int64 weights decode (exact small ints)
    const r = new OnnxBuilder(10);
    r.input('x', ['N', 3, 8]);
    r.node('Relu', ['x'], {}, { outputs: ['y'] });
    r.output('y');
    expectRefused(r.toBytes(), 'MODEL_UNSUPPORTED_OP', ['rank 3']);
  });
});

const PYTORCH_DIR = new URL('../vectors/pytorch/', import.meta.url);

function readTensorPb(url: URL): { dims: readonly number[]; values: Float64Array } {
  return decodeTensor(fromBinary(TensorProtoSchema, readFileSync(url)), url.pathname);
}

describe('importOnnx: real PyTorch exports (ONNX backend test data, see test/vectors/README.md)', () => {
  const cases = readdirSync(PYTORCH_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
  it('ships the expected fixtures', () => expect(cases.length).toBeGreaterThanOrEqual(10));

  for (const name of cases) {
    it(`${name}: matches PyTorch's recorded output and onnxruntime-web`, async () => {
      const dir = new URL(`${name}/`, PYTORCH_DIR);
      const bytes = new Uint8Array(readFileSync(new URL('model.onnx', dir)));
      const model = importOnnx(bytes);
      expect(model.meta.source).toMatchObject({ producer: expect.stringMatching(/^pytorch/) });
      const input = readTensorPb(new URL('input_0.pb', dir));
      const recorded = readTensorPb(new URL('output_0.pb', dir));
      const batch = input.dims[0]!;
      const per = input.values.length / batch,
        outPer = recorded.values.length / batch;
      const images = Array.from({ length: batch }, (_, i) => input.values.slice(i * per, (i + 1) * per));
      const ort = await runOrt(restampOpset6ForOrt(bytes), images, input.dims);
      let worst = 0;
      images.forEach((x, i) => {
        const ours = forward(model, x);
        worst = Math.max(
          worst,
          assertClose(`${name} image ${i} vs PyTorch`, ours, recorded.values.slice(i * outPer, (i + 1) * outPer)),
        );
        worst = Math.max(worst, assertClose(`${name} image ${i} vs ORT`, ours, ort[i]!));
      });
      maxDiffs[`pytorch ${name}`] = worst;
    });
  }
});
