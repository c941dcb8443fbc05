import { describe, expect, it } from 'vitest';
import { PpnnError } from '../../core/errors.ts';
import { activationReference, ringBits, type ActivationSpec } from '../../core/gc/activation-circuit.ts';
import {
  activationOfflineClient,
  activationOfflineServer,
  activationOnlineClient,
  activationOnlineServer,
} from '../../core/gc/activation.ts';
import { gather, poolWindows, runActivationPair } from '../../core/gc/harness.ts';
import { GC_TAG } from '../../core/gc/messages.ts';
import { GcClientSession, GcServerSession, uniformBelow } from '../../core/gc/session.ts';
import { memoryPair } from '../../core/transport/memory.ts';
import { mulberry32 } from '../../core/data/datasets.ts';

const P = 1099511480321; // 40-bit BFV batching prime (≡ 1 mod 2^14)
const F = 13;

/** Fixed-point values v·2^(2f) (a product before rescale) encoded in Z_p, with random client shares. */
function sharedValues(count: number, seed: number, p = P): { x: Float64Array; c: Float64Array; s: Float64Array } {
  const rng = mulberry32(seed);
  const x = new Float64Array(count);
  const h = (p - 1) / 2;
  const edge = [0, 1, p - 1, h, h + 1, p - 2, 2 ** F, p - 2 ** F, 2 ** F - 1, p - 2 ** F - 1];
  for (let i = 0; i < count; i++) {
    const v = Math.round((rng() * 2 - 1) * 8 * 2 ** (2 * F)); // |v| ≤ 8 at scale 2^2f
    x[i] = i < edge.length ? edge[i]! : v < 0 ? p + v : v;
  }
  const c = uniformBelow(p, count);
  const s = x.map((xi, i) => (xi - c[i]! + p) % p);
  return { x, c, s };
}

function reconstruct(a: Float64Array, b: Float64Array, p = P): Float64Array {
  return a.map((v, i) => (v + b[i]!) % p);
}

describe('ReLU layer protocol over the memory transport', () => {
  it('outputs shares of floor(ReLU(x) / 2^f) exactly, random and boundary x; online bytes at the floor', async () => {
    const spec: ActivationSpec = { p: P, truncBits: F, window: 1, relu: true };
    const count = 700;
    const { x, c, s } = sharedValues(count, 1);
    const { clientShare, serverShare, figures } = await runActivationPair(spec, c, s);
    const y = reconstruct(clientShare, serverShare);
    for (let i = 0; i < count; i++) {
      const want = activationReference(spec, [x[i]!], 0);
      if (y[i] !== want) throw new Error(`x=${x[i]}: got ${y[i]}, want ${want}`);
    }
    const n = ringBits(P);
    expect(figures.onlineFloorBytes).toBe(16 * n * count);
    expect(figures.onlineBytes).toBeGreaterThanOrEqual(figures.onlineFloorBytes);
    expect(figures.onlineBytes).toBeLessThan(figures.onlineFloorBytes + 128); // one frame header
    expect(figures.offlineBytes).toBeGreaterThan(32 * figures.andGatesPerWindow * count);
  }, 30_000);

  it('max-pool 2×2 stride 2 fused with ReLU on a 3×6×6 tensor equals maxpool(ReLU(x)) / 2^f', async () => {
    const [C, H, W] = [3, 6, 6];
    const { x, c, s } = sharedValues(C * H * W, 2);
    const idx = poolWindows(C, H, W, 2, 2);
    expect(idx.length).toBe(C * 3 * 3 * 4);
    const spec: ActivationSpec = { p: P, truncBits: F, window: 4, relu: true };
    const { clientShare, serverShare } = await runActivationPair(spec, gather(c, idx), gather(s, idx));
    const y = reconstruct(clientShare, serverShare);
    const signed = (v: number): number => (v > (P - 1) / 2 ? v - P : v);
    for (let ch = 0; ch < C; ch++) {
      for (let i = 0; i < 3; i++) {
        for (let j = 0; j < 3; j++) {
          let m = 0; // ReLU first: max(0, …)
          for (let di = 0; di < 2; di++)
            for (let dj = 0; dj < 2; dj++) m = Math.max(m, signed(x[ch * 36 + (2 * i + di) * 6 + 2 * j + dj]!));
          expect(y[(ch * 3 + i) * 3 + j]).toBe(Math.floor(m / 2 ** F));
        }
      }
    }
  }, 30_000);

  it("the client's output share is uniform whatever x is (χ²; power: the unmasked output)", async () => {
    const spec: ActivationSpec = { p: P, truncBits: 0, window: 1, relu: true };
    const count = 2000;
    const x = new Float64Array(count).fill(12345); // one value, many windows
    const c = uniformBelow(P, count);
    const s = x.map((xi, i) => (xi - c[i]! + P) % P);
    const { clientShare, serverShare } = await runActivationPair(spec, c, s);
    const chi = (v: Float64Array): number => {
      const bins = new Array(16).fill(0);
      for (const z of v) bins[Math.floor((z / P) * 16)]++;
      const e = v.length / 16;
      return bins.reduce((acc, o) => acc + (o - e) ** 2 / e, 0);
    };
    expect(chi(clientShare)).toBeLessThan(50); // χ²(15): P(> 50) < 1e-5
    expect(chi(reconstruct(clientShare, serverShare))).toBeGreaterThan(1000); // unmasked F(x): all in one bin
  }, 30_000);

  it('rejects a wrong tag, a count that does not match, and out-of-range shares', async () => {
    const spec: ActivationSpec = { p: P, truncBits: F, window: 1, relu: true };
    const [ct, st] = memoryPair();
    const [cs, ss] = await Promise.all([GcClientSession.open(ct), GcServerSession.open(st)]);
    // server garbles 5 windows, client expects 4
    const server = activationOfflineServer(ss, st, spec, 5).catch((e: unknown) => e);
    const err = await activationOfflineClient(cs, ct, spec, new Float64Array(4)).catch((e: unknown) => e);
    expect((err as PpnnError).code).toBe('PROTOCOL_VIOLATION');
    ct.close();
    await server;
    const [ct2, st2] = memoryPair();
    st2.send({ tag: GC_TAG.labels, header: { count: 1, bits: 40 }, blobs: [] }); // not the base-OT reply
    await expect(GcClientSession.open(ct2)).rejects.toMatchObject({ code: 'PROTOCOL_VIOLATION' });
    await expect(activationOfflineClient(cs, memoryPair()[0], spec, new Float64Array([P]))).rejects.toThrow(RangeError);
    const [ct3, st3] = memoryPair();
    const [cs3, ss3] = await Promise.all([GcClientSession.open(ct3), GcServerSession.open(st3)]);
    const [cState, sState] = await Promise.all([
      activationOfflineClient(cs3, ct3, spec, new Float64Array(2)),
      activationOfflineServer(ss3, st3, spec, 2),
    ]);
    expect(() => activationOnlineServer(sState, st3, new Float64Array(3))).toThrow(RangeError);
    st3.send({ tag: GC_TAG.labels, header: { count: 2, bits: 40 }, blobs: [new Uint8Array(16 * 40 * 2 - 1)] });
    const bad = await activationOnlineClient(cs3, cState, ct3).catch((e: unknown) => e);
    expect((bad as PpnnError).code).toBe('PROTOCOL_VIOLATION');
    ct3.close();
  }, 30_000);
});
