import { describe, expect, it } from 'vitest';
import { architectureOf, encodeTensor, modelFromJSON, modelToJSON, parseModel } from '../../core/model/json.ts';
import { forward } from '../../core/model/forward.ts';
import { randomInput, randomModel } from '../helpers/random-model.ts';

const codeOf = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
};

function validJSON(): Record<string, unknown> {
  return modelToJSON(randomModel(12)) as Record<string, unknown>;
}

describe('model JSON format', () => {
  it('round-trips a model exactly (float64)', () => {
    const m = randomModel(5);
    const back = parseModel(JSON.stringify(modelToJSON(m)));
    const x = randomInput(m, 1);
    expect(Array.from(forward(back, x))).toEqual(Array.from(forward(m, x)));
  });

  it('the architecture carries no weights', () => {
    const arch = JSON.stringify(architectureOf(randomModel(6)));
    expect(arch).not.toMatch(/"weight"|"bias"|"gamma"|"beta"|"mean"|"variance"/);
  });

  const bad: [string, (j: Record<string, unknown>) => unknown, string][] = [
    ['not JSON at all', () => '{"format": "ppnn-model", ', 'MODEL_INVALID'],
    ['wrong format tag', (j) => ({ ...j, format: 'keras' }), 'MODEL_INVALID'],
    ['future version', (j) => ({ ...j, version: 2 }), 'MODEL_INVALID'],
    ['missing layers', (j) => ({ ...j, layers: [] }), 'MODEL_INVALID'],
    ['bad input shape', (j) => ({ ...j, inputShape: [1, -28, 28] }), 'MODEL_INVALID'],
    ['unknown layer kind', (j) => ({ ...j, layers: [{ kind: 'attention', name: 'x' }] }), 'MODEL_INVALID'],
    [
      'NaN weight',
      (j) => {
        const layers = (j.layers as Record<string, unknown>[]).map((l) => ({ ...l }));
        const conv = layers.find((l) => l.kind === 'conv2d')!;
        const w = conv.weight as { shape: number[] };
        const vals = new Float64Array(w.shape.reduce((a, b) => a * b, 1)).fill(0.5);
        vals[3] = NaN;
        conv.weight = encodeTensor(vals, w.shape);
        return { ...j, layers };
      },
      'MODEL_INVALID',
    ],
    [
      'tensor with the wrong number of values',
      (j) => {
        const layers = (j.layers as Record<string, unknown>[]).map((l) => ({ ...l }));
        const conv = layers.find((l) => l.kind === 'conv2d')!;
        conv.bias = encodeTensor(new Float64Array(1), [(conv.bias as { shape: number[] }).shape[0]!]);
        return { ...j, layers };
      },
      'MODEL_INVALID',
    ],
    [
      'tensor shape disagreeing with the layer',
      (j) => {
        const layers = (j.layers as Record<string, unknown>[]).map((l) => ({ ...l }));
        const conv = layers.find((l) => l.kind === 'conv2d')!;
        conv.outChannels = (conv.outChannels as number) + 1;
        return { ...j, layers };
      },
      'MODEL_INVALID',
    ],
    ['layers that do not chain (wrong shapes)', (j) => ({ ...j, inputShape: [3, 5, 5] }), 'SHAPE_MISMATCH'],
    [
      'negative batch-norm variance',
      (j) => ({
        ...j,
        layers: [
          {
            kind: 'batchnorm',
            name: 'bn',
            channels: 1,
            epsilon: 0,
            gamma: encodeTensor(new Float64Array([1]), [1]),
            beta: encodeTensor(new Float64Array([0]), [1]),
            mean: encodeTensor(new Float64Array([0]), [1]),
            variance: encodeTensor(new Float64Array([-1]), [1]),
          },
        ],
      }),
      'MODEL_INVALID',
    ],
    [
      'duplicate layer names',
      (j) => ({
        ...j,
        layers: [
          { kind: 'flatten', name: 'a' },
          { kind: 'relu', name: 'a' },
        ],
      }),
      'MODEL_INVALID',
    ],
  ];
  for (const [what, mutate, code] of bad) {
    it(`rejects ${what} with ${code}`, () => {
      const v = mutate(validJSON());
      expect(typeof v === 'string' ? codeOf(() => parseModel(v)) : codeOf(() => modelFromJSON(v))).toBe(code);
    });
  }
});
