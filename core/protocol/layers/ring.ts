/**
 * Layer protocols of the ring share family (`merged-ring`, `delphi`): additive shares in
 * Z_p (core/ring, p < 2^51, Float64Array of integers), every mask uniform in Z_p from the
 * CSPRNG, so every online message is uniform and independent of the input (perfect
 * hiding); BFV preprocessing (core/he/bfv.ts) with 40-bit circuit privacy.
 *
 *   linear step (y = M·v + b at scale 2^(e+w); v = <v>c + <v>s at 2^e)
 *   client                                      server
 *   offline: r ← Z_p, Enc(layout(r)) ─────────▶ Enc(M·r − s)     s ← Z_p
 *            yc = M·r − s ◀────────────────────
 *   online:  u = <v>c − r  ── on.input/share ─▶ ys = M·(u + <v>s) + b + s
 *
 *   truncation (÷ 2^d, |y| < 2^(l−1)), optionally squared — core/ring/truncate.ts
 *   client                                      server
 *   offline: b ← {0,1}, ρ1, ρ2 ← Z_p,           A, μ, ν ← Z_p; Q, X = β·pq from A;
 *            Enc(ρ1), Enc(ρ2), Enc(b) ────────▶ B1 = 2Q, B2 = 2X, B3 = X(2Q + pq)
 *            G = ρ1B1 + ρ2B2 − μ, H = b·B3 − ν ◀ (truncation only: H = b·X − ν)
 *   online:  W = yc + d ◀──────── on.act ────── d = ys + A + 2^(l−1)
 *            P = ⌊W/2^d⌋, γ = [W < 2^l], e = γ ⊕ b
 *            P − ρ1, γP − ρ2, e ─── on.trunc ─▶
 *            zc = P² + G + (1 − 2e)H            zs = Q² + (P − ρ1)B1 + (γP − ρ2)B2 + μ + (1 − 2e)ν + e·B3
 *   (truncation only: e alone; yc' = P + (1 − 2e)H, ys' = Q + (1 − 2e)ν + e·X)
 *
 * A garbled-circuit activation (ReLU, max-pool) is another LayerProtocol over the same
 * shares: it receives <y>c / <y>s as ring vectors at scale 2^(e+w) and returns shares at
 * 2^f, like `ringTruncation` does; the step planner (core/protocol/ring-plan.ts) picks it.
 */
import { PpnnError } from '../../errors.ts';
import type { BfvClient, BfvServer, ElementwiseOutput } from '../../he/bfv.ts';
import { planLayer, type HePlan, type Layout } from '../../he/layout.ts';
import { P, addVec, applySmall, negMod, subVec } from '../../ring/field.ts';
import { encodeFixed } from '../../ring/fixed.ts';
import { packBits, packRing, unpackBits, unpackRing } from '../../ring/pack.ts';
import type { QuantizedLinear } from '../../ring/quantize.ts';
import type { RingRandom } from '../../ring/random.ts';
import {
  clientOpening,
  maskBits,
  serverOpening,
  serverTruncMaterial,
  squareClient,
  squareFactors,
  squareServer,
  truncClientShare,
  truncServerShare,
} from '../../ring/truncate.ts';
import { TAG } from '../messages.ts';
import type { RingLinearStep, RingServerLinearStep, RingStep, RingTruncStep } from '../ring-plan.ts';
import { ringGc, type GcClientCtx, type GcServerCtx } from './ring-gc.ts';
import type { LayerProtocol } from './types.ts';

/** The reply to an opening (the OLE messages and the masked wrap bits). */
export const TAG_TRUNC = 'on.trunc';

export interface RingClientCtx extends GcClientCtx {
  he: BfvClient;
  random: RingRandom;
  layout: Layout;
}

export interface RingServerCtx extends GcServerCtx {
  he: BfvServer;
  random: RingRandom;
  layout: Layout;
  /** fixed-point form of every linear step, by step index */
  quantized: ReadonlyMap<number, QuantizedLinear>;
}

export interface RingClientLinearState {
  r: Float64Array;
  share: Float64Array;
}
export interface RingServerLinearState {
  s: Float64Array;
}
export interface RingClientTruncState {
  b: Float64Array;
  h: Float64Array;
  rho1?: Float64Array;
  rho2?: Float64Array;
  g?: Float64Array;
}
export interface RingServerTruncState {
  A: Float64Array;
  q: Float64Array;
  x: Float64Array;
  nu: Float64Array;
  mu?: Float64Array;
  f?: ReturnType<typeof squareFactors>;
}

const need = <T>(v: T | undefined, what: string): T => {
  if (v === undefined) throw new PpnnError('INTERNAL', `missing offline state for ${what}`);
  return v;
};

function planOf(step: RingLinearStep, count: number, slots: number, layout: Layout, steps: readonly number[]): HePlan {
  const b = step.base;
  // both sides restrict the choice to the Galois keys the client sent (rotationStepsFor's batch sizes)
  return planLayer(b.spec, {
    images: count,
    slots,
    layout,
    inputShape: b.spec.kind === 'conv2d' ? b.inShape : undefined,
    steps,
  });
}

/** Per-image output vectors (plan order) picked from full slot vectors per response ciphertext. */
function pick(plan: HePlan, count: number, full: readonly Float64Array[]): Float64Array[] {
  return Array.from({ length: count }, (_, b) => {
    const v = new Float64Array(plan.outputSize);
    for (let k = 0; k < plan.outputSize; k++)
      v[k] = full[plan.outCt[b * plan.outputSize + k]!]![plan.outSlot[b * plan.outputSize + k]!]!;
    return v;
  });
}

export const ringLinear: LayerProtocol<
  RingClientCtx,
  RingServerCtx,
  RingLinearStep,
  RingServerLinearStep,
  RingClientLinearState,
  RingServerLinearState
> = {
  name: 'ring-linear',
  hasOffline: () => true,
  offlineClient(ctx, step, count) {
    const plan = planOf(step, count, ctx.he.he.slots, ctx.layout, ctx.he.steps);
    // fresh uniform masks for every layer and every image, never reused
    const r = Array.from({ length: count }, () => ctx.random.uniform(step.base.inSize));
    return {
      blobs: ctx.he.encrypt(step.name, plan.inputVectors(r)),
      finish(response) {
        const share = pick(plan, count, ctx.he.decrypt(step.name, response, plan.outputs.length));
        return share.map((s, i) => ({ r: r[i]!, share: s }));
      },
    };
  },
  async offlineServer(ctx, step, request, count) {
    const plan = planOf(step, count, ctx.he.he.slots, ctx.layout, ctx.he.steps);
    const q = need(ctx.quantized.get(step.index), step.name);
    const N = ctx.he.he.params.polyModulusDegree;
    const sFull = plan.outputs.map(() => ctx.random.uniform(N));
    const blobs = ctx.he.linear(
      step.name,
      plan,
      q.intWeight,
      request,
      sFull.map((v) => v.map(negMod)),
    );
    return { blobs, states: pick(plan, count, sFull).map((s) => ({ s })) };
  },
  async onlineClient(_ctx, step, state, share, io) {
    const st = need(state, step.name);
    const x = step.first ? encodeFixed(share, step.inScale) : share;
    io.send(step.first ? TAG.onInput : TAG.onShare, [packRing(subVec(x, st.r))]);
    return st.share;
  },
  async onlineServer(ctx, step, state, share, io) {
    const st = need(state, step.name);
    const [bytes] = await io.expect(step.first ? TAG.onInput : TAG.onShare);
    const u = unpackRing(bytes!, step.base.inSize, `${step.name} masked input`);
    const v = share ? addVec(u, share, u) : u;
    const q = need(ctx.quantized.get(step.index), step.name);
    const y = applySmall(q.matrix, v);
    addVec(y, q.bias, y);
    return addVec(y, st.s, y);
  },
};

/** Element-wise packing: value j of image b sits at position b·n + j of chunk vectors of N slots. */
function chunks(v: Float64Array, N: number): Float64Array[] {
  const out: Float64Array[] = [];
  for (let at = 0; at < v.length; at += N) {
    const c = new Float64Array(N);
    c.set(v.subarray(at, at + N));
    out.push(c);
  }
  return out;
}
const concat = (parts: readonly Float64Array[], n: number): Float64Array => {
  const out = new Float64Array(parts.length * n);
  parts.forEach((p, i) => out.set(p.subarray(0, n), i * n));
  return out;
};
const slice = (v: Float64Array, b: number, n: number): Float64Array => v.slice(b * n, (b + 1) * n);

export const ringTruncation: LayerProtocol<
  RingClientCtx,
  RingServerCtx,
  RingTruncStep,
  RingTruncStep,
  RingClientTruncState,
  RingServerTruncState
> = {
  name: 'ring-truncation',
  hasOffline: () => true,
  offlineClient(ctx, step, count) {
    const N = ctx.he.he.params.polyModulusDegree,
      n = step.size,
      total = count * n;
    const square = step.kind === 'square';
    const b = ctx.random.bits(total);
    const rho1 = square ? ctx.random.uniform(total) : undefined,
      rho2 = square ? ctx.random.uniform(total) : undefined;
    const vectors = square ? [...chunks(rho1!, N), ...chunks(rho2!, N), ...chunks(b, N)] : chunks(b, N);
    const C = Math.ceil(total / N);
    return {
      blobs: ctx.he.encrypt(step.name, vectors),
      finish(response) {
        const dec = ctx.he.decrypt(step.name, response, square ? 2 * C : C, 'product');
        const g = square ? concat(dec.slice(0, C), N) : undefined;
        const h = concat(dec.slice(square ? C : 0), N);
        return Array.from({ length: count }, (_, i) => ({
          b: slice(b, i, n),
          h: slice(h, i, n),
          ...(square ? { rho1: slice(rho1!, i, n), rho2: slice(rho2!, i, n), g: slice(g!, i, n) } : {}),
        }));
      },
    };
  },
  async offlineServer(ctx, step, request, count) {
    const N = ctx.he.he.params.polyModulusDegree,
      n = step.size,
      total = count * n,
      C = Math.ceil(total / N);
    const square = step.kind === 'square';
    if (request.length !== (square ? 3 : 1) * C)
      throw new PpnnError(
        'CIPHERTEXT_INVALID',
        `${step.name}: expected ${(square ? 3 : 1) * C} ciphertexts, got ${request.length}`,
      );
    const A = ctx.random.uniform(total),
      nu = ctx.random.uniform(total);
    const { q, x } = serverTruncMaterial(step.trunc, A);
    const mu = square ? ctx.random.uniform(total) : undefined;
    const f = square ? squareFactors(step.trunc, q, x) : undefined;
    const outputs: ElementwiseOutput[] = [];
    const ch = (v: Float64Array) => chunks(v, N);
    const negNu = ch(nu.map(negMod));
    if (square) {
      const b1 = ch(f!.b1),
        b2 = ch(f!.b2),
        b3 = ch(f!.b3),
        negMu = ch(mu!.map(negMod));
      for (let c = 0; c < C; c++) outputs.push({ inputs: [c, C + c], factors: [b1[c]!, b2[c]!], negMask: negMu[c]! });
      for (let c = 0; c < C; c++) outputs.push({ inputs: [2 * C + c], factors: [b3[c]!], negMask: negNu[c]! });
    } else {
      const xs = ch(x);
      for (let c = 0; c < C; c++) outputs.push({ inputs: [c], factors: [xs[c]!], negMask: negNu[c]! });
    }
    const blobs = ctx.he.elementwise(step.name, request, outputs);
    const states = Array.from({ length: count }, (_, i) => {
      const sf = f ? { b1: slice(f.b1, i, n), b2: slice(f.b2, i, n), b3: slice(f.b3, i, n) } : undefined;
      return {
        A: slice(A, i, n),
        q: slice(q, i, n),
        x: slice(x, i, n),
        nu: slice(nu, i, n),
        ...(square ? { mu: slice(mu!, i, n), f: sf } : {}),
      };
    });
    return { blobs, states };
  },
  async onlineClient(_ctx, step, state, share, io) {
    const st = need(state, step.name);
    const [dBytes] = await io.expect(TAG.onAct);
    const d = unpackRing(dBytes!, step.size, `${step.name} opening`);
    const { P: Pc, gamma } = clientOpening(step.trunc, share, d);
    const e = maskBits(gamma, st.b);
    if (step.kind === 'trunc') {
      io.send(TAG_TRUNC, [packBits(e)]);
      return truncClientShare(Pc, e, st.h);
    }
    const sq = squareClient(Pc, gamma, e, need(st.rho1, 'ρ1'), need(st.rho2, 'ρ2'), need(st.g, 'G'), st.h);
    io.send(TAG_TRUNC, [packRing(sq.m1), packRing(sq.m2), packBits(e)]);
    return sq.share;
  },
  async onlineServer(_ctx, step, state, share, io) {
    const st = need(state, step.name);
    if (!share) throw new PpnnError('INTERNAL', 'truncation before any linear map');
    io.send(TAG.onAct, [packRing(serverOpening(step.trunc, share, st.A))]);
    if (step.kind === 'trunc') {
      const [eb] = await io.expect(TAG_TRUNC);
      return truncServerShare(st.q, st.x, unpackBits(eb!, step.size, `${step.name} bits`), st.nu);
    }
    const [m1, m2, eb] = await io.expect(TAG_TRUNC, [3, 3]);
    const n = step.size;
    return squareServer(
      st.q,
      need(st.f, 'factors'),
      unpackRing(m1!, n, `${step.name} m1`),
      unpackRing(m2!, n, `${step.name} m2`),
      unpackBits(eb!, n, `${step.name} bits`),
      need(st.mu, 'μ'),
      st.nu,
    );
  },
};

/** The ring family's protocol for a planned step. */
export function ringProtocolOf(step: RingStep): typeof ringLinear | typeof ringTruncation | typeof ringGc {
  return step.kind === 'linear' ? ringLinear : step.kind === 'gc' ? ringGc : ringTruncation;
}

/** Logits from the two shares of the last linear step (scale 2^scale), in the signed view. */
export function reconstructRing(client: Float64Array, server: Float64Array, scale: number): Float64Array {
  const out = new Float64Array(client.length),
    k = 2 ** -scale;
  for (let i = 0; i < out.length; i++) {
    const s = client[i]! + server[i]!,
      v = s >= P ? s - P : s;
    out[i] = (v > (P - 1) / 2 ? v - P : v) * k;
  }
  return out;
}
