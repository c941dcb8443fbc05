/**
 * zeroRefillMs (core/runtime/predict-parts.ts): what the CKKS server's background refill of
 * its Enc_pk(0) pool adds to a batch's online images — half an encryption per client burst
 * while the refill lasts, nothing once it is done, never more than the refill itself.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_COSTS, planCost, planLayer } from '../../core/he/layout.ts';
import { costModelFrom, zeroRefillMs } from '../../core/runtime/predict-parts.ts';

describe('zeroRefillMs', () => {
  const base = { encryptZeroMs: 10, bursts: 4, baseMs: 5, batch: 8 };
  it('adds half an encryption per burst to every image while the refill lasts', () => {
    // 1,000 zeros = 10 s of refill: longer than the batch's 8 images, each pays 4 × 5 ms
    expect(zeroRefillMs({ ...base, zeros: 1000 })).toBeCloseTo(20);
  });
  it('adds nothing without zeros and spreads a short refill over the batch', () => {
    expect(zeroRefillMs({ ...base, zeros: 0 })).toBe(0);
    // 10 zeros = 100 ms of refill = 4 images of 25 ms: 4 × 20 ms over 8 images
    const ms = zeroRefillMs({ ...base, zeros: 10 });
    expect(ms).toBeCloseTo((4 * 20) / 8);
    expect(ms * base.batch).toBeLessThanOrEqual(10 * base.encryptZeroMs);
  });
});

/**
 * The cost terms the plan-vs-run check found missing (docs/BENCHMARKS.md, round 6): a session's first
 * batch encodes every weight plaintext (planCost coldWeights), and an upload's load is that of a seeded
 * ciphertext at its level (CostModel.loadMask, from measureOpCosts).
 */
describe('first-batch weights and upload loads in the cost model', () => {
  const plan = planLayer(
    { kind: 'dense', name: 'd', inFeatures: 64, outFeatures: 16 },
    { images: 4, slots: 4096, layout: 'fast' },
  );
  it('coldWeights charges one encoding per weight plaintext on top of the cached batch', () => {
    const cost = { ...DEFAULT_COSTS, msPerByte: 0 };
    const warm = planCost(plan, { cost, n: 8192 }).ms,
      cold = planCost(plan, { cost, n: 8192, coldWeights: true }).ms;
    expect(plan.ptCount).toBeGreaterThan(0);
    expect(cold - warm).toBeCloseTo(plan.ptCount * cost.encodes);
  });
  it('an upload costs loadMask when measured, else the response load', () => {
    const m = costModelFrom({ load: 0.1, loadMask: 1.5 });
    expect(m.loadMask).toBe(1.5);
    expect(costModelFrom({ load: 0.1 }).loadMask).toBe(0.1);
    const base = { ...DEFAULT_COSTS, msPerByte: 0 };
    const d =
      planCost(plan, { cost: { ...base, loadMask: 1.5 }, n: 8192 }).ms -
      planCost(plan, { cost: { ...base, loadMask: base.load }, n: 8192 }).ms;
    expect(d).toBeCloseTo(plan.inputCount * (1.5 - base.load));
  });
});
