/**
 * The online stage of the share schemes (merged, unmerged, merged-ring, delphi) timed the way
 * a local run spends it: the real roles' online code in two fresh worker threads joined by
 * the roles' transport (messagePortTransport over a MessageChannel), the main thread idle.
 * This module is the threads' entry.
 *
 * Why not one thread plus a per-message cost: the round-4 model (the online stage of both
 * roles in the planning thread, median of warm images, + messages × a ping-pong's one-way
 * time) predicted merged 3.4x and unmerged 12x too fast. A ping-pong of the online frames
 * between two worker threads takes ~0.2 ms a message even at load 10 (latency.ts); what the
 * model missed is (1) that a run's threads are fresh: their first images run cold code (in
 * two fresh threads, merged's first images take 10–55 ms, the 10th ~1.5 ms, at load 4–11),
 * and a run of a few images is mostly those — so the threads run the run's own number of
 * images (up to MAX_TIMED; beyond, the last ones' median stands for the rest) and the
 * prediction is the mean per image; and (2) the CKKS server's zero-pool refill during the
 * online stage, which no HE-free timing shows (predict-parts.ts, zeroRefillMs). The ring threads make
 * every image's material and quantize the weights before the client starts its clock (a run's
 * preprocessing did that before its first image): timed inside the loop, the server's share of that
 * work landed in the client's first image and over-predicted a run of 4 images ~2.7x (first image
 * 97–146 ms in fresh threads vs 28–55 ms after the fix and 34–85 ms in a real run, load 4–5).

 * The material the online code consumes is not made by HE here (that is the preprocessing,
 * timed from op counts): the float schemes take the trusted-dealer test provider's, the ring
 * schemes random states of the right shapes — the online arithmetic does not depend on the
 * values.
 */
import { MessageChannel, Worker, isMainThread, parentPort, workerData, type MessagePort } from 'node:worker_threads';
import type { Model } from '../model/types.ts';
import { shapeSize } from '../model/types.ts';
import { dealerClient, dealerServer } from '../protocol/dealer-provider.ts';
import { ringProtocolOf } from '../protocol/layers/ring.ts';
import type { StepIo } from '../protocol/layers/types.ts';
import { TAG } from '../protocol/messages.ts';
import { DEFAULT_MASKS, planServerNonlinear } from '../protocol/plan.ts';
import { cryptoMasks } from '../protocol/random.ts';
import { chooseRingScales, ringSteps, type RingServerLinearStep, type RingStep } from '../protocol/ring-plan.ts';
import { quantizeLinear, type QuantizedLinear } from '../ring/quantize.ts';
import { cryptoRing } from '../ring/random.ts';
import { serverTruncMaterial, squareFactors } from '../ring/truncate.ts';
import { runClientSession, serveSession } from '../schemes/index.ts';
import { messagePortTransport } from '../transport/message-port.ts';
import type { Transport } from '../transport/transport.ts';

/** Images timed in the threads at most (a longer run: the median of the last few stands for the rest). */
export const MAX_TIMED = 24;

type Family = 'float' | 'ring';
interface OnlineInit {
  ppnnOnline: {
    side: 'client' | 'server';
    peer: MessagePort;
    family: Family;
    scheme: string;
    net: Model;
    images: number;
  };
}

/** Random offline states of one image, of the right shapes, for `side` (ring steps; gc steps are not modelled). */
function ringStates(steps: readonly RingStep[], side: 'client' | 'server'): Map<number, unknown> {
  const u = (n: number) => cryptoRing.uniform(n);
  const out = new Map<number, unknown>();
  for (const st of steps) {
    if (st.kind === 'linear') {
      out.set(
        st.index,
        side === 'client' ? { r: u(st.base.inSize), share: u(st.base.outSize) } : { s: u(st.base.outSize) },
      );
    } else if (st.kind !== 'gc') {
      const n = st.size;
      if (side === 'client') out.set(st.index, { b: cryptoRing.bits(n), h: u(n), rho1: u(n), rho2: u(n), g: u(n) });
      else {
        const A = u(n);
        const { q, x } = serverTruncMaterial(st.trunc, A);
        out.set(st.index, { A, q, x, nu: u(n), mu: u(n), f: squareFactors(st.trunc, q, x) });
      }
    }
  }
  return out;
}

/** The roles' step messages without their checks (both ends are ours; the tags are the real ones). */
const stepIo = (t: Transport, step: number): StepIo => ({
  send: (tag, blobs) => t.send({ tag, header: { step }, blobs }),
  expect: async () => (await t.receive({ timeoutMs: 120_000 })).blobs as Uint8Array[],
});

/** Ring online stage of `images` images on `t` as `side`; the client returns ms per image. */
async function ringOnline(t: Transport, side: 'client' | 'server', net: Model, images: number): Promise<number[]> {
  const plan = planServerNonlinear(net, DEFAULT_MASKS);
  const steps = ringSteps(plan, chooseRingScales(plan));
  const quantized = new Map<number, QuantizedLinear>();
  if (side === 'server')
    for (const s of steps)
      if (s.kind === 'linear') {
        const l = s as RingServerLinearStep;
        quantized.set(s.index, quantizeLinear(l.layer, l.base.inShape, l.inScale, l.weightScale));
      }
  const ctx = { quantized } as never;
  const inSize = shapeSize(net.inputShape);
  // A run's online images start with the material made and the weights quantized (its preprocessing did
  // both, before the first image): so here too, both sides make every image's material first, and the
  // client starts its clock only once the server says it is ready. (Made inside the loop, the server's
  // quantization and material were in the client's time of the first image: a few images were mostly that.)
  const allStates = Array.from({ length: images }, () => ringStates(steps, side));
  if (side === 'server') t.send({ tag: TAG.batch, header: { count: images }, blobs: [] });
  else await t.receive({ timeoutMs: 120_000 });
  const times: number[] = [];
  for (let img = 0; img < images; img++) {
    const states = allStates[img]!;
    const x = Float64Array.from({ length: inSize }, () => Math.random());
    const t0 = performance.now();
    let share: Float64Array | undefined = side === 'client' ? x : undefined;
    for (const s of steps) {
      const proto = ringProtocolOf(s),
        st = states.get(s.index) as never,
        io = stepIo(t, s.index);
      share =
        side === 'client'
          ? await proto.onlineClient(ctx, s as never, st, share!, io)
          : await proto.onlineServer(ctx, s as never, st, share, io);
    }
    if (side === 'server')
      t.send({ tag: TAG.onResult, header: { serverMs: 0 }, blobs: [new Uint8Array(share!.buffer)] });
    else {
      await t.receive({ timeoutMs: 120_000 });
      times.push(performance.now() - t0);
    }
  }
  return times;
}

/** Float online stage (real roles, trusted-dealer material) of `images` images; the client returns ms per image. */
async function floatOnline(t: Transport, side: 'client' | 'server', scheme: string, net: Model, images: number) {
  if (side === 'server') {
    const providers = {
      propose: () => ({ kind: 'dealer', params: null }),
      create: async () => dealerServer(cryptoMasks),
    };
    await serveSession(t, { model: net, providers: providers as never });
    return [];
  }
  const inputs = Array.from({ length: images }, () =>
    Float64Array.from({ length: shapeSize(net.inputShape) }, () => Math.random()),
  );
  const client = await runClientSession(t, inputs, {
    scheme,
    providers: { create: async () => dealerClient() } as never,
    random: cryptoMasks,
    batchSize: images,
  });
  return client.perImage.onlineMs;
}

if (!isMainThread && (workerData as Partial<OnlineInit> | null)?.ppnnOnline) {
  const d = (workerData as OnlineInit).ppnnOnline;
  const t = messagePortTransport(d.peer);
  const run =
    d.family === 'ring' ? ringOnline(t, d.side, d.net, d.images) : floatOnline(t, d.side, d.scheme, d.net, d.images);
  run.then(
    (times) => {
      parentPort!.postMessage({ times });
      t.close();
    },
    (e: unknown) => parentPort!.postMessage({ error: e instanceof Error ? e.message : String(e) }),
  );
}

/**
 * Mean ms per image of the online stage of a local run of `images` images of `scheme`
 * (`net`: the scheme's network for the ring schemes, the model for the float ones).
 */
export async function onlineInThreads(
  family: Family,
  scheme: string,
  net: Model,
  images: number,
): Promise<{ meanMs: number; firstMs: number; warmMs: number; times: number[] }> {
  const timed = Math.max(1, Math.min(images, MAX_TIMED));
  const { port1, port2 } = new MessageChannel();
  const spawn = (side: 'client' | 'server', peer: MessagePort) =>
    new Worker(new URL(import.meta.url), {
      workerData: { ppnnOnline: { side, peer, family, scheme, net, images: timed } } satisfies OnlineInit,
      transferList: [peer],
    });
  const server = spawn('server', port2),
    client = spawn('client', port1);
  const result = (w: Worker) =>
    new Promise<number[]>((resolve, reject) => {
      w.once('message', (m: { times?: number[]; error?: string }) =>
        m.times ? resolve(m.times) : reject(new Error(`online threads: ${m.error}`)),
      );
      w.once('error', reject);
    });
  try {
    const [times] = await Promise.all([result(client), result(server)]);
    const tail = times.slice(-Math.max(1, Math.floor(times.length / 3))).sort((a, b) => a - b);
    const warmMs = tail[tail.length >> 1]!;
    const sum = times.reduce((a, b) => a + b, 0) + Math.max(0, images - times.length) * warmMs;
    return { meanMs: sum / Math.max(images, times.length), firstMs: times[0]!, warmMs, times };
  } finally {
    await Promise.all([client.terminate(), server.terminate()]);
  }
}
