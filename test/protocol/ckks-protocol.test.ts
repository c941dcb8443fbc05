import { afterAll, describe, expect, it } from 'vitest';
import { forward } from '../../core/model/forward.ts';
import { liveSealObjects } from '../../core/he/index.ts';
import { randomInput, relErr } from '../helpers/random-model.ts';
import { runCkks, smallSquareNet } from '../helpers/small-net.ts';

describe('merged / unmerged / gazelle protocols with real CKKS', () => {
  afterAll(() => expect(liveSealObjects()).toBe(0));
  for (const scheme of ['merged', 'unmerged', 'gazelle'] as const) {
    it(`matches the plaintext forward pass (${scheme})`, async () => {
      const model = smallSquareNet(3);
      const inputs = Array.from({ length: 5 }, (_, i) => randomInput(model, 40 + i));
      const { client, summary } = await runCkks(model, inputs, scheme);
      expect(summary.images).toBe(5);
      client.logits.forEach((y, i) => {
        const ref = forward(model, inputs[i]!);
        const err = relErr(y, ref);
        if (!(err < 5e-4))
          throw new Error(`image ${i}: rel err ${err}\n got ${Array.from(y)}\n ref ${Array.from(ref)}`);
      });
      expect(liveSealObjects()).toBe(0);
    });
  }
});
