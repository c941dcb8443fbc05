/**
 * Slot layouts ("plans") for evaluating one linear map on a batch of B masks. Pure data
 * and arithmetic, no SEAL: the client and the server derive the SAME plan from public
 * information (layer shape, input shape, B, slot count, layout), so nothing about the
 * layout travels on the wire.
 *
 * Every output ciphertext is  fold( Σ_terms  pt[term.pt] ⊙ rot(input[term.input], term.rotation) )
 * where fold = rotate-and-add over `foldSteps`. Four plans:
 *
 *  conv / fast       im2col on the client: for every (input-channel group, kernel offset)
 *                    one ciphertext holding the shifted input X[p] = r[c, oy·sh+ky−ph, ox·sw+kx−pw]
 *                    for all output positions p, replicated R times (R output channels per
 *                    ciphertext) and for several images. Server: ct×pt multiplies and
 *                    additions, plus log2(Cb) fold rotations when Cb channels are stacked
 *                    per ciphertext (Cb = 1: ZERO rotations). R, Cb: cost model below.
 *  conv / reference  the input image per channel, zero-padded (Hp×Wp) so no tap wraps;
 *                    one output ciphertext per output channel = Σ_{c,ky,kx} w ⊙ rot(X_c, ky·Wp+kx):
 *                    one rotation per (input ciphertext, kernel offset).
 *  dense / fast      client-side diagonals: K = min(n', m') ciphertexts holding r rotated
 *                    by k inside each image block (n', m' = next powers of two), so the
 *                    hybrid diagonal method needs no baby-step rotations, only the final
 *                    log2(n'/m') fold rotations, with many images per ciphertext.
 *  dense / reference one output ciphertext per output neuron: (W[o] ⊙ r) then rotate-and-sum
 *                    (log2 n' rotations).
 */
import { PpnnError } from '../errors.ts';
import type { Conv2dLayer, DenseLayer, Shape } from '../model/types.ts';

export type Conv2dSpec = Omit<Conv2dLayer, 'weight' | 'bias'>;
export type DenseSpec = Omit<DenseLayer, 'weight' | 'bias'>;
export type HeLayerSpec = Conv2dSpec | DenseSpec;
export type Layout = 'fast' | 'reference';

export interface Term { readonly input: number; readonly rotation: number; readonly pt: number }
export interface OutputRecipe { readonly terms: readonly Term[]; readonly foldSteps: readonly number[] }

export interface HePlan {
  readonly kind: 'conv2d' | 'dense';
  readonly layout: Layout;
  readonly slots: number;
  readonly images: number;
  readonly inputSize: number;
  readonly outputSize: number;
  readonly inputCount: number;
  readonly outputs: readonly OutputRecipe[];
  readonly ptCount: number;
  /** distinct non-zero rotation steps the server will use (Galois keys needed) */
  readonly rotationSteps: readonly number[];
  /** human-readable layout summary for reports, e.g. 'im2col R=8, 3 images/ct' */
  readonly description: string;
  /** output k of image b lives in response ciphertext outCt[b·outputSize+k], slot outSlot[…] */
  readonly outCt: Int32Array;
  readonly outSlot: Int32Array;
  /** client: the slot vectors to encrypt (length inputCount, each `slots` long) */
  inputVectors(masks: readonly Float64Array[]): Float64Array[];
  /** server: slot vector of plaintext `pt` from the layer's weights, or null if all zero */
  weightVector(weight: Float64Array, pt: number): Float64Array | null;
}

function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

function tooBig(what: string, need: number, slots: number): never {
  throw new PpnnError('HE_PARAMS', `${what} needs ${need} slots per image but the ciphertext has ${slots}; choose parameters with minSlots ≥ ${need}`);
}

/** Input spatial shape of a conv spec: `inputShape` if given, else the square one implied by `inputSize`. */
export function convInputShape(spec: Conv2dSpec, inputShape: Shape | undefined, inputSize?: number): [number, number, number] {
  if (inputShape) {
    if (inputShape.length !== 3 || inputShape[0] !== spec.inChannels) throw new PpnnError('SHAPE_MISMATCH', `conv '${spec.name}': input shape [${inputShape.join(',')}] is not [${spec.inChannels},H,W]`);
    return [inputShape[0]!, inputShape[1]!, inputShape[2]!];
  }
  const side = Math.round(Math.sqrt((inputSize ?? 0) / spec.inChannels));
  if (!(side > 0) || side * side * spec.inChannels !== inputSize) throw new PpnnError('SHAPE_MISMATCH', `conv '${spec.name}': pass inputShape (input of ${inputSize} values is not ${spec.inChannels} square channels)`);
  return [spec.inChannels, side, side];
}

interface ConvGeometry { C: number; H: number; W: number; O: number; kh: number; kw: number; sh: number; sw: number; ph: number; pw: number; OH: number; OW: number }

function convGeometry(spec: Conv2dSpec, shape: [number, number, number]): ConvGeometry {
  const [C, H, W] = shape;
  const [kh, kw] = spec.kernel, [sh, sw] = spec.stride, [ph, pw] = spec.padding;
  const OH = Math.floor((H + 2 * ph - kh) / sh) + 1, OW = Math.floor((W + 2 * pw - kw) / sw) + 1;
  if (OH < 1 || OW < 1) throw new PpnnError('SHAPE_MISMATCH', `conv '${spec.name}': kernel larger than padded input`);
  return { C, H, W, O: spec.outChannels, kh, kw, sh, sw, ph, pw, OH, OW };
}

/**
 * Cost model for the fast conv's packing (deterministic: both sides must agree). The
 * client sends one ciphertext per (channel group, kernel offset); a group stacks Cb
 * input channels (Cb a power of two) so that fewer ciphertexts travel, at the price of
 * log2(Cb) fold rotations per output; R output channels share one ciphertext.
 * Units ≈ ms at N = 8192 on the reference machine: 5 per uploaded ciphertext (encrypt,
 * compress, send, load), 0.45 per ct×pt multiply-add, 0.5 per plaintext encode (shared by
 * all groups), 6 per output ciphertext (re-randomise, conjugate, rescale, send, decrypt),
 * 4.5 per fold rotation.
 */
export function convFastCost(C: number, KK: number, O: number, P: number, R: number, Cb: number, B: number, slots: number): number {
  const imgs = Math.floor(slots / (R * Cb * P));
  const G = Math.ceil(B / imgs), OG = Math.ceil(O / R), CG = Math.ceil(C / Cb);
  return G * CG * KK * 5 + G * OG * CG * KK * 0.45 + OG * CG * KK * 0.5 + G * OG * 6 + G * OG * Math.log2(Cb) * 4.5;
}

function planConvFast(spec: Conv2dSpec, g: ConvGeometry, B: number, slots: number): HePlan {
  const P = g.OH * g.OW, KK = g.kh * g.kw, C2 = nextPow2(g.C);
  if (P > slots) tooBig(`conv '${spec.name}' (fast)`, P, slots);
  let R = 1, Cb = 1, best = Infinity;
  for (let cb = 1; cb <= C2 && cb * P <= slots; cb *= 2) for (let r = 1; r <= Math.min(g.O, Math.floor(slots / (cb * P))); r++) {
    const c = convFastCost(g.C, KK, g.O, P, r, cb, B, slots);
    if (c < best) { best = c; R = r; Cb = cb; }
  }
  const block = R * Cb * P, imgs = Math.floor(slots / block), G = Math.ceil(B / imgs), OG = Math.ceil(g.O / R), CG = Math.ceil(g.C / Cb);
  const fold: number[] = [];
  for (let s = (Cb / 2) * P; s >= P; s /= 2) fold.push(s);
  // Galois keys for every channel stacking the cost model might pick (independent of B).
  const allSteps: number[] = [];
  for (let s = P; s < C2 * P && s * 2 <= slots; s *= 2) allSteps.push(s);
  const outputs: OutputRecipe[] = [];
  for (let gi = 0; gi < G; gi++) for (let og = 0; og < OG; og++) {
    const terms: Term[] = [];
    for (let cg = 0; cg < CG; cg++) for (let kk = 0; kk < KK; kk++) terms.push({ input: (gi * CG + cg) * KK + kk, rotation: 0, pt: (og * CG + cg) * KK + kk });
    outputs.push({ terms, foldSteps: fold });
  }
  const outSize = g.O * P;
  const outCt = new Int32Array(B * outSize), outSlot = new Int32Array(B * outSize);
  for (let b = 0; b < B; b++) for (let o = 0; o < g.O; o++) for (let p = 0; p < P; p++) {
    outCt[b * outSize + o * P + p] = Math.floor(b / imgs) * OG + Math.floor(o / R);
    outSlot[b * outSize + o * P + p] = ((b % imgs) * R + (o % R)) * Cb * P + p;
  }
  /** slot of (image-in-ct bi, replica j, channel-in-group cl, position p) */
  const at = (bi: number, j: number, cl: number, p: number) => ((bi * R + j) * Cb + cl) * P + p;
  return {
    kind: 'conv2d', layout: 'fast', slots, images: B, inputSize: g.C * g.H * g.W, outputSize: outSize,
    inputCount: G * CG * KK, outputs, ptCount: OG * CG * KK, rotationSteps: allSteps, outCt, outSlot,
    description: `im2col, ${CG * KK} shifted copies (${Cb} channel(s) stacked each, ${fold.length} fold rotations), R=${R} output channels × ${imgs} images per ciphertext`,
    inputVectors(masks) {
      const out: Float64Array[] = [];
      for (let gi = 0; gi < G; gi++) for (let cg = 0; cg < CG; cg++) for (let ky = 0; ky < g.kh; ky++) for (let kx = 0; kx < g.kw; kx++) {
        const v = new Float64Array(slots);
        for (let bi = 0; bi < imgs; bi++) {
          const r = masks[gi * imgs + bi];
          if (!r) break;
          for (let cl = 0; cl < Cb && cg * Cb + cl < g.C; cl++) {
            const c = cg * Cb + cl;
            for (let oy = 0; oy < g.OH; oy++) {
              const iy = oy * g.sh + ky - g.ph;
              if (iy < 0 || iy >= g.H) continue;
              for (let ox = 0; ox < g.OW; ox++) {
                const ix = ox * g.sw + kx - g.pw;
                if (ix < 0 || ix >= g.W) continue;
                const x = r[(c * g.H + iy) * g.W + ix]!;
                for (let j = 0; j < R; j++) v[at(bi, j, cl, oy * g.OW + ox)] = x;
              }
            }
          }
        }
        out.push(v);
      }
      return out;
    },
    weightVector(weight, pt) {
      const og = Math.floor(pt / (CG * KK)), cg = Math.floor(pt / KK) % CG, kk = pt % KK;
      const v = new Float64Array(slots);
      let any = false;
      for (let j = 0; j < R; j++) {
        const o = og * R + j;
        if (o >= g.O) break;
        for (let cl = 0; cl < Cb && cg * Cb + cl < g.C; cl++) {
          const w = weight[(o * g.C + cg * Cb + cl) * KK + kk]!;
          if (w === 0) continue;
          any = true;
          for (let bi = 0; bi < imgs; bi++) v.fill(w, at(bi, j, cl, 0), at(bi, j, cl, 0) + P);
        }
      }
      return any ? v : null;
    },
  };
}

function planConvReference(spec: Conv2dSpec, g: ConvGeometry, B: number, slots: number): HePlan {
  const Hp = g.H + 2 * g.ph, Wp = g.W + 2 * g.pw, D = Hp * Wp, KK = g.kh * g.kw;
  if (D > slots) tooBig(`conv '${spec.name}' (reference)`, D, slots);
  const imgs = Math.floor(slots / D), G = Math.ceil(B / imgs);
  const outputs: OutputRecipe[] = [];
  const steps = new Set<number>();
  for (let gi = 0; gi < G; gi++) for (let o = 0; o < g.O; o++) {
    const terms: Term[] = [];
    for (let c = 0; c < g.C; c++) for (let ky = 0; ky < g.kh; ky++) for (let kx = 0; kx < g.kw; kx++) {
      const rotation = ky * Wp + kx;
      if (rotation) steps.add(rotation);
      terms.push({ input: gi * g.C + c, rotation, pt: (o * g.C + c) * KK + ky * g.kw + kx });
    }
    outputs.push({ terms, foldSteps: [] });
  }
  const P = g.OH * g.OW, outSize = g.O * P;
  const outCt = new Int32Array(B * outSize), outSlot = new Int32Array(B * outSize);
  for (let b = 0; b < B; b++) for (let o = 0; o < g.O; o++) for (let oy = 0; oy < g.OH; oy++) for (let ox = 0; ox < g.OW; ox++) {
    const i = b * outSize + o * P + oy * g.OW + ox;
    outCt[i] = Math.floor(b / imgs) * g.O + o;
    outSlot[i] = (b % imgs) * D + oy * g.sh * Wp + ox * g.sw;
  }
  return {
    kind: 'conv2d', layout: 'reference', slots, images: B, inputSize: g.C * g.H * g.W, outputSize: outSize,
    inputCount: G * g.C, outputs, ptCount: g.O * g.C * KK, rotationSteps: [...steps].sort((a, b) => a - b), outCt, outSlot,
    description: `per-channel padded ${Hp}×${Wp} images, ${imgs} images per ciphertext, one rotation per kernel offset`,
    inputVectors(masks) {
      const out: Float64Array[] = [];
      for (let gi = 0; gi < G; gi++) for (let c = 0; c < g.C; c++) {
        const v = new Float64Array(slots);
        for (let bi = 0; bi < imgs; bi++) {
          const r = masks[gi * imgs + bi];
          if (!r) break;
          for (let y = 0; y < g.H; y++) for (let x = 0; x < g.W; x++) v[bi * D + (y + g.ph) * Wp + x + g.pw] = r[(c * g.H + y) * g.W + x]!;
        }
        out.push(v);
      }
      return out;
    },
    weightVector(weight, pt) {
      const w = weight[pt]!; // pt = ((o·C + c)·kh + ky)·kw + kx: the weight index itself
      if (w === 0) return null;
      const v = new Float64Array(slots);
      for (let bi = 0; bi < imgs; bi++) for (let oy = 0; oy < g.OH; oy++) for (let ox = 0; ox < g.OW; ox++) v[bi * D + oy * g.sh * Wp + ox * g.sw] = w;
      return v;
    },
  };
}

function planDense(spec: DenseSpec, layout: Layout, B: number, slots: number): HePlan {
  const n = spec.inFeatures, m = spec.outFeatures, n2 = nextPow2(n), m2 = nextPow2(m);
  const fast = layout === 'fast';
  const D = fast ? Math.max(n2, m2) : n2, K = fast ? Math.min(n2, m2) : 1;
  if (D > slots) tooBig(`dense '${spec.name}' (${layout})`, D, slots);
  const imgs = Math.floor(slots / D), G = Math.ceil(B / imgs);
  const outputs: OutputRecipe[] = [];
  const fold: number[] = [];
  if (fast) for (let s = n2 / 2; s >= m2; s /= 2) fold.push(s);
  else for (let s = n2 / 2; s >= 1; s /= 2) fold.push(s);
  for (let gi = 0; gi < G; gi++) {
    if (fast) outputs.push({ terms: Array.from({ length: K }, (_, k) => ({ input: gi * K + k, rotation: 0, pt: k })), foldSteps: fold });
    else for (let o = 0; o < m; o++) outputs.push({ terms: [{ input: gi, rotation: 0, pt: o }], foldSteps: fold });
  }
  const outCt = new Int32Array(B * m), outSlot = new Int32Array(B * m);
  for (let b = 0; b < B; b++) for (let o = 0; o < m; o++) {
    const gi = Math.floor(b / imgs), bi = b % imgs;
    outCt[b * m + o] = fast ? gi : gi * m + o;
    outSlot[b * m + o] = bi * D + (fast ? o : 0);
  }
  return {
    kind: 'dense', layout, slots, images: B, inputSize: n, outputSize: m,
    inputCount: G * K, outputs, ptCount: fast ? K : m, rotationSteps: [...fold].sort((a, b) => a - b), outCt, outSlot,
    description: fast ? `client-side diagonals: ${K} rotated copies, block ${D}, ${imgs} images per ciphertext, ${fold.length} fold rotations` : `one ciphertext per output neuron, block ${D}, ${imgs} images per ciphertext, ${fold.length} rotate-and-sum steps`,
    inputVectors(masks) {
      const out: Float64Array[] = [];
      for (let gi = 0; gi < G; gi++) for (let k = 0; k < K; k++) {
        const v = new Float64Array(slots);
        for (let bi = 0; bi < imgs; bi++) {
          const r = masks[gi * imgs + bi];
          if (!r) break;
          for (let j = 0; j < D; j++) {
            const col = (j + k) % n2;
            if (col < n) v[bi * D + j] = r[col]!;
          }
        }
        out.push(v);
      }
      return out;
    },
    weightVector(weight, pt) {
      const v = new Float64Array(slots);
      let any = false;
      for (let j = 0; j < D; j++) {
        const row = fast ? j % m2 : pt, col = fast ? (j + pt) % n2 : j;
        if (row >= m || col >= n) continue;
        const w = weight[row * n + col]!;
        if (w === 0) continue;
        any = true;
        for (let bi = 0; bi < imgs; bi++) v[bi * D + j] = w;
      }
      return any ? v : null;
    },
  };
}

/**
 * The plan for `spec` on a batch of `images` masks. Throws SHAPE_MISMATCH for a bad
 * input shape, HE_PARAMS when one image does not fit the ciphertext's slots.
 */
export function planLayer(spec: HeLayerSpec, opts: { images: number; slots: number; layout: Layout; inputShape?: Shape | undefined }): HePlan {
  const { images, slots, layout } = opts;
  if (!Number.isInteger(images) || images < 1) throw new RangeError(`images must be a positive integer, got ${images}`);
  if (layout !== 'fast' && layout !== 'reference') throw new RangeError(`layout must be 'fast' or 'reference', got ${String(layout)}`);
  if (spec.kind === 'dense') return planDense(spec, layout, images, slots);
  if (spec.kind !== 'conv2d') throw new PpnnError('MODEL_UNSUPPORTED_LAYER', `CKKS preprocessing supports conv2d and dense layers, not ${(spec as { kind: string }).kind}`);
  const shape = convInputShape(spec, opts.inputShape, undefined);
  const g = convGeometry(spec, shape);
  return layout === 'fast' ? planConvFast(spec, g, images, slots) : planConvReference(spec, g, images, slots);
}

/** Plaintext simulation of a plan (tests): the response slot vectors before masking. */
export function simulatePlan(plan: HePlan, weight: Float64Array, masks: readonly Float64Array[]): Float64Array[] {
  const inputs = plan.inputVectors(masks);
  const pts = Array.from({ length: plan.ptCount }, (_, i) => plan.weightVector(weight, i));
  const S = plan.slots;
  const rot = (v: Float64Array, s: number) => { const o = new Float64Array(S); for (let i = 0; i < S; i++) o[i] = v[(i + s) % S]!; return o; };
  return plan.outputs.map((out) => {
    let acc = new Float64Array(S);
    for (const t of out.terms) {
      const pt = pts[t.pt];
      if (!pt) continue;
      const x = rot(inputs[t.input]!, t.rotation);
      for (let i = 0; i < S; i++) acc[i]! += pt[i]! * x[i]!;
    }
    for (const s of out.foldSteps) { const r = rot(acc, s); for (let i = 0; i < S; i++) acc[i]! += r[i]!; }
    return acc;
  });
}
