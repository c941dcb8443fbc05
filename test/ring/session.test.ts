/**
 * merged-ring and delphi end to end over an in-memory transport with real BFV: logits
 * agree with the plaintext forward pass (fixed-point error only), every online message
 * the server receives is uniform in Z_p (χ² with its power shown on the float scheme's
 * messages), the client refuses weak parameters with a coded error, and no SEAL object leaks.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { liveSealObjects } from '../../core/he/seal.ts';
import { forward } from '../../core/model/forward.ts';
import { cryptoMasks } from '../../core/protocol/random.ts';
import { runClientSession, serveSession } from '../../core/schemes/index.ts';
import { P } from '../../core/ring/field.ts';
import { unpackRing } from '../../core/ring/pack.ts';
import { bytesToF64 } from '../../core/transport/frame.ts';
import { memoryPair } from '../../core/transport/memory.ts';
import type { Message, Transport } from '../../core/transport/transport.ts';
import { randomInput } from '../helpers/random-model.ts';
import { smallSquareNet } from '../helpers/small-net.ts';
import { tap, wrapTransport } from '../helpers/tap.ts';

const model = smallSquareNet(5);

async function run(scheme: string, inputs: Float64Array[], wrapClient?: (t: Transport) => Transport) {
  const [c0, s0] = memoryPair();
  const t = tap(s0);
  const server = serveSession(t.transport, { model });
  const client = await runClientSession(wrapClient ? wrapClient(c0) : c0, inputs, {
    scheme,
    random: cryptoMasks,
    batchSize: 8,
  });
  await server;
  return { client, serverView: t.received };
}

/** χ² statistic of values in [0, range) over `bins` equal bins. */
function chi2(values: number[], range: number, bins = 32): number {
  const c = new Array(bins).fill(0);
  for (const v of values) c[Math.min(bins - 1, Math.floor((v / range) * bins))]++;
  const e = values.length / bins;
  return c.reduce((a, o) => a + (o - e) ** 2 / e, 0);
}
const CHI2_CRIT_31 = 61.1; // df 31, p = 0.001

describe('ring schemes end to end (real BFV)', () => {
  afterAll(() => expect(liveSealObjects()).toBe(0));

  for (const scheme of ['merged-ring', 'delphi']) {
    it(`${scheme}: logits within fixed-point error of the plaintext, online messages uniform in Z_p`, async () => {
      const inputs = Array.from({ length: 8 }, (_, i) => randomInput(model, 40 + i));
      const { client, serverView } = await run(scheme, inputs);
      inputs.forEach((x, i) => {
        const want = forward(model, x),
          got = client.logits[i]!;
        // the maxLogitError (simulated: 1.4e-4)
        for (let k = 0; k < want.length; k++) expect(Math.abs(got[k]! - want[k]!)).toBeLessThan(1e-3);
      });
      // every element of every online message to the server: packed ring elements, uniform
      const elems: number[] = [];
      for (const m of serverView) {
        if (m.tag !== 'on.input' && m.tag !== 'on.share' && m.tag !== 'on.trunc') continue;
        for (const b of m.tag === 'on.trunc' ? m.blobs.slice(0, -1) : m.blobs)
          elems.push(...unpackRing(b, Math.floor((b.length * 8) / 51), 'view'));
      }
      expect(elems.length).toBeGreaterThan(1500);
      expect(chi2(elems, P)).toBeLessThan(CHI2_CRIT_31);
    });
  }

  it('the χ² test has power: the same messages with masks from [0, 2^45) instead of Z_p fail it', async () => {
    const { ringLinear } = await import('../../core/protocol/layers/ring.ts');
    const { encodeFixed } = await import('../../core/ring/fixed.ts');
    const sent: number[] = [];
    const io = {
      send: (_t: string, blobs: Uint8Array[]) => {
        sent.push(...unpackRing(blobs[0]!, 100, 'x'));
      },
      expect: async () => [],
    };
    const step = {
      kind: 'linear',
      index: 0,
      name: 'l',
      first: true,
      last: false,
      inScale: 13,
      weightScale: 0,
      base: { inSize: 100 },
    } as never;
    for (let i = 0; i < 60; i++) {
      const x = randomInput(model, i).subarray(0, 100);
      const weak = Float64Array.from({ length: 100 }, () => Math.floor(Math.random() * 2 ** 45));
      await ringLinear.onlineClient(
        {} as never,
        step,
        { r: weak, share: new Float64Array(0) },
        Float64Array.from(x),
        io as never,
      );
    }
    expect(encodeFixed([1], 13)[0]).toBe(8192);
    expect(chi2(sent, P)).toBeGreaterThan(CHI2_CRIT_31);
  });

  it('the client refuses a server whose BFV parameters are below its floor (coded error)', async () => {
    const weaken = (t: Transport): Transport =>
      wrapTransport(t, {
        receive: async (o) => {
          const m = await t.receive(o);
          if (m.tag === 'arch') {
            const h = m.header as { provider: { params: { bfv: { floodBits: number } } } };
            h.provider.params.bfv = { ...h.provider.params.bfv, floodBits: h.provider.params.bfv.floodBits - 20 };
          }
          return m;
        },
      });
    await expect(run('merged-ring', [randomInput(model, 1)], weaken)).rejects.toMatchObject({ code: 'HE_PARAMS' });
  });
});
