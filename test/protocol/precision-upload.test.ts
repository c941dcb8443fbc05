/**
 * The precision plan's per-step upload scale Δ·2^b (core/protocol/precision.ts,
 * core/he/params.ts maxUploadScaleBits): b > 0 where the map's rows are large and its
 * masked inputs small — the conv → flatten → BatchNorm1d fixture's dense 784 → 1152 map,
 * ‖M‖₂,row ≈ 195 — and b = 0 where the rows are small and the masked inputs large (the
 * bundled mnist's conv steps), so those keep the weights at the full q_L.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { imageToInput, loadDataset } from '../../core/data/datasets.ts';
import { maxUploadScaleBits } from '../../core/he/index.ts';
import { calibrateBounds, withBounds } from '../../core/model/bounds.ts';
import { loadModel } from '../../core/model/load.ts';
import { importOnnx } from '../../core/model/onnx.ts';
import { DEFAULT_MASKS, planServer } from '../../core/protocol/plan.ts';
import { planPrecision } from '../../core/protocol/precision.ts';
import { cachedNetwork } from '../../core/schemes/network.ts';
import type { Model } from '../../core/model/types.ts';

function plan(model: Model) {
  const steps = planServer(cachedNetwork(model, 'merged', 'cost-model').model, DEFAULT_MASKS);
  return planPrecision(steps, DEFAULT_MASKS);
}

describe('precision plan: upload scale per step', () => {
  it('conv-flatten-bn1d: b > 0 for the BatchNorm1d-scaled dense map, within the top prime', async () => {
    const model = importOnnx(new Uint8Array(readFileSync('test/vectors/pytorch/conv-flatten-bn1d.onnx')));
    const train = await loadDataset('mnist', 'train');
    const inputs = Array.from({ length: 200 }, (_, i) => imageToInput(train, i));
    const calibrated = withBounds(model, calibrateBounds(model, inputs), {
      dataset: 'mnist',
      split: 'train',
      images: 200,
      margin: 0.25,
    });
    const p = plan(calibrated);
    const first = p.steps[0]!;
    expect(first.uploadScaleBits).toBeGreaterThan(0);
    expect(first.uploadScaleBits).toBeLessThanOrEqual(maxUploadScaleBits(p.params, 2));
  });

  it('bundled mnist: the conv steps (small rows, large masked inputs) keep b = 0', async () => {
    const p = plan(await loadModel('mnist'));
    expect(p.meetsTarget).toBe(true);
    expect(p.steps[0]!.uploadScaleBits).toBe(0);
    expect(p.steps[1]!.uploadScaleBits).toBe(0);
  });
});
