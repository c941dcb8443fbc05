/**
 * The cryptonets prediction counts the evaluator's ops without running it (a batch of the
 * bundled model takes 7–40 min): on small networks the counts equal those of a real run.
 */
import { describe, expect, it } from 'vitest';
import { runCryptoNets } from '../../core/baselines/cryptonets.ts';
import { chooseCryptoNetsParams, cryptoNetsLayers } from '../../core/baselines/cryptonets-params.ts';
import { liveSealObjects } from '../../core/he/index.ts';
import { calibrateBounds } from '../../core/model/bounds.ts';
import { mergeModel } from '../../core/model/merge.ts';
import type { Model } from '../../core/model/types.ts';
import { CRYPTONETS_LEVEL_OPS, cryptoNetsOpCounts } from '../../core/runtime/predict-cryptonets.ts';
import { randomInput, rng, signedUniform } from '../helpers/random-model.ts';
import { conv3x3 } from '../helpers/small-net.ts';

function tiny(seed: number, poly: boolean): Model {
  const r = rng(seed);
  const v = signedUniform(r);
  const m: Model = {
    name: 'tiny',
    inputShape: [1, 5, 5],
    meta: {},
    layers: [
      conv3x3('c', 1, 2, v(18, 0.5), Float64Array.from([0.1, 0]), 1, 1),
      poly ? { kind: 'poly', name: 'p', a: 0.5, b: 0.3, c: 0.1 } : { kind: 'square', name: 'sq' },
      { kind: 'flatten', name: 'f' },
      { kind: 'dense', name: 'd', inFeatures: 50, outFeatures: 3, weight: v(150, 0.2), bias: v(3, 0.1) },
    ],
  };
  const calib = Array.from({ length: 10 }, (_, i) => randomInput(m, 100 + i));
  return { ...m, meta: { inputBounds: calibrateBounds(m, calib) } };
}

const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);

describe('cryptonets op counts (plan) vs a real run', () => {
  for (const poly of [false, true])
    it(`${poly ? 'poly' : 'square'} activation: every op count matches`, async () => {
      const model = tiny(3, poly);
      const network = mergeModel(model).model;
      const layers = cryptoNetsLayers(network);
      const c = cryptoNetsOpCounts(network, layers, chooseCryptoNetsParams(network, layers));
      const r = await runCryptoNets(model, [randomInput(model, 1), randomInput(model, 2)]);
      // every op of the one vocabulary the plan counts, under the name the run reports it
      const predicted: Record<string, number> = { encryptions: c.encryptions, decryptions: c.decryptions };
      for (const k of CRYPTONETS_LEVEL_OPS) predicted[k] = sum(c[k]);
      // the evaluator makes no rotations, conjugations, encryptions of zero or encodes beyond the inputs'
      predicted.rotations = 0;
      predicted.conjugations = 0;
      predicted.zeroEncryptions = 0;
      console.log('predicted', predicted, 'run', r.he);
      for (const k of Object.keys(predicted) as (keyof typeof r.he)[]) expect([k, predicted[k]]).toEqual([k, r.he[k]]);
      expect(liveSealObjects()).toBe(0);
    }, 300_000);
});
