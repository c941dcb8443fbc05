import { describe, expect, it } from 'vitest';
import { activationReference, ringBits, type ActivationSpec } from '../../core/gc/activation-circuit.ts';
import {
  ACT_TAG,
  activationOfflineClient,
  activationOfflineServer,
  activationOnlineClient,
  activationOnlineServer,
} from '../../core/gc/activation.ts';
import { maxPoolLayer, poolWindows, reluLayer, runActivationPair } from '../../core/gc/harness.ts';
import { GcClientSession, GcServerSession, uniformBelow } from '../../core/gc/session.ts';
import { mulberry32 } from '../../core/data/datasets.ts';
import { thrownCode as code } from '../helpers/error-code.ts';

const P = 2 ** 51 - 131071; // the ring family's prime (core/ring)
const F = 13;

/** Fixed-point values at scale 2^(2f) (a product before rescale) in Z_p, boundary values first; random shares. */
function sharedValues(size: number, seed: number): { x: Float64Array; c: Float64Array; s: Float64Array } {
  const rng = mulberry32(seed);
  const x = new Float64Array(size);
  const h = (P - 1) / 2;
  const edge = [0, 1, P - 1, h, h + 1, P - 2, 2 ** F, P - 2 ** F, 2 ** F - 1, P - 2 ** F - 1];
  for (let i = 0; i < size; i++) {
    const v = Math.round((rng() * 2 - 1) * 8 * 2 ** (2 * F));
    x[i] = i < edge.length ? edge[i]! : v < 0 ? P + v : v;
  }
  const c = uniformBelow(P, size);
  const s = x.map((xi, i) => (xi - c[i]! + P) % P);
  return { x, c, s };
}

const add = (a: Float64Array, b: Float64Array): Float64Array => a.map((v, i) => (v + b[i]!) % P);
const signed = (v: number): number => (v > (P - 1) / 2 ? v - P : v);

describe('activation layer protocol (one offline exchange, online labels)', () => {
  it('ReLU with exact truncation on 3 images: random and boundary values; online bytes at the floor', async () => {
    const size = 300;
    const layer = reluLayer(P, F, size);
    const imgs = [1, 2, 3].map((seed) => sharedValues(size, seed));
    const { client, server, figures } = await runActivationPair(
      layer,
      imgs.map((v) => v.c),
      imgs.map((v) => v.s),
    );
    imgs.forEach(({ x }, img) => {
      const y = add(client[img]!, server[img]!);
      for (let i = 0; i < size; i++) {
        const want = activationReference(layer.spec, [x[i]!]);
        if (y[i] !== want) throw new Error(`image ${img}, x=${x[i]}: got ${y[i]}, want ${want}`);
      }
    });
    const n = ringBits(P);
    expect(figures.onlineFloorBytesPerImage).toBe(16 * n * size + Math.ceil((n * size) / 8));
    expect(figures.onlineBytesPerImage).toBeGreaterThanOrEqual(figures.onlineFloorBytesPerImage);
    expect(figures.onlineBytesPerImage).toBeLessThan(figures.onlineFloorBytesPerImage + 160); // two frame headers
    expect(figures.offlineBytesPerImage).toBeGreaterThan(32 * figures.andGatesPerWindow * size);
  }, 30_000);

  it('max-pool 2×2 stride 2 fused with ReLU on 3×6×6, and a 3×3 stride-2 max-pool without ReLU', async () => {
    const { x, c, s } = sharedValues(3 * 6 * 6, 4);
    const fused = maxPoolLayer(P, F, true, [3, 6, 6], 2, 2);
    const plain = maxPoolLayer(P, 5, false, [3, 6, 6], 3, 2);
    expect(poolWindows(3, 6, 6, 2, 2).length).toBe(3 * 9 * 4);
    for (const layer of [fused, plain]) {
      const k = Math.sqrt(layer.spec.window),
        out = layer.windows / 3,
        side = Math.sqrt(out);
      const { client, server } = await runActivationPair(layer, [c], [s]);
      const y = add(client[0]!, server[0]!);
      for (let ch = 0; ch < 3; ch++) {
        for (let i = 0; i < side; i++) {
          for (let j = 0; j < side; j++) {
            let m = layer.spec.relu ? 0 : -Infinity;
            for (let di = 0; di < k; di++) {
              for (let dj = 0; dj < k; dj++) m = Math.max(m, signed(x[ch * 36 + (2 * i + di) * 6 + 2 * j + dj]!));
            }
            const want = Math.floor(m / 2 ** layer.spec.truncBits);
            expect(y[(ch * side + i) * side + j]).toBe(want < 0 ? want + P : want);
          }
        }
      }
    }
  }, 30_000);

  it("the client's output share is uniform whatever x is (χ²; power: the unmasked output)", async () => {
    const size = 2000;
    const layer = reluLayer(P, 0, size);
    const x = new Float64Array(size).fill(12345); // one value in every position
    const c = uniformBelow(P, size);
    const s = x.map((xi, i) => (xi - c[i]! + P) % P);
    const { client, server } = await runActivationPair(layer, [c], [s]);
    const chi = (v: Float64Array): number => {
      const bins = new Array<number>(16).fill(0);
      for (const z of v) bins[Math.floor((z / P) * 16)]!++;
      const e = v.length / 16;
      return bins.reduce((acc, o) => acc + (o - e) ** 2 / e, 0);
    };
    expect(chi(client[0]!)).toBeLessThan(50); // χ²(15): P(> 50) < 1e-5
    expect(chi(add(client[0]!, server[0]!))).toBeGreaterThan(1000); // unmasked F(x): one bin
  }, 30_000);

  it('rejects malformed requests, responses and online messages with PROTOCOL_VIOLATION', async () => {
    const { offer, complete } = GcServerSession.offer();
    const { reply, session: cs } = GcClientSession.accept(offer);
    const ss = complete(reply);
    const layer = reluLayer(P, F, 4);
    const req = activationOfflineClient(cs, layer, 2);
    expect(code(() => activationOfflineServer(ss, layer, [req.blobs[0]!.subarray(1)], 2))).toBe('PROTOCOL_VIOLATION');
    const resp = activationOfflineServer(ss, layer, req.blobs, 2);
    expect(code(() => req.finish(resp.blobs.slice(1)))).toBe('PROTOCOL_VIOLATION');
    const short = [...resp.blobs];
    short[2] = short[2]!.subarray(16); // output rows of image 0 cut short
    expect(code(() => req.finish(short))).toBe('PROTOCOL_VIOLATION');
    const tampered = [...resp.blobs];
    tampered[4] = new Uint8Array(tampered[4]!.length).fill(0xff); // image 1's rows decode outside Z_p (online)
    const cStates = req.finish(tampered);
    // online: a correction element ≥ p, and labels of the wrong size
    const n = ringBits(P);
    const badCorr = new Uint8Array(Math.ceil((4 * n) / 8)).fill(0xff);
    const serverIo = { send: () => {}, expect: async () => [badCorr] };
    await expect(activationOnlineServer(layer, resp.states[0]!, new Float64Array(4), serverIo)).rejects.toMatchObject({
      code: 'PROTOCOL_VIOLATION',
    });
    const sentTags: string[] = [];
    const clientIo = { send: (tag: string) => void sentTags.push(tag), expect: async () => [new Uint8Array(10)] };
    await expect(activationOnlineClient(cs, layer, cStates[0]!, new Float64Array(4), clientIo)).rejects.toMatchObject({
      code: 'PROTOCOL_VIOLATION',
    });
    expect(sentTags).toEqual([ACT_TAG.corr]);
    await expect(activationOnlineClient(cs, layer, cStates[1]!, new Float64Array(5), clientIo)).rejects.toThrow(
      RangeError,
    );
    // image 1 with the server's real labels: its tampered output rows are caught online
    let corr: Uint8Array[] = [],
      labels: Uint8Array[] = [],
      release = (): void => {};
    const ready = new Promise<void>((r) => (release = r));
    const clientDone = activationOnlineClient(cs, layer, cStates[1]!, new Float64Array(4), {
      send: (_t, b) => void (corr = b),
      expect: async () => (await ready, labels),
    });
    await activationOnlineServer(layer, resp.states[1]!, new Float64Array(4), {
      send: (_t, b) => void (labels = b),
      expect: async () => corr,
    });
    release();
    await expect(clientDone).rejects.toMatchObject({ code: 'PROTOCOL_VIOLATION' });
  }, 30_000);
});

describe('layer constructors', () => {
  it('validate their specs', () => {
    expect(() => reluLayer(P + 1, F, 4)).toThrow(RangeError);
    expect(() => maxPoolLayer(P, F, true, [1, 2, 2], 3, 1)).toThrow(RangeError);
    const spec: ActivationSpec = maxPoolLayer(P, F, true, [2, 4, 4], 2, 2).spec;
    expect(spec.window).toBe(4);
  });
});
