/**
 * Convolution slot layouts (pure data, see layout.ts for the plan contract).
 *
 * conv / im2col     one ciphertext per group of Cb im2col rows t = kk·C' + c (kernel offset
 *                   kk, input channel c, C' = next power of two ≥ C): row t holds the shifted
 *                   input X[p] = r[c, oy·sh+ky−ph, ox·sw+kx−pw] for all output positions p,
 *                   replicated R times (R output channels per ciphertext), several images.
 *                   Server: ct×pt multiply-adds, log2(Cb) fold rotations per output (Cb = 1:
 *                   ZERO rotations). Cb ≤ C' stacks channels, Cb > C' also kernel offsets.
 * conv / diagonal   channels as the "features" of a Halevi–Shoup diagonal method, one
 *                   ciphertext per kernel offset: segment s (P' = next pow2 of the output
 *                   positions slots) holds channel s mod C' of the shifted input, images
 *                   interleaved (slot (s·P' + p)·I + b) so that rotating by P'·I rotates the
 *                   channel axis cyclically. out = Σ_d rot(Σ_kk pt[d,kk] ⊙ X_kk, d) by Horner:
 *                   min(C', O')−1 rotations with ONE Galois key per output ciphertext, and an
 *                   output ciphertext holds all O channels (not R of them) — few outputs.
 * conv / reference  the input image per channel, zero-padded (Hp×Wp) so no tap wraps; one
 *                   output ciphertext per output channel = Σ_{c,ky,kx} w ⊙ rot(X_c, ky·Wp+kx).
 */
import type { WindowGeometry } from '../model/shapes.ts';
import type { Conv2dSpec, HePlan, OutputRecipe, Term } from './layout-base.ts';
import { nextPow2, tooBig } from './layout-base.ts';

/** The window geometry of a conv plus its input (C×H×W) and output channel counts. */
export interface ConvGeometry extends WindowGeometry {
  C: number;
  H: number;
  W: number;
  O: number;
}

/** Shifted input value r[c, oy·sh+ky−ph, ox·sw+kx−pw] or 0 outside the image. */
function tap(g: ConvGeometry, r: Float64Array, c: number, kk: number, p: number): number {
  const ky = Math.floor(kk / g.kw),
    kx = kk % g.kw,
    oy = Math.floor(p / g.OW),
    ox = p % g.OW;
  const iy = oy * g.sh + ky - g.ph,
    ix = ox * g.sw + kx - g.pw;
  return iy < 0 || iy >= g.H || ix < 0 || ix >= g.W ? 0 : r[(c * g.H + iy) * g.W + ix]!;
}

/**
 * The fields every conv plan fills alike: sizes, and the outCt/outSlot map of the plan
 * contract (output (b, o, p) = image b, channel o, position p of OH·OW) from the layout's
 * own `ct(b, o)` and `slot(b, o, p)`. One loop, so the three layouts cannot disagree on
 * the output order.
 */
function convPlanFrame(
  g: ConvGeometry,
  B: number,
  slots: number,
  layout: 'fast' | 'reference',
  ct: (b: number, o: number) => number,
  slot: (b: number, o: number, p: number) => number,
) {
  const P = g.OH * g.OW,
    outSize = g.O * P;
  const outCt = new Int32Array(B * outSize),
    outSlot = new Int32Array(B * outSize);
  for (let b = 0; b < B; b++)
    for (let o = 0; o < g.O; o++) {
      const c = ct(b, o);
      for (let p = 0; p < P; p++) {
        outCt[b * outSize + o * P + p] = c;
        outSlot[b * outSize + o * P + p] = slot(b, o, p);
      }
    }
  return {
    kind: 'conv2d' as const,
    layout,
    slots,
    images: B,
    inputSize: g.C * g.H * g.W,
    outputSize: outSize,
    outCt,
    outSlot,
  };
}

export interface Im2colChoice {
  readonly R: number;
  readonly Cb: number;
}

/** im2col with R output channels and Cb stacked rows per ciphertext (see the file comment). */
export function planConvIm2col(
  spec: Conv2dSpec,
  g: ConvGeometry,
  B: number,
  slots: number,
  choice: Im2colChoice,
): HePlan {
  const P = g.OH * g.OW,
    KK = g.kh * g.kw,
    C2 = nextPow2(g.C),
    T = KK * C2;
  const { R, Cb } = choice;
  if (R * Cb * P > slots) tooBig(`conv '${spec.name}' (im2col)`, R * Cb * P, slots);
  const block = R * Cb * P,
    imgs = Math.floor(slots / block),
    G = Math.ceil(B / imgs),
    OG = Math.ceil(g.O / R),
    CG = Math.ceil(T / Cb);
  // rows of a group that hold data (c < C); empty groups (all padding channels) are dropped
  const rowOk = (t: number) => t < T && t % C2 < g.C;
  const groups: number[] = [];
  for (let cg = 0; cg < CG; cg++)
    for (let cl = 0; cl < Cb; cl++)
      if (rowOk(cg * Cb + cl)) {
        groups.push(cg);
        break;
      }
  const NG = groups.length;
  const fold: number[] = [];
  for (let s = (Cb / 2) * P; s >= P; s /= 2) fold.push(s);
  const outputs: OutputRecipe[] = [];
  for (let gi = 0; gi < G; gi++)
    for (let og = 0; og < OG; og++) {
      const terms: Term[] = groups.map((_, k) => ({ input: gi * NG + k, rotation: 0, pt: og * NG + k }));
      outputs.push({ terms, foldSteps: fold });
    }
  /** slot of (image-in-ct bi, replica j, row-in-group cl, position p) */
  const at = (bi: number, j: number, cl: number, p: number) => ((bi * R + j) * Cb + cl) * P + p;
  return {
    ...convPlanFrame(
      g,
      B,
      slots,
      'fast',
      (b, o) => Math.floor(b / imgs) * OG + Math.floor(o / R),
      (b, o, p) => ((b % imgs) * R + (o % R)) * Cb * P + p,
    ),
    inputCount: G * NG,
    outputs,
    ptCount: OG * NG,
    rotationSteps: fold.slice().sort((a, b) => a - b),
    utilisation: (B * g.C * g.H * g.W) / (G * NG * slots),
    description:
      `im2col, ${NG} shifted copies (${Cb} row(s) stacked each, ${fold.length} fold rotations), R=${R} ` +
      `output channels × ${imgs} images per ciphertext`,
    inputVectors(masks) {
      const out: Float64Array[] = [];
      for (let gi = 0; gi < G; gi++)
        for (const cg of groups) {
          const v = new Float64Array(slots);
          for (let bi = 0; bi < imgs; bi++) {
            const r = masks[gi * imgs + bi];
            if (!r) break;
            for (let cl = 0; cl < Cb; cl++) {
              const t = cg * Cb + cl;
              if (!rowOk(t)) continue;
              const c = t % C2,
                kk = Math.floor(t / C2);
              for (let p = 0; p < P; p++) {
                const x = tap(g, r, c, kk, p);
                if (x !== 0) for (let j = 0; j < R; j++) v[at(bi, j, cl, p)] = x;
              }
            }
          }
          out.push(v);
        }
      return out;
    },
    weightVector(weight, pt) {
      const og = Math.floor(pt / NG),
        cg = groups[pt % NG]!;
      const v = new Float64Array(slots);
      let any = false;
      for (let j = 0; j < R; j++) {
        const o = og * R + j;
        if (o >= g.O) break;
        for (let cl = 0; cl < Cb; cl++) {
          const t = cg * Cb + cl;
          if (!rowOk(t)) continue;
          const w = weight[(o * g.C + (t % C2)) * KK + Math.floor(t / C2)]!;
          if (w === 0) continue;
          any = true;
          for (let bi = 0; bi < imgs; bi++) v.fill(w, at(bi, j, cl, 0), at(bi, j, cl, 0) + P);
        }
      }
      return any ? v : null;
    },
  };
}

/** Channel-diagonal conv (see the file comment); null when the geometry does not fit. */
export function planConvDiagonal(spec: Conv2dSpec, g: ConvGeometry, B: number, slots: number): HePlan | null {
  const P = g.OH * g.OW,
    P2 = nextPow2(P),
    KK = g.kh * g.kw,
    n2 = nextPow2(g.C),
    m2 = nextPow2(g.O);
  const S = Math.max(n2, m2),
    K = Math.min(n2, m2);
  if (g.C < 2 || S * P2 > slots) return null;
  const I = slots / (S * P2),
    G = Math.ceil(B / I);
  const step = P2 * I;
  const fold: number[] = [];
  for (let s = S / 2; s >= m2; s /= 2) fold.push(s * step);
  const outputs: OutputRecipe[] = [];
  for (let gi = 0; gi < G; gi++) {
    const terms: Term[] = [];
    for (let d = 0; d < K; d++)
      for (let kk = 0; kk < KK; kk++) terms.push({ input: gi * KK + kk, rotation: 0, pt: d * KK + kk, giant: d });
    outputs.push({ terms, foldSteps: fold, ...(K > 1 ? { giantStep: step } : {}) });
  }
  const steps = new Set<number>(fold);
  if (K > 1) steps.add(step);
  return {
    ...convPlanFrame(
      g,
      B,
      slots,
      'fast',
      (b) => Math.floor(b / I),
      (b, o, p) => (o * P2 + p) * I + (b % I),
    ),
    inputCount: G * KK,
    outputs,
    ptCount: K * KK,
    rotationSteps: [...steps].sort((a, b) => a - b),
    utilisation: (B * g.C * g.H * g.W) / (G * KK * slots),
    description:
      `channel diagonals, ${KK} shifted copies, ${K} diagonals (${K - 1} Horner rotations, ` +
      `${fold.length} fold), ${S} channel segments × ${P2} positions × ${I} images interleaved`,
    inputVectors(masks) {
      const out: Float64Array[] = [];
      for (let gi = 0; gi < G; gi++)
        for (let kk = 0; kk < KK; kk++) {
          const v = new Float64Array(slots);
          for (let bi = 0; bi < I; bi++) {
            const r = masks[gi * I + bi];
            if (!r) break;
            for (let s = 0; s < S; s++) {
              const c = s % n2;
              if (c >= g.C) continue;
              for (let p = 0; p < P; p++) v[(s * P2 + p) * I + bi] = tap(g, r, c, kk, p);
            }
          }
          out.push(v);
        }
      return out;
    },
    weightVector(weight, pt) {
      // A_d[s] multiplies X[s] (channel s mod C') and is rotated by d: output row (s − d) mod S
      const d = Math.floor(pt / KK),
        kk = pt % KK;
      const v = new Float64Array(slots);
      let any = false;
      for (let s = 0; s < S; s++) {
        const o = ((s - d + S) % S) % m2,
          c = s % n2;
        if (o >= g.O || c >= g.C) continue;
        const w = weight[(o * g.C + c) * KK + kk]!;
        if (w === 0) continue;
        any = true;
        for (let p = 0; p < P; p++) for (let bi = 0; bi < I; bi++) v[(s * P2 + p) * I + bi] = w;
      }
      return any ? v : null;
    },
  };
}

/** Padded per-channel images, one rotation per kernel offset (the simple baseline). */
export function planConvReference(spec: Conv2dSpec, g: ConvGeometry, B: number, slots: number): HePlan {
  const Hp = g.H + 2 * g.ph,
    Wp = g.W + 2 * g.pw,
    D = Hp * Wp,
    KK = g.kh * g.kw;
  if (D > slots) tooBig(`conv '${spec.name}' (reference)`, D, slots);
  const imgs = Math.floor(slots / D),
    G = Math.ceil(B / imgs);
  const outputs: OutputRecipe[] = [];
  const steps = new Set<number>();
  for (let gi = 0; gi < G; gi++)
    for (let o = 0; o < g.O; o++) {
      const terms: Term[] = [];
      for (let c = 0; c < g.C; c++)
        for (let ky = 0; ky < g.kh; ky++)
          for (let kx = 0; kx < g.kw; kx++) {
            const rotation = ky * Wp + kx;
            if (rotation) steps.add(rotation);
            terms.push({ input: gi * g.C + c, rotation, pt: (o * g.C + c) * KK + ky * g.kw + kx });
          }
      outputs.push({ terms, foldSteps: [] });
    }
  return {
    ...convPlanFrame(
      g,
      B,
      slots,
      'reference',
      (b, o) => Math.floor(b / imgs) * g.O + o,
      // p = oy·OW + ox: the top-left tap of output (oy, ox) in the padded image
      (b, _o, p) => (b % imgs) * D + Math.floor(p / g.OW) * g.sh * Wp + (p % g.OW) * g.sw,
    ),
    inputCount: G * g.C,
    outputs,
    ptCount: g.O * g.C * KK,
    rotationSteps: [...steps].sort((a, b) => a - b),
    utilisation: (B * g.C * g.H * g.W) / (G * g.C * slots),
    description: `per-channel padded ${Hp}×${Wp} images, ${imgs} images per ciphertext, one rotation per kernel offset`,
    inputVectors(masks) {
      const out: Float64Array[] = [];
      for (let gi = 0; gi < G; gi++)
        for (let c = 0; c < g.C; c++) {
          const v = new Float64Array(slots);
          for (let bi = 0; bi < imgs; bi++) {
            const r = masks[gi * imgs + bi];
            if (!r) break;
            for (let y = 0; y < g.H; y++)
              for (let x = 0; x < g.W; x++) v[bi * D + (y + g.ph) * Wp + x + g.pw] = r[(c * g.H + y) * g.W + x]!;
          }
          out.push(v);
        }
      return out;
    },
    weightVector(weight, pt) {
      const w = weight[pt]!; // pt = ((o·C + c)·kh + ky)·kw + kx: the weight index itself
      if (w === 0) return null;
      const v = new Float64Array(slots);
      for (let bi = 0; bi < imgs; bi++)
        for (let oy = 0; oy < g.OH; oy++) for (let ox = 0; ox < g.OW; ox++) v[bi * D + oy * g.sh * Wp + ox * g.sw] = w;
      return v;
    },
  };
}
