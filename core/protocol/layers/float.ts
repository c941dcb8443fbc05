/**
 * Layer protocols of the float share family (`merged`, `unmerged`): additive shares in
 * float64, masks uniform in ±2^k·bound (statistical hiding, docs/PROTOCOL.md).
 *
 *   linear step i  (y = M·v + b, v = <v>c + <v>s)
 *   client                                   server
 *   offline: r ← ±R, Enc(r)  ───────────────▶ Enc(M·r − s)  [and Enc((M·r)⊙a − t)]
 *            yc = M·r − s  ◀───────────────  keeps s (a, t)
 *            p = (M·r)⊙a − t
 *   online:  u = <v>c − r   ───────────────▶ ys = M·(u + <v>s) + s + b
 *   now  y = yc + ys
 *
 *   square / poly activation z = α·y² + β·y + γ after step i (material from step i's offline)
 *   client                                   server
 *            v = yc + d = y − a ◀── d ────── d = ys − a
 *            zc = α(v² + 2p) + β·yc + γ      zs = α(a² + 2(t + (d − s)⊙a)) + β·ys
 *   since p + t + (d − s)⊙a = (M·r − s + d)⊙a = v⊙a, zc + zs = α(v + a)² + β·y + γ.
 *
 * Why this form: floating-point shares lose precision in proportion to the largest term
 * the parties add up. Every term here is of order |s|·|a| or smaller; the textbook
 * yc·ys cross term would be of order |s|², about 2^inputBits times larger.
 */
import { PpnnError } from '../../errors.ts';
import { linearForward } from '../../model/forward.ts';
import { bytesToF64, f64ToBytes } from '../../transport/frame.ts';
import { TAG } from '../messages.ts';
import {
  inputMaskRange,
  serverMaskRanges,
  type ActivationStep,
  type ClientLinearStep,
  type ClientStep,
  type MaskParams,
  type Poly,
  type ServerLinearStep,
  type ServerStep,
} from '../plan.ts';
import type { ClientPreprocessor, ServerPreprocessor } from '../provider.ts';
import type { MaskSource } from '../random.ts';
import type { LayerProtocol } from './types.ts';

/** The client's session context in the float family. */
export interface FloatClientCtx {
  provider: ClientPreprocessor;
  random: MaskSource;
  /** the client's OWN mask parameters (never the server's) */
  masks: MaskParams;
}

export interface FloatServerCtx {
  provider: ServerPreprocessor;
  masks: MaskParams;
}

/** What the client keeps per image for one linear step. */
export interface ClientLinearState {
  r: Float64Array;
  /** y_c = M·r − s (decrypted) */
  share: Float64Array;
  /** p = (M·r) ⊙ a − t (decrypted), when an activation follows */
  product?: Float64Array;
}

/** What the server keeps per image for one linear step. */
export interface ServerLinearState {
  s: Float64Array;
  a?: Float64Array;
  t?: Float64Array;
}

const need = <T>(v: T | undefined, what: string): T => {
  if (v === undefined) throw new PpnnError('INTERNAL', `missing offline state for ${what}`);
  return v;
};

/** Online client, linear: the masked share u = <v>c − r sent to the server. */
export function linearOnlineClient(state: ClientLinearState, clientShare: Float64Array): Float64Array {
  const u = new Float64Array(clientShare.length);
  for (let i = 0; i < u.length; i++) u[i] = clientShare[i]! - state.r[i]!;
  return u;
}

/** Online server, linear: its share y_s = M·(u + <v>s) + b + s. `serverShare` is undefined for the first layer. */
export function linearOnlineServer(
  step: ServerLinearStep,
  state: ServerLinearState,
  u: Float64Array,
  serverShare?: Float64Array,
): Float64Array {
  const v = serverShare ? u.map((x, i) => x + serverShare[i]!) : u;
  const y = linearForward(step.layer, v, step.inShape);
  for (let i = 0; i < y.length; i++) y[i]! += state.s[i]!;
  return y;
}

/** Online server, activation: the message d = y_s − a and the server's new share. */
export function activationOnlineServer(
  poly: Poly,
  state: ServerLinearState,
  ys: Float64Array,
): { d: Float64Array; share: Float64Array } {
  const a = need(state.a, 'activation (a)'),
    t = need(state.t, 'activation (t)'),
    s = state.s;
  const d = new Float64Array(ys.length),
    share = new Float64Array(ys.length);
  for (let i = 0; i < ys.length; i++) {
    d[i] = ys[i]! - a[i]!;
    share[i] = poly.a * (a[i]! * a[i]! + 2 * (t[i]! + (d[i]! - s[i]!) * a[i]!)) + poly.b * ys[i]!;
  }
  return { d, share };
}

/** Online client, activation: the client's new share from d and its offline material. */
export function activationOnlineClient(poly: Poly, state: ClientLinearState, d: Float64Array): Float64Array {
  const yc = state.share,
    p = need(state.product, 'activation (p)');
  const out = new Float64Array(yc.length);
  for (let i = 0; i < yc.length; i++) {
    const v = yc[i]! + d[i]!;
    out[i] = poly.a * (v * v + 2 * p[i]!) + poly.b * yc[i]! + poly.c;
  }
  return out;
}

/** Linear-only activation (a = 0): each party applies β·x (+γ for the client) locally. */
export function affineActivationShare(poly: Poly, share: Float64Array, isClient: boolean): Float64Array {
  return share.map((v) => poly.b * v + (isClient ? poly.c : 0));
}

/** Linear maps: CKKS (or dealer) preprocessing of M·r − s, one float message online. */
export const floatLinear: LayerProtocol<
  FloatClientCtx,
  FloatServerCtx,
  ClientLinearStep,
  ServerLinearStep,
  ClientLinearState,
  ServerLinearState
> = {
  name: 'float-linear',
  hasOffline: () => true,
  offlineClient(ctx, step, count) {
    // fresh masks for every layer and every image: never reused (tested)
    const r = Array.from({ length: count }, () => ctx.random.uniform(step.inSize, inputMaskRange(step, ctx.masks)));
    return {
      blobs: ctx.provider.encryptMasks(step, r),
      finish(response) {
        const { share, product } = ctx.provider.decryptShares(step, response, count);
        return share.map((s, i) => ({ r: r[i]!, share: s, ...(product ? { product: product[i]! } : {}) }));
      },
    };
  },
  async offlineServer(ctx, step, request, count) {
    const r = await ctx.provider.evaluate(step, request, count, serverMaskRanges(step, ctx.masks));
    return { blobs: r.response, states: r.s.map((s, i) => ({ s, ...(r.a && r.t ? { a: r.a[i]!, t: r.t[i]! } : {}) })) };
  },
  async onlineClient(_ctx, step, state, share, io) {
    const st = need(state, step.spec.name);
    io.send(step.index === 0 ? TAG.onInput : TAG.onShare, [f64ToBytes(linearOnlineClient(st, share))]);
    return st.share;
  },
  async onlineServer(_ctx, step, state, share, io) {
    const [u] = await io.expect(step.index === 0 ? TAG.onInput : TAG.onShare);
    return linearOnlineServer(step, need(state, step.spec.name), bytesToF64(u!, step.inSize), share);
  },
};

/** Square / polynomial activations: material from the preceding linear step's offline exchange. */
export const floatActivation: LayerProtocol<
  FloatClientCtx,
  FloatServerCtx,
  ActivationStep,
  ActivationStep,
  ClientLinearState,
  ServerLinearState
> = {
  name: 'float-poly-activation',
  hasOffline: () => false,
  stateOf: (step) => step.index - 1,
  offlineClient: () => null,
  offlineServer: () => Promise.reject(new PpnnError('INTERNAL', 'activation steps have no offline exchange')),
  async onlineClient(_ctx, step, state, share, io) {
    if (step.poly.a === 0) return affineActivationShare(step.poly, share, true);
    const [d] = await io.expect(TAG.onAct);
    return activationOnlineClient(step.poly, need(state, step.name), bytesToF64(d!, step.size));
  },
  async onlineServer(_ctx, step, state, share, io) {
    if (!share) throw new PpnnError('INTERNAL', 'activation before any linear map');
    if (step.poly.a === 0) return affineActivationShare(step.poly, share, false);
    const { d, share: z } = activationOnlineServer(step.poly, need(state, step.name), share);
    io.send(TAG.onAct, [f64ToBytes(d)]);
    return z;
  },
};

/** The float family's protocol for a planned step. */
export function floatProtocolOf(step: ClientStep | ServerStep): typeof floatLinear | typeof floatActivation {
  return step.kind === 'linear' ? floatLinear : floatActivation;
}
