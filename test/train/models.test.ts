import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseModel } from '../../core/model/json.ts';
import type { Model } from '../../core/model/types.ts';
import { AFFINE_KINDS, POLY_ACTIVATION_KINDS } from '../../core/model/types.ts';

const BUNDLED = [
  { file: 'assets/models/mnist.json', dataset: 'mnist', polynomial: true, minAccuracy: 0.9924 },
  { file: 'assets/models/fashion-mnist.json', dataset: 'fashion-mnist', polynomial: true, minAccuracy: 0.9026 },
  { file: 'assets/models/mnist-relu.json', dataset: 'mnist', polynomial: false, minAccuracy: 0.99 },
  { file: 'assets/models/fashion-mnist-relu.json', dataset: 'fashion-mnist', polynomial: false, minAccuracy: 0.9 },
];

/** Longest run of consecutive layers that carry weights or rearrange values linearly (flatten does not count alone). */
function longestLinearRun(m: Model): number {
  let best = 0,
    run = 0;
  for (const l of m.layers) {
    run = AFFINE_KINDS.has(l.kind) ? run + 1 : 0;
    best = Math.max(best, run);
  }
  return best;
}

describe.each(BUNDLED)('$file', ({ file, dataset, polynomial, minAccuracy }) => {
  it('exists and parses with parseModel', () => {
    expect(existsSync(file)).toBe(true);
    const m = parseModel(readFileSync(file, 'utf8'));
    expect(m.inputShape).toEqual([1, 28, 28]);
  });

  it('has complete, measured metadata', () => {
    const m = parseModel(readFileSync(file, 'utf8'));
    expect(m.meta.dataset).toBe(dataset);
    expect(m.meta.labels).toHaveLength(10);
    expect(m.meta.inputNormalization?.std).toBeGreaterThan(0);
    expect(m.meta.accuracy).toMatchObject({ dataset, split: 'test', images: 10000 });
    expect(m.meta.accuracy!.value).toBeGreaterThanOrEqual(minAccuracy);
    expect(m.meta.trainedWith).toMatch(/^ppnn train --arch \S+ --dataset \S+ .*--out \S+$/);
    expect(typeof m.meta.seed).toBe('number');
    expect(m.meta.inputBounds).toHaveLength(m.layers.length);
    expect(m.meta.inputBounds!.every((b) => Number.isFinite(b) && b > 0)).toBe(true);
  });

  it(polynomial ? 'uses square activations only and keeps linear runs for merging' : 'is a ReLU network', () => {
    const m = parseModel(readFileSync(file, 'utf8'));
    const activations = m.layers.filter((l) => !AFFINE_KINDS.has(l.kind) && l.kind !== 'maxpool');
    if (polynomial) {
      expect(activations.length).toBeGreaterThan(0);
      expect(activations.length).toBeLessThanOrEqual(3);
      expect(activations.every((l) => l.kind === 'square' && POLY_ACTIVATION_KINDS.has(l.kind))).toBe(true);
      expect(m.layers.some((l) => l.kind === 'maxpool' || l.kind === 'relu')).toBe(false);
      expect(longestLinearRun(m)).toBeGreaterThanOrEqual(3);
      // a dense→dense pair with nothing between them (the merging stage folds it)
      expect(m.layers.some((l, i) => l.kind === 'dense' && m.layers[i + 1]?.kind === 'dense')).toBe(true);
    } else {
      expect(activations.some((l) => l.kind === 'relu')).toBe(true);
    }
  });
});
