import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { forward } from '../../core/model/forward.ts';
import { mergeModel } from '../../core/model/merge.ts';
import { inferShapes } from '../../core/model/shapes.ts';
import { AFFINE_KINDS } from '../../core/model/types.ts';
import { randomInput, randomModel, relErr } from '../helpers/random-model.ts';

const check = (seed: number, force?: 'all' | 'none', withMaxpool = false): void => {
  const model = randomModel(seed, { withMaxpool });
  const { model: merged } = mergeModel(model, force ? { force } : {});
  inferShapes(merged.inputShape, merged.layers); // merged IR must chain
  for (let t = 0; t < 3; t++) {
    const x = randomInput(model, seed * 7 + t);
    const ref = forward(model, x);
    const got = forward(merged, x);
    const err = relErr(got, ref);
    if (!(err <= 1e-9))
      throw new Error(
        `seed ${seed}: merged output differs, rel err ${err}\n got ${Array.from(got)}\n ref ${Array.from(ref)}`,
      );
  }
};

describe('mergeModel is output-preserving', () => {
  it('every exact merge forced, random networks of every layer mix', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), (seed) => check(seed, 'all')),
      { numRuns: 60 },
    );
  });
  it('cost-model decisions, with maxpool breaking runs', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), (seed) => check(seed, undefined, true)),
      { numRuns: 40 },
    );
  });
  it('merging off keeps every affine map (canonical form only)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), (seed) => {
        check(seed, 'none');
        const model = randomModel(seed);
        const { model: m } = mergeModel(model, { force: 'none' });
        const count = (ls: typeof model.layers) =>
          ls.filter((l) => AFFINE_KINDS.has(l.kind) && l.kind !== 'flatten').length;
        expect(count(m.layers)).toBe(count(model.layers));
      }),
      { numRuns: 20 },
    );
  });
});

describe('merge report', () => {
  it('conv → batchnorm → avgpool folds into one strided conv and saves rounds and MACs', () => {
    const model = randomModel(4);
    const base = {
      name: 'cbp',
      inputShape: [1, 12, 12] as const,
      meta: {},
      layers: [
        {
          kind: 'conv2d' as const,
          name: 'c',
          inChannels: 1,
          outChannels: 4,
          kernel: [3, 3] as const,
          stride: [1, 1] as const,
          padding: [0, 0] as const,
          weight: new Float64Array(36).map((_, i) => Math.sin(i)),
          bias: new Float64Array(4).fill(0.1),
        },
        {
          kind: 'batchnorm' as const,
          name: 'bn',
          channels: 4,
          gamma: new Float64Array(4).fill(1.2),
          beta: new Float64Array(4).fill(0.3),
          mean: new Float64Array(4).fill(0.1),
          variance: new Float64Array(4).fill(0.8),
          epsilon: 1e-5,
        },
        {
          kind: 'avgpool' as const,
          name: 'p',
          kernel: [2, 2] as const,
          stride: [2, 2] as const,
          padding: [0, 0] as const,
        },
        { kind: 'square' as const, name: 'sq' },
        { kind: 'flatten' as const, name: 'f' },
        {
          kind: 'dense' as const,
          name: 'd1',
          inFeatures: 100,
          outFeatures: 16,
          weight: new Float64Array(1600).map((_, i) => Math.cos(i) / 10),
          bias: new Float64Array(16),
        },
        {
          kind: 'dense' as const,
          name: 'd2',
          inFeatures: 16,
          outFeatures: 10,
          weight: new Float64Array(160).map((_, i) => Math.sin(i * 3) / 4),
          bias: new Float64Array(10),
        },
      ],
    };
    const { model: merged, report } = mergeModel(base);
    const convs = merged.layers.filter((l) => l.kind === 'conv2d');
    expect(convs).toHaveLength(1);
    expect(convs[0]!.kind === 'conv2d' && convs[0]!.kernel).toEqual([4, 4]);
    expect(convs[0]!.kind === 'conv2d' && convs[0]!.stride).toEqual([2, 2]);
    expect(merged.layers.filter((l) => l.kind === 'dense')).toHaveLength(1);
    expect(report.before.linearMaps).toBe(5);
    expect(report.after.linearMaps).toBe(2);
    expect(report.saved.onlineRounds).toBe(3);
    expect(report.saved.macs).toBeGreaterThan(0);
    expect(report.decisions.every((d) => d.accepted)).toBe(true);
    expect(model.layers.length).toBeGreaterThan(0);
  });

  it('refuses a merge that would multiply the work (dense 4096 → 2 → 4096)', () => {
    const n = 256;
    const model = {
      name: 'bottleneck',
      inputShape: [n] as const,
      meta: {},
      layers: [
        {
          kind: 'dense' as const,
          name: 'a',
          inFeatures: n,
          outFeatures: 2,
          weight: new Float64Array(2 * n).fill(0.01),
          bias: new Float64Array(2),
        },
        {
          kind: 'dense' as const,
          name: 'b',
          inFeatures: 2,
          outFeatures: n,
          weight: new Float64Array(2 * n).fill(0.02),
          bias: new Float64Array(n),
        },
      ],
    };
    const { report } = mergeModel(model, {
      costs: {
        slots: 16,
        ctPtMulMs: 5,
        additionMs: 1,
        rotationMs: 8,
        ciphertextBytes: 1000,
        msPerByte: 0,
        msPerRound: 0,
      },
    });
    expect(report.decisions).toHaveLength(1);
    expect(report.decisions[0]!.accepted).toBe(false);
    expect(report.decisions[0]!.after.macs).toBeGreaterThan(report.decisions[0]!.before.macs);
  });
});
