/**
 * Security properties of the merged protocol with real CKKS preprocessing, checked on each
 * party's complete view (every message it receives, recorded by a transport tap):
 * - the server's view for two different inputs is statistically indistinguishable;
 * - the client's view for two different weight sets likewise;
 * - masks are fresh: never reused across layers or images;
 * - no message carries the other party's secret in the clear.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { liveSealObjects } from '../../core/he/index.ts';
import type { Model } from '../../core/model/types.ts';
import { cryptoMasks, type MaskSource } from '../../core/protocol/random.ts';
import { bytesToF64 } from '../../core/transport/frame.ts';
import type { Message } from '../../core/transport/transport.ts';
import { randomInput } from '../helpers/random-model.ts';
import { runCkks, smallSquareNet } from '../helpers/small-net.ts';
import { ks, tap } from '../helpers/tap.ts';

const IMAGES = 24;

async function views(model: Model, inputs: Float64Array[], random: MaskSource = cryptoMasks) {
  let serverView: Message[] = [],
    clientView: Message[] = [];
  const { client } = await runCkks(model, inputs, 'merged', 8, {
    server: (t) => {
      const r = tap(t);
      serverView = r.received;
      return r.transport;
    },
    client: (t) => {
      const r = tap(t);
      clientView = r.received;
      return r.transport;
    },
    random,
  });
  return { serverView, clientView, client };
}

const floats = (msgs: Message[], tag: string): number[] =>
  msgs.filter((m) => m.tag === tag).flatMap((m) => Array.from(bytesToF64(m.blobs[0]!)));

/** Does any 8-byte float64 pattern of `secret` (non-trivial values) occur in the bytes of `msgs`? */
function containsFloat64(msgs: Message[], secret: Float64Array): number {
  const needles = new Set<string>();
  for (const v of secret)
    if (v !== 0 && Math.abs(v) !== 1) needles.add(Buffer.from(new Float64Array([v]).buffer).toString('hex'));
  let hits = 0;
  for (const m of msgs) {
    const hay = Buffer.concat([
      Buffer.from(JSON.stringify(m.header ?? null)),
      ...m.blobs.map((b) => Buffer.from(b)),
    ]).toString('hex');
    for (const n of needles) {
      for (let at = hay.indexOf(n); at >= 0; at = hay.indexOf(n, at + 1))
        if (at % 2 === 0) {
          hits++;
          break;
        }
    }
  }
  return hits;
}

describe('security of the merged protocol (CKKS provider)', () => {
  afterAll(() => expect(liveSealObjects()).toBe(0));

  it("server's view: inputs A and B are indistinguishable (KS test on every value it receives online)", async () => {
    const model = smallSquareNet(5);
    const a = randomInput(model, 1),
      b = randomInput(model, 2).map((v) => -v);
    const va = await views(
      model,
      Array.from({ length: IMAGES }, () => a),
    );
    const vb = await views(
      model,
      Array.from({ length: IMAGES }, () => b),
    );
    for (const tag of ['on.input', 'on.share']) {
      const { d, critical } = ks(floats(va.serverView, tag), floats(vb.serverView, tag));
      expect(d, `${tag}: KS D=${d.toFixed(4)} critical ${critical.toFixed(4)}`).toBeLessThan(critical);
    }
    // and the view does depend on fresh masks: the same input twice never gives the same message
    const first = floats(va.serverView, 'on.input');
    expect(new Set(first).size).toBeGreaterThan(0.99 * first.length);
  });

  it("client's view: two weight sets are indistinguishable (KS on decrypted shares and on.act messages)", async () => {
    const m1 = smallSquareNet(7),
      m2 = smallSquareNet(8);
    const inputs = Array.from({ length: IMAGES }, (_, i) => randomInput(m1, 100 + i));
    const v1 = await views(m1, inputs),
      v2 = await views(m2, inputs);
    for (const tag of ['on.act']) {
      const x1 = floats(v1.clientView, tag),
        x2 = floats(v2.clientView, tag);
      const s1 = x1.map((v) => v / Math.max(...x1.map(Math.abs))),
        s2 = x2.map((v) => v / Math.max(...x2.map(Math.abs)));
      const { d, critical } = ks(s1, s2);
      expect(d, `${tag}: KS D=${d.toFixed(4)} critical ${critical.toFixed(4)}`).toBeLessThan(critical);
    }
  });

  it('masks are fresh: no value repeats across layers and images', async () => {
    const drawn: Float64Array[] = [];
    const recording: MaskSource = {
      secure: true,
      uniform: (n, r) => {
        const v = cryptoMasks.uniform(n, r);
        drawn.push(v);
        return v;
      },
    };
    const model = smallSquareNet(9);
    const x = randomInput(model, 3);
    await views(model, [x, x, x, x], recording);
    const linearSteps = 2; // conv+bn+pool and fc1+fc2 after merging
    expect(drawn.length).toBe(4 * linearSteps);
    const all = drawn.flatMap((v) => Array.from(v));
    expect(new Set(all).size).toBe(all.length);
  });

  it('no message carries the other party’s secret in the clear', async () => {
    const model = smallSquareNet(11);
    const inputs = Array.from({ length: 4 }, (_, i) => randomInput(model, 300 + i));
    const { serverView, clientView } = await views(model, inputs);
    for (const x of inputs) expect(containsFloat64(serverView, x)).toBe(0);
    for (const l of model.layers) {
      if (l.kind === 'conv2d' || l.kind === 'dense') {
        expect(containsFloat64(clientView, l.weight)).toBe(0);
        expect(containsFloat64(clientView, Float64Array.from(new Float32Array(l.weight)))).toBe(0);
      }
    }
    // the architecture the client receives has no weight fields
    const arch = JSON.stringify(clientView.find((m) => m.tag === 'arch')!.header);
    expect(arch).not.toMatch(/"weight"|"bias"|"gamma"|"variance"/);
  });
});
