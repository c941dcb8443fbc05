/**
 * Slot layouts ("plans") for evaluating one linear map on a batch of B masks, and the
 * per-layer cost model that chooses among them. Pure data and arithmetic, no SEAL: the
 * client and the server derive the SAME plan from public information (layer shape, input
 * shape, B, slot count, layout, the Galois keys the client sent, whether a product is
 * computed), so nothing about the layout travels on the wire.
 *
 * Every output ciphertext is  fold( Σ_g rot(Σ_{terms of g} pt ⊙ rot(input, rotation), g·giantStep) ).
 * Candidates (layout-conv.ts, layout-dense.ts):
 *   conv  'fast':      im2col (R output channels, Cb stacked rows: every power of two) and the
 *                      channel-diagonal layout (Horner rotations, dense outputs)
 *   conv  'reference': padded per-channel images, one rotation per kernel offset
 *   dense 'fast':      BSGS hybrid diagonals, images interleaved, b1 ∈ powers of two, baby
 *                      rotations by the server or copies by the client (b1 = K with client
 *                      copies is the former "client-side diagonals" plan)
 *   dense 'reference': one ciphertext per output neuron, rotate-and-sum
 * 'fast' picks the candidate with the lowest predicted cost (planCost: op counts × per-op
 * ms, plus bytes × ms per byte) among those whose rotation steps the client has keys for.
 */
import { PpnnError } from '../errors.ts';
import { windowGeometry } from '../model/shapes.ts';
import type { Shape } from '../model/types.ts';
import type { Conv2dSpec, HeLayerSpec, HePlan, Layout } from './layout-base.ts';
import { nextPow2 } from './layout-base.ts';
export { pickOutputs } from './layout-base.ts';
import { planConvDiagonal, planConvIm2col, planConvReference } from './layout-conv.ts';
import type { ConvGeometry } from './layout-conv.ts';
import { denseGeometry, planDenseBsgs, planDenseReference } from './layout-dense.ts';
import { withClientFold } from './client-fold.ts';
import type { OpName } from './stats.ts';

export type { Conv2dSpec, DenseSpec, HeLayerSpec, HePlan, Layout, OutputRecipe, Term } from './layout-base.ts';

/**
 * Per-operation costs (ms at N = 8192 with three primes, measured on the reference machine
 * by `ppnn bench --stage preprocessing`) and the wire cost. The model is a constant so that
 * both parties choose the same layout; the bench reports predicted vs measured per layer.
 */
export interface CostModel extends Readonly<Record<CostedOp | 'load' | 'save', number>> {
  /** ms per byte on the wire (8e-5 = a 100 Mbit/s link) */
  readonly msPerByte: number;
  /** load of one client upload (a seeded ciphertext at the input level, validated); default `load` */
  readonly loadMask?: number;
}

/** The ops of the one vocabulary (core/report/he-ops.ts) a plan's cost is made of. */
export type CostedOp = Extract<
  OpName,
  | 'encodes'
  | 'encryptions'
  | 'ctPtMul'
  | 'additions'
  | 'rotations'
  | 'conjugations'
  | 'zeroEncryptions'
  | 'rescales'
  | 'decryptions'
>;

export const DEFAULT_COSTS: CostModel = {
  encodes: 0.96,
  encryptions: 2.75,
  load: 0.9,
  ctPtMul: 0.6,
  additions: 0.06,
  rotations: 5.8,
  conjugations: 5.8,
  zeroEncryptions: 7.4,
  rescales: 1.4,
  save: 0.8,
  decryptions: 0.5,
  msPerByte: 8e-5,
};

export interface PlanCost {
  readonly ms: number;
  readonly bytes: number;
  readonly uploads: number;
  readonly ctPtMul: number;
  readonly rotations: number;
  readonly outputs: number;
}

/**
 * Predicted cost of running `plan` once: client encryption, server evaluation (weights
 * counted as cached — `coldWeights`: encoded, as in a session's first batch of this plan,
 * whose weight cache is empty), circuit-private finish of every output (and of the product),
 * client decryption; bytes of the uploads (seeded: one polynomial of level+1 primes) and of
 * the level-0 responses. `n` is the ring degree (scales the per-op costs).
 */
export function planCost(
  plan: HePlan,
  opts: { product?: boolean; n?: number; cost?: CostModel; coldWeights?: boolean } = {},
): PlanCost {
  const c = opts.cost ?? DEFAULT_COSTS,
    n = opts.n ?? 2 * plan.slots,
    f = n / 8192,
    level = opts.product ? 2 : 1;
  const uploads = plan.inputCount;
  let ctPtMul = 0,
    rotations = 0;
  const rotated = new Set<string>();
  for (const o of plan.outputs) {
    const giants = new Set<number>();
    for (const t of o.terms) {
      ctPtMul++;
      giants.add(t.giant ?? 0);
      if (t.rotation) rotated.add(`${t.input}/${t.rotation}`);
    }
    rotations += Math.max(0, ...giants) + o.foldSteps.length;
  }
  rotations += rotated.size;
  const outputs = plan.outputs.length * (opts.product ? 2 : 1);
  const finish =
    c.zeroEncryptions + c.conjugations + c.rescales + c.encodes + c.additions + c.save + c.load + c.decryptions;
  const ms =
    f *
    (uploads * (c.encodes + c.encryptions + (c.loadMask ?? c.load)) +
      ctPtMul * (c.ctPtMul + c.additions) +
      rotations * (c.rotations + c.additions) +
      outputs * finish +
      (opts.product ? plan.outputs.length * (c.encodes + c.ctPtMul) : 0) +
      plan.ptCount * c.encodes * (opts.coldWeights ? 1.05 : 0.05));
  const bytes = uploads * n * 8 * (level + 1) * 0.9 + outputs * 2 * n * 8 * 0.94;
  return { ms: ms + bytes * c.msPerByte, bytes, uploads, ctPtMul, rotations, outputs };
}

/** Input spatial shape of a conv spec: `inputShape` if given, else the square one implied by `inputSize`. */
export function convInputShape(
  spec: Conv2dSpec,
  inputShape: Shape | undefined,
  inputSize?: number,
): [number, number, number] {
  if (inputShape) {
    if (inputShape.length !== 3 || inputShape[0] !== spec.inChannels)
      throw new PpnnError(
        'SHAPE_MISMATCH',
        `conv '${spec.name}': input shape [${inputShape.join(',')}] is not [${spec.inChannels},H,W]`,
      );
    return [inputShape[0]!, inputShape[1]!, inputShape[2]!];
  }
  const side = Math.round(Math.sqrt((inputSize ?? 0) / spec.inChannels));
  if (!(side > 0) || side * side * spec.inChannels !== inputSize)
    throw new PpnnError(
      'SHAPE_MISMATCH',
      `conv '${spec.name}': pass inputShape (input of ${inputSize} values is not ${spec.inChannels} square channels)`,
    );
  return [spec.inChannels, side, side];
}

/** Output size, kernel, stride and padding of a conv on a CHW input. */
export function convGeometry(spec: Conv2dSpec, shape: [number, number, number]): ConvGeometry {
  const [C, H, W] = shape;
  const { kh, kw, sh, sw, ph, pw, OH, OW } = windowGeometry(spec, H, W);
  if (OH < 1 || OW < 1) throw new PpnnError('SHAPE_MISMATCH', `conv '${spec.name}': kernel larger than padded input`);
  return { C, H, W, O: spec.outChannels, kh, kw, sh, sw, ph, pw, OH, OW };
}

export interface PlanOptions {
  images: number;
  slots: number;
  layout: Layout;
  inputShape?: Shape | undefined;
  /** Galois steps the client made keys for (undefined: any — used to decide which keys to make) */
  steps?: readonly number[] | undefined;
  /** a correlated product is computed too (doubles the cost of every output) */
  product?: boolean | undefined;
  /**
   * The fold rotations may be left to the client (client-fold.ts: CKKS preprocessing; not
   * gazelle's online stage, not BFV). Each candidate is then also tried folded by the client,
   * and one image is planned for bytes: uploads + responses + the Galois keys the plan needs.
   */
  clientFold?: boolean | undefined;
  /** one image with client folding: Galois keys already chosen (for other layers) that cost no bytes */
  freeSteps?: readonly number[] | undefined;
}

/** Bytes of one seeded, compressed Galois key at ring degree n (3 decomposition primes × 4 primes). */
export const keyBytes = (n: number): number => 12 * n * 8 * 0.9;

/**
 * What planLayer minimises: predicted ms; for ONE image with client folding, bytes — its cold
 * latency is set-up and transfer bound, and a Galois key not yet made (not in `steps` or
 * `freeSteps`) costs as much as four uploads — with 1 ms of predicted work weighing as 1 KB.
 */
function objective(plan: HePlan, opts: PlanOptions): number {
  const c = planCost(plan, { product: opts.product });
  if (!(opts.clientFold && opts.images === 1)) return c.ms;
  const free = new Set([...(opts.steps ?? []), ...(opts.freeSteps ?? [])]);
  const newKeys = plan.rotationSteps.filter((s) => !free.has(s)).length;
  return c.bytes + newKeys * keyBytes(2 * plan.slots) + 1000 * c.ms;
}

/** The 'fast' candidates of a layer (cheap closures: a plan is only built when tried). */
export function candidates(spec: HeLayerSpec, opts: PlanOptions): (() => HePlan | null)[] {
  const { images: B, slots } = opts;
  const out: (() => HePlan | null)[] = [];
  if (spec.kind === 'dense') {
    const { K } = denseGeometry(spec, slots);
    for (let b1 = 1; b1 <= K; b1 *= 2)
      for (const clientBaby of b1 > 1 ? [false, true] : [false])
        out.push(() => planDenseBsgs(spec, B, slots, { b1, clientBaby }));
    return out;
  }
  const g = convGeometry(spec, convInputShape(spec, opts.inputShape, undefined));
  const P = g.OH * g.OW,
    T = g.kh * g.kw * nextPow2(g.C);
  if (P > slots) planConvIm2col(spec, g, B, slots, { R: 1, Cb: 1 }); // throws HE_PARAMS
  out.push(() => planConvDiagonal(spec, g, B, slots));
  for (let Cb = 1; Cb <= nextPow2(T) && Cb * P <= slots; Cb *= 2)
    for (let R = 1; R <= Math.min(g.O, Math.floor(slots / (Cb * P))); R++) {
      out.push(() => planConvIm2col(spec, g, B, slots, { R, Cb }));
    }
  return out;
}

/**
 * The plan for `spec` on a batch of `images` masks. Throws SHAPE_MISMATCH for a bad
 * input shape, HE_PARAMS when one image does not fit the ciphertext's slots or no layout
 * can run with the Galois keys in `steps`.
 */
export function planLayer(spec: HeLayerSpec, opts: PlanOptions): HePlan {
  const { images, slots, layout } = opts;
  if (!Number.isInteger(images) || images < 1) throw new RangeError(`images must be a positive integer, got ${images}`);
  if (layout !== 'fast' && layout !== 'reference')
    throw new RangeError(`layout must be 'fast' or 'reference', got ${String(layout)}`);
  if (spec.kind !== 'dense' && spec.kind !== 'conv2d')
    throw new PpnnError(
      'MODEL_UNSUPPORTED_LAYER',
      `CKKS preprocessing supports conv2d and dense layers, not ${(spec as { kind: string }).kind}`,
    );
  if (layout === 'reference') {
    if (spec.kind === 'dense') return planDenseReference(spec, images, slots);
    return planConvReference(spec, convGeometry(spec, convInputShape(spec, opts.inputShape, undefined)), images, slots);
  }
  const have = opts.steps ? new Set(opts.steps) : undefined;
  let best: HePlan | undefined,
    bestMs = Infinity;
  for (const make of candidates(spec, opts)) {
    const made = make();
    if (!made) continue;
    const folded = opts.clientFold ? withClientFold(made) : null;
    for (const plan of folded ? [made, folded] : [made]) {
      if (have && !plan.rotationSteps.every((s) => have.has(s))) continue;
      const ms = objective(plan, opts);
      if (ms < bestMs) {
        best = plan;
        bestMs = ms;
      }
    }
  }
  if (!best)
    throw new PpnnError(
      'HE_PARAMS',
      `layer '${spec.name}': no layout runs with the Galois keys sent (steps ${[...(have ?? [])].join(',')})`,
    );
  return best;
}

/** Plaintext simulation of a plan (tests): the response slot vectors before masking. */
export function simulatePlan(plan: HePlan, weight: Float64Array, masks: readonly Float64Array[]): Float64Array[] {
  const inputs = plan.inputVectors(masks);
  const pts = Array.from({ length: plan.ptCount }, (_, i) => plan.weightVector(weight, i));
  const S = plan.slots;
  const rot = (v: Float64Array, s: number) => {
    const o = new Float64Array(S);
    for (let i = 0; i < S; i++) o[i] = v[(i + s) % S]!;
    return o;
  };
  return plan.outputs.map((out) => {
    const groups = new Map<number, Float64Array>();
    for (const t of out.terms) {
      const pt = pts[t.pt];
      if (!pt) continue;
      const g = t.giant ?? 0;
      let acc = groups.get(g);
      if (!acc) groups.set(g, (acc = new Float64Array(S)));
      const x = rot(inputs[t.input]!, t.rotation);
      for (let i = 0; i < S; i++) acc[i]! += pt[i]! * x[i]!;
    }
    let acc = new Float64Array(S);
    for (const [g, a] of groups) {
      const r = rot(a, g * (out.giantStep ?? 0));
      for (let i = 0; i < S; i++) acc[i]! += r[i]!;
    }
    for (const s of [...out.foldSteps, ...(out.clientFold ?? [])]) {
      const r = rot(acc, s);
      for (let i = 0; i < S; i++) acc[i]! += r[i]!;
    }
    return acc;
  });
}
