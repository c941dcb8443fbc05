import { describe, expect, it } from 'vitest';
import { architectureOf } from '../../core/model/json.ts';
import { loadModel } from '../../core/model/load.ts';
import type { Architecture } from '../../core/model/types.ts';
import { DEFAULT_MASKS, planClient, planClientNonlinear, planServerNonlinear } from '../../core/protocol/plan.ts';
import { chooseScales, ringSteps, type RingGcStep } from '../../core/protocol/ring-plan.ts';
import { interactiveScheme } from '../../core/schemes/index.ts';

const P = 2 ** 51 - 131071;

describe('planning ReLU / max-pool for the ring schemes', () => {
  it('mnist-relu: max-pool and ReLU steps become gc steps that truncate by e + w − f inside the circuit', async () => {
    const model = await loadModel('mnist-relu');
    for (const id of ['merged-ring', 'delphi']) {
      const scheme = interactiveScheme(id);
      const net = scheme.network(model).model;
      expect(scheme.unsupported(architectureOf(net))).toBeNull();
      const plan = planServerNonlinear(net, DEFAULT_MASKS);
      expect(plan.map((s) => s.kind)).toEqual([
        'linear',
        'nonlinear',
        'linear',
        'nonlinear',
        'linear',
        'nonlinear',
        'linear',
        'nonlinear',
        'linear',
        'nonlinear',
        'linear',
      ]);
      const scales = chooseScales(plan, 13);
      const steps = ringSteps(planClientNonlinear(architectureOf(net), DEFAULT_MASKS), scales);
      const gc = steps.filter((s): s is RingGcStep => s.kind === 'gc');
      expect(gc.map((s) => [s.layer.spec.window, s.layer.spec.relu, s.layer.windows])).toEqual([
        [4, false, 8 * 12 * 12],
        [1, true, 8 * 12 * 12],
        [4, false, 16 * 4 * 4],
        [1, true, 16 * 4 * 4],
        [1, true, 64],
      ]);
      // each gc step follows a linear step and brings its scale 2^(e+w) back to 2^f
      for (const g of gc) {
        const lin = steps[g.index - 1]!;
        if (lin.kind !== 'linear') throw new Error('a gc step must follow a linear step');
        expect(g.layer.spec.truncBits).toBe(lin.inScale + lin.weightScale - 13);
        expect(g.layer.spec.p).toBe(P);
        expect(g.inSize).toBe(lin.base.outSize);
      }
      expect(steps.filter((s) => s.kind === 'linear').every((s) => s.kind !== 'linear' || s.inScale === 13)).toBe(true);
    }
  });

  it('fuses a max-pool with the ReLU before or after it, and refuses what the circuits cannot run', () => {
    const conv = (name: string, c: number, k = 3) => ({
      kind: 'conv2d',
      name,
      inChannels: 1,
      outChannels: c,
      kernel: [k, k],
      stride: [1, 1],
      padding: [0, 0],
      weight: [],
      bias: [],
    });
    const arch = (layers: unknown[]): Architecture =>
      ({ name: 't', inputShape: [1, 8, 8], layers, meta: {} }) as unknown as Architecture;
    const pool = { kind: 'maxpool', name: 'mp', kernel: [2, 2], stride: [2, 2], padding: [0, 0] };
    const relu = { kind: 'relu', name: 'r' };
    const dense = { kind: 'dense', name: 'd', inFeatures: 18, outFeatures: 2, weight: [], bias: [] };
    for (const order of [
      [relu, pool],
      [pool, relu],
    ]) {
      const steps = planClientNonlinear(
        arch([conv('c', 2), ...order, { kind: 'flatten', name: 'f' }, dense]),
        DEFAULT_MASKS,
      );
      expect(steps.map((s) => s.kind)).toEqual(['linear', 'nonlinear', 'linear']);
      const nl = steps[1]!;
      if (nl.kind !== 'nonlinear') throw new Error('expected a nonlinear step');
      expect([nl.relu, nl.pool, nl.inSize, nl.size]).toEqual([true, { k: 2, stride: 2 }, 2 * 6 * 6, 2 * 3 * 3]);
    }
    expect(() => planClientNonlinear(arch([relu, conv('c', 2)]), DEFAULT_MASKS)).toThrow(/must follow a linear layer/);
    const padded = { ...pool, padding: [1, 1] };
    expect(() => planClientNonlinear(arch([conv('c', 2), padded]), DEFAULT_MASKS)).toThrow(/no padding/);
    // the float plans still refuse ReLU, naming the schemes that run it
    expect(() => planClient(arch([conv('c', 2), relu]), DEFAULT_MASKS)).toThrow(/merged-ring and delphi/);
    expect(interactiveScheme('merged').unsupported(arch([conv('c', 2), relu]))).toMatch(/merged-ring or delphi/);
  });
});
