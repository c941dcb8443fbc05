/**
 * Issue acceptance: for every linear map of the bundled models (merged and unmerged), with
 * the parameters the protocol itself proposes, decrypt(server result) + s equals M·r to
 * max abs error ≤ 1e-4 (masks of order 1, i.e. 2^0 hiding bits so values are of order 1).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { HeClient, HeServer, liveSealObjects, rotationStepsFor } from '../../core/he/index.ts';
import { loadModel } from '../../core/model/load.ts';
import { conv2d, dense } from '../../core/model/forward.ts';
import { ckksServerProviders, type CkksProposal } from '../../core/protocol/ckks-provider.ts';
import { planServer, type MaskParams, type ServerLinearStep } from '../../core/protocol/plan.ts';
import { interactiveScheme } from '../../core/schemes/index.ts';
import { cryptoMasks } from '../../core/protocol/random.ts';

const UNIT: MaskParams = { inputBits: 0, shareBits: 0, defaultBound: 1 };

async function checkNetwork(modelName: string, scheme: 'merged' | 'unmerged'): Promise<number> {
  const model = await loadModel(modelName);
  const steps = planServer(interactiveScheme(scheme).network(model).model, UNIT).filter(
    (s): s is ServerLinearStep => s.kind === 'linear',
  );
  const { params } = ckksServerProviders().propose(steps, UNIT, scheme).params as CkksProposal;
  const shape = (s: ServerLinearStep) =>
    s.layer.kind === 'conv2d' ? { spec: s.layer, inputShape: s.inShape } : { spec: s.layer };
  const client = await HeClient.create(params, {
    rotationSteps: rotationStepsFor(steps.map(shape), 'fast', params.polyModulusDegree / 2),
  });
  const server = await HeServer.create(params, client.setupMessage());
  let worst = 0;
  try {
    for (const step of steps) {
      const masks = [cryptoMasks.uniform(step.inSize, 1), cryptoMasks.uniform(step.inSize, 1)];
      const opt = step.layer.kind === 'conv2d' ? { inputShape: step.inShape } : {};
      const cts = client.encryptMasks(step.layer, masks, 'fast', opt);
      const res = await server.evaluate(step.layer, cts, 2, { layout: 'fast', sRange: 4, ...opt });
      const dec = client.decryptShares(step.layer, res.response, 2);
      const zeroBias = { ...step.layer, bias: new Float64Array(step.layer.bias.length) };
      masks.forEach((r, b) => {
        const want = zeroBias.kind === 'conv2d' ? conv2d(zeroBias, r, step.inShape) : dense(zeroBias, r);
        want.forEach((w, k) => {
          worst = Math.max(worst, Math.abs(dec.share[b]![k]! + res.s[b]![k]! - w));
        });
      });
    }
  } finally {
    client.delete();
    await server.delete();
  }
  return worst;
}

describe('CKKS preprocessing of every linear map of the bundled models', () => {
  afterAll(() => expect(liveSealObjects()).toBe(0));
  for (const [model, scheme] of [
    ['mnist', 'merged'],
    ['mnist', 'unmerged'],
    ['fashion-mnist', 'merged'],
    ['fashion-mnist', 'unmerged'],
  ] as const) {
    it(`${model} (${scheme}): decrypt + s = M·r within 1e-4`, async () => {
      const worst = await checkNetwork(model, scheme);
      console.log(`${model} ${scheme}: max |decrypt + s − M·r| = ${worst.toExponential(2)}`);
      expect(worst, `max abs error ${worst}`).toBeLessThanOrEqual(1e-4);
    });
  }
});
