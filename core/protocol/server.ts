/**
 * Server role of the merged / unmerged protocol: one call serves one session on one
 * transport. Every failure is sent to this client as an 'error' message and rethrown to
 * the caller, who keeps serving other sessions; `finally` frees the provider's memory.
 *
 *   client                                            server
 *   hello {scheme, inputBits}  ─────────────────────▶ merge (cached), plan, choose CKKS params
 *                              ◀──────────────────── arch {architecture (no weights), masks, params}
 *   setup {keys}               ─────────────────────▶ build evaluator
 *   ┌ per batch of images ──────────────────────────────────────────────────────────────┐
 *   │ pre.masks {Enc(r_i) ∀ linear i} ─────────────▶ Enc(M_i·r_i − s_i) [, product]     │
 *   │                             ◀──────────────── pre.shares                          │
 *   │ ┌ per image ──────────────────────────────────────────────────────────────────┐   │
 *   │ │ on.input x − r_1          ─────────────────▶ y_s = M_1(x − r_1) + s_1 + b_1  │   │
 *   │ │                           ◀───────────────── on.act d = y_s − a  (per act.)  │   │
 *   │ │ on.share <z>c − r_(i+1)   ─────────────────▶ next linear map                 │   │
 *   │ │                           ◀───────────────── on.result <logits>s             │   │
 *   │ └─────────────────────────────────────────────────────────────────────────────┘   │
 *   └───────────────────────────────────────────────────────────────────────────────────┘
 *   bye                        ─────────────────────▶ free session state
 */
import { PpnnError } from '../errors.ts';
import { architectureOf } from '../model/json.ts';
import { mergeModel } from '../model/merge.ts';
import type { Model } from '../model/types.ts';
import { expectMessage, sendError, type Message, type Transport } from '../transport/transport.ts';
import { f64ToBytes, bytesToF64 } from '../transport/frame.ts';
import { activationOnlineServer, affineActivationShare, linearOnlineServer, type ServerLinearState } from './layers.ts';
import { TAG, PROTOCOL_ID, headerInt, splitBlobs } from './messages.ts';
import { DEFAULT_MASKS, gazelleShareRange, planServer, serverMaskRanges, type MaskParams, type Poly, type ServerStep } from './plan.ts';
import type { ProviderInfo, ServerPreprocessor } from './provider.ts';

/** merged / unmerged: the paper's protocol; gazelle: the same network, linear maps by HE online. */
export type ProtocolScheme = 'merged' | 'unmerged' | 'gazelle';

/** How the server builds its preprocessing provider for a planned network. */
export interface ServerProviderFactory {
  propose(steps: ServerStep[], masks: MaskParams, scheme: ProtocolScheme): ProviderInfo;
  create(info: ProviderInfo, setupBlobs: Uint8Array[]): Promise<ServerPreprocessor>;
}

export interface ServeOptions {
  model: Model;
  providers: ServerProviderFactory;
  /** server-chosen hiding of its shares (bits) */
  shareBits?: number;
  /** largest batch of images a client may preprocess at once */
  maxBatch?: number;
  receiveTimeoutMs?: number;
  onEvent?: (ev: { type: 'stage'; stage: string } | { type: 'batch'; count: number }) => void;
}

export interface ServerSessionSummary {
  scheme: ProtocolScheme;
  images: number;
  preprocessingMs: number;
  onlineMs: number;
  stats: unknown;
}

const mergedCache = new WeakMap<Model, Map<ProtocolScheme, Model>>();

/** The network a scheme runs: merged by the cost model, or canonical with merging off. Cached per model. */
export function schemeModel(model: Model, scheme: ProtocolScheme): Model {
  let per = mergedCache.get(model);
  if (!per) mergedCache.set(model, (per = new Map()));
  let m = per.get(scheme);
  if (!m) {
    // gazelle runs the same merged network: the comparison isolates HE-online vs float-online
    m = mergeModel(model, scheme === 'unmerged' ? { force: 'none' } : {}).model;
    per.set(scheme, m);
  }
  return m;
}

/** Serve one session on `t`. Resolves with a summary at 'bye'; rejects (after telling the client) on any error. */
export async function serveSession(t: Transport, opts: ServeOptions): Promise<ServerSessionSummary> {
  const timeout = { timeoutMs: opts.receiveTimeoutMs ?? 10 * 60_000 };
  let provider: ServerPreprocessor | undefined;
  try {
    const hello = await expectMessage(t, TAG.hello, timeout);
    const h = hello.header as { protocol?: unknown; scheme?: unknown };
    if (h?.protocol !== PROTOCOL_ID) throw new PpnnError('PROTOCOL_VIOLATION', `hello: unsupported protocol ${JSON.stringify(h?.protocol)} (this server speaks ${PROTOCOL_ID})`);
    if (h.scheme !== 'merged' && h.scheme !== 'unmerged' && h.scheme !== 'gazelle') throw new PpnnError('ARGUMENT_INVALID', `hello: scheme must be 'merged', 'unmerged' or 'gazelle', got ${JSON.stringify(h.scheme)}`);
    const scheme = h.scheme;
    const masks: MaskParams = { ...DEFAULT_MASKS, inputBits: headerInt(hello.header, 'inputBits', 'hello', 40), shareBits: opts.shareBits ?? DEFAULT_MASKS.shareBits };
    const model = schemeModel(opts.model, scheme);
    const steps = planServer(model, masks);
    if (scheme === 'gazelle' && steps[steps.length - 1]!.kind !== 'linear') throw new PpnnError('MODEL_UNSUPPORTED_LAYER', 'gazelle: the network must end with a linear layer (activations are applied homomorphically before the next linear map)');
    const info = opts.providers.propose(steps, masks, scheme);
    t.send({ tag: TAG.arch, header: { architecture: architectureOf(model), masks, provider: info, maxBatch: opts.maxBatch ?? 256 }, blobs: [] });
    const setup = await expectMessage(t, TAG.setup, timeout);
    provider = await opts.providers.create(info, setup.blobs);

    let images = 0, preprocessingMs = 0, onlineMs = 0;
    if (scheme === 'gazelle') {
      for (;;) {
        const first = await expectMessage(t, [TAG.onEnc, TAG.bye], timeout);
        if (first.tag === TAG.bye) break;
        onlineMs += await serveGazelleImage(t, steps, provider, masks, first, timeout);
        images++;
      }
      return { scheme, images, preprocessingMs, onlineMs, stats: provider.stats() };
    }
    for (;;) {
      const msg = await expectMessage(t, [TAG.preMasks, TAG.bye], timeout);
      if (msg.tag === TAG.bye) break;
      const count = headerInt(msg.header, 'count', 'pre.masks', opts.maxBatch ?? 256);
      if (count === 0) throw new PpnnError('PROTOCOL_VIOLATION', 'pre.masks: count must be at least 1');
      opts.onEvent?.({ type: 'batch', count });
      const t0 = performance.now();
      const requests = splitBlobs(msg.header, msg.blobs, 'pre.masks');
      const state = new Map<number, ServerLinearState[]>();
      const respSteps: { step: number; blobs: number }[] = [];
      const respBlobs: Uint8Array[] = [];
      for (const step of steps) {
        if (step.kind !== 'linear') continue;
        const req = requests.get(step.index);
        if (!req) throw new PpnnError('PROTOCOL_VIOLATION', `pre.masks: no masks for linear step ${step.index} ('${step.spec.name}')`);
        const r = await provider.evaluate(step, req, count, serverMaskRanges(step, masks));
        state.set(step.index, r.s.map((s, i) => ({ s, ...(r.a ? { a: r.a[i]!, t: r.t![i]! } : {}) })));
        respSteps.push({ step: step.index, blobs: r.response.length });
        respBlobs.push(...r.response);
      }
      const pre = performance.now() - t0;
      preprocessingMs += pre;
      t.send({ tag: TAG.preShares, header: { steps: respSteps, serverMs: pre }, blobs: respBlobs });
      for (let img = 0; img < count; img++) {
        onlineMs += await serveOnlineImage(t, steps, state, img, timeout);
      }
      images += count;
    }
    return { scheme, images, preprocessingMs, onlineMs, stats: provider.stats() };
  } catch (e) {
    sendError(t, e);
    throw e;
  } finally {
    provider?.close();
  }
}

/**
 * gazelle, one image: every linear map is evaluated homomorphically on the client's
 * encrypted share plus the server's share, the preceding activation applied slot-wise
 * inside HE; the server keeps s + b as its new share. Returns the server's compute ms.
 */
async function serveGazelleImage(t: Transport, steps: ServerStep[], provider: ServerPreprocessor, masks: MaskParams, first: Message, timeout: { timeoutMs: number }): Promise<number> {
  if (!provider.evaluateOnline) throw new PpnnError('INTERNAL', `provider '${provider.kind}' cannot evaluate online (gazelle)`);
  let share: Float64Array | undefined;
  let activation: Poly | undefined;
  let msg: Message | undefined = first;
  let computeMs = 0;
  for (const step of steps) {
    if (step.kind === 'activation') { activation = step.poly; continue; }
    msg ??= await expectMessage(t, TAG.onEnc, timeout);
    if (headerInt(msg.header, 'step', msg.tag) !== step.index) throw new PpnnError('PROTOCOL_VIOLATION', `on.enc: expected step ${step.index}`);
    const t0 = performance.now();
    const r = await provider.evaluateOnline(step, msg.blobs, { sRange: gazelleShareRange(step, masks), ...(share ? { serverShare: share } : {}), ...(activation ? { activation } : {}) });
    share = r.s.map((v, i) => v + step.layer.bias[step.layer.kind === 'dense' ? i : Math.floor(i / (step.outSize / step.layer.outChannels))]!);
    computeMs += performance.now() - t0;
    t.send({ tag: TAG.onEval, header: { step: step.index }, blobs: r.response });
    activation = undefined;
    msg = undefined;
  }
  t.send({ tag: TAG.onResult, header: { serverMs: computeMs }, blobs: [f64ToBytes(share!)] });
  return computeMs;
}

/** Online stage for one image; returns the server's compute time in ms. */
async function serveOnlineImage(t: Transport, steps: ServerStep[], state: Map<number, ServerLinearState[]>, img: number, timeout: { timeoutMs: number }): Promise<number> {
  let share: Float64Array | undefined;
  let computeMs = 0;
  for (const step of steps) {
    if (step.kind === 'linear') {
      const msg = await expectMessage(t, share === undefined ? TAG.onInput : TAG.onShare, timeout);
      const t0 = performance.now();
      if (headerInt(msg.header, 'step', msg.tag) !== step.index || msg.blobs.length !== 1) throw new PpnnError('PROTOCOL_VIOLATION', `${msg.tag}: expected one blob for step ${step.index}`);
      const u = bytesToF64(msg.blobs[0]!, step.inSize);
      const st = state.get(step.index)![img]!;
      share = linearOnlineServer(step, st, u, share);
      computeMs += performance.now() - t0;
      if (step.next) {
        const t1 = performance.now();
        const { d, share: z } = activationOnlineServer(step.next.poly, st, share);
        share = z;
        computeMs += performance.now() - t1;
        t.send({ tag: TAG.onAct, header: { step: step.index + 1 }, blobs: [f64ToBytes(d)] });
      }
    } else if (step.poly.a === 0) {
      share = affineActivationShare(step.poly, share!, false);
    }
  }
  t.send({ tag: TAG.onResult, header: { serverMs: computeMs }, blobs: [f64ToBytes(share!)] });
  return computeMs;
}
