import { describe, expect, it } from 'vitest';
import { forward } from '../../core/model/forward.ts';
import { dealerClient, dealerServer } from '../../core/protocol/dealer-provider.ts';
import { seededMasks } from '../../core/protocol/random.ts';
import { runClientSession, serveSession } from '../../core/schemes/index.ts';
import { memoryPair } from '../../core/transport/memory.ts';
import type { Model } from '../../core/model/types.ts';
import { calibrateBounds } from '../../core/model/bounds.ts';
import { randomInput, randomModel, relErr } from '../helpers/random-model.ts';

/** A random network with square / poly activations only (what the online stage runs). */
function squareModel(seed: number): Model {
  for (let s = seed; ; s += 1000) {
    const m = randomModel(s, { activationProb: 0.5 });
    const ok = m.layers.every((l) => l.kind !== 'relu' && l.kind !== 'maxpool');
    const acts = m.layers.map((l, i) => (l.kind === 'square' || l.kind === 'poly' ? i : -1)).filter((i) => i >= 0);
    const consecutive = acts.some((i) => acts.includes(i + 1));
    if (ok && !consecutive && acts.length > 0) {
      const calib = Array.from({ length: 20 }, (_, i) => randomInput(m, 5000 + i));
      return { ...m, meta: { inputBounds: calibrateBounds(m, calib) } };
    }
  }
}

async function runDealer(model: Model, inputs: Float64Array[], scheme: 'merged' | 'unmerged', bits = 8) {
  const [ct, st] = memoryPair();
  const server = serveSession(st, {
    model,
    shareBits: bits,
    providers: { propose: () => ({ kind: 'dealer', params: null }), create: async () => dealerServer(seededMasks(7)) },
  });
  const client = await runClientSession(ct, inputs, {
    scheme,
    providers: { create: async () => dealerClient() },
    random: seededMasks(11),
    batchSize: 3,
    inputBits: bits,
  });
  const summary = await server;
  return { client, summary };
}

describe('online stage on secret shares (trusted-dealer provider)', () => {
  for (const [scheme, bits, tol] of [
    ['merged', 0, 1e-9],
    ['unmerged', 0, 1e-9],
    ['merged', 8, 1e-6],
    ['unmerged', 8, 1e-6],
  ] as const) {
    it(`reconstructs the plaintext logits, ${scheme}, ${bits}-bit masks`, async () => {
      for (const seed of [1, 2, 3, 4]) {
        const model = squareModel(seed);
        const inputs = [0, 1, 2, 3, 4].map((i) => randomInput(model, seed * 10 + i));
        const { client, summary } = await runDealer(model, inputs, scheme, bits);
        expect(summary.images).toBe(5);
        client.logits.forEach((y, i) => {
          const ref = forward(model, inputs[i]!);
          const err = relErr(y, ref);
          if (!(err < tol))
            throw new Error(`seed ${seed} image ${i}: rel err ${err}\n got ${Array.from(y)}\n ref ${Array.from(ref)}`);
        });
      }
    });
  }
});
