/**
 * The four steps of every layer protocol (offline client, offline server, online client,
 * online server) with explicit per-image state, DELPHI style. Pure arithmetic: messages
 * are sent by core/protocol/{client,server}.ts, HE is behind the Preprocessor interface.
 *
 *   linear step i  (y = M·v + b, v = <v>c + <v>s)
 *   client                                   server
 *   offline: r ← ±R, Enc(r)  ───────────────▶ Enc(M·r − s)  [and Enc((M·r)⊙a − t)]
 *            yc = M·r − s  ◀───────────────  keeps s (a, t)
 *            p = (M·r)⊙a − t
 *   online:  u = <v>c − r   ───────────────▶ ys = M·(u + <v>s) + s + b
 *   now  y = yc + ys
 *
 *   square / poly activation z = α·y² + β·y + γ after step i
 *   client                                   server
 *            v = yc + d = y − a ◀── d ────── d = ys − a
 *            zc = α(v² + 2p) + β·yc + γ      zs = α(a² + 2(t + (d − s)⊙a)) + β·ys
 *   since p + t + (d − s)⊙a = (M·r − s + d)⊙a = v⊙a, zc + zs = α(v + a)² + β·y + γ.
 *
 * Why this form: floating-point shares lose precision in proportion to the largest term
 * the parties add up. Every term here is of order |s|·|a| or smaller; the textbook
 * yc·ys cross term would be of order |s|², about 2^inputBits times larger.
 */
import { conv2d, dense } from '../model/forward.ts';
import type { ClientLinearStep, Poly, ServerLinearStep } from './plan.ts';

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

/** Online client, linear: the masked share u = <v>c − r sent to the server. */
export function linearOnlineClient(state: ClientLinearState, clientShare: Float64Array): Float64Array {
  const u = new Float64Array(clientShare.length);
  for (let i = 0; i < u.length; i++) u[i] = clientShare[i]! - state.r[i]!;
  return u;
}

/** Online server, linear: its share y_s = M·(u + <v>s) + b + s. `serverShare` is undefined for the first layer. */
export function linearOnlineServer(step: ServerLinearStep, state: ServerLinearState, u: Float64Array, serverShare?: Float64Array): Float64Array {
  const v = serverShare ? u.map((x, i) => x + serverShare[i]!) : u;
  const y = step.layer.kind === 'conv2d' ? conv2d(step.layer, v, step.inShape) : dense(step.layer, v);
  for (let i = 0; i < y.length; i++) y[i]! += state.s[i]!;
  return y;
}

/** Online server, activation: the message d = y_s − a and the server's new share. */
export function activationOnlineServer(poly: Poly, state: ServerLinearState, ys: Float64Array): { d: Float64Array; share: Float64Array } {
  const a = state.a!, t = state.t!, s = state.s;
  const d = new Float64Array(ys.length), share = new Float64Array(ys.length);
  for (let i = 0; i < ys.length; i++) {
    d[i] = ys[i]! - a[i]!;
    share[i] = poly.a * (a[i]! * a[i]! + 2 * (t[i]! + (d[i]! - s[i]!) * a[i]!)) + poly.b * ys[i]!;
  }
  return { d, share };
}

/** Online client, activation: the client's new share from d and its offline material. */
export function activationOnlineClient(poly: Poly, state: ClientLinearState, d: Float64Array): Float64Array {
  const yc = state.share, p = state.product!;
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

export type { ClientLinearStep, ServerLinearStep };
