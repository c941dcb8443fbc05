import { describe, expect, it } from 'vitest';
import { benchPreprocessing, formatPreprocessingBench } from '../../core/he/bench.ts';
import { liveSealObjects } from '../../core/he/seal.ts';
import type { Conv2dLayer, DenseLayer } from '../../core/model/types.ts';
import { convLayer } from '../helpers/small-net.ts';

const rand = (n: number) => Float64Array.from({ length: n }, () => Math.random() - 0.5);

describe('benchPreprocessing', () => {
  it('reports per-layer and total figures as plain data and formats them', async () => {
    const conv: Conv2dLayer = convLayer('c', 1, 2, { k: 3, weight: rand(18), stride: 2, padding: 1 });
    const fc: DenseLayer = {
      kind: 'dense',
      name: 'fc',
      inFeatures: 32,
      outFeatures: 4,
      weight: rand(128),
      bias: new Float64Array(4),
    };
    const b = await benchPreprocessing([conv, fc], { images: 2, layout: 'fast', workers: 0, inputShapes: [[1, 8, 8]] });
    expect(JSON.parse(JSON.stringify(b)).layers).toHaveLength(2);
    const [c] = b.layers;
    // the op counts are those of the plan the cost model chose, and weights were encoded once
    // per upload one mask encode, per output the −s mask and the zero plaintext: no weight encodes
    expect(c!.ops.encodes).toBe(c!.ciphertextsToServer + 2 * c!.ciphertextsToClient);
    expect(b.weightCache.hits).toBeGreaterThan(0);
    expect(b.weightCache.bytes).toBeGreaterThan(0);
    expect(c!.plan.utilisation).toBeGreaterThan(0);
    expect(c!.ops.encryptions).toBe(c!.ciphertextsToServer);
    expect(c!.ops.decryptions).toBe(c!.ciphertextsToClient);
    expect(c!.bytesToServer).toBeGreaterThan(0);
    expect(b.total.predictedMs).toBeGreaterThan(0);
    expect(b.total.ratioMeasuredToPredicted).toBeGreaterThan(0);
    const text = formatPreprocessingBench(b);
    expect(text).toContain('TOTAL');
    expect(text).toContain('measured / predicted');
    expect(liveSealObjects()).toBe(0);
  }, 20_000);

  it('needs an input shape for conv layers', async () => {
    const conv: Conv2dLayer = convLayer('c', 1, 1, { k: 1, weight: rand(1) });
    await expect(benchPreprocessing([conv], { images: 1, layout: 'fast', workers: 0 })).rejects.toMatchObject({
      code: 'SHAPE_MISMATCH',
    });
  });
});
