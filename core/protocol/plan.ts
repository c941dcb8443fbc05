/**
 * From a (merged or unmerged) network to the protocol's step list, and the mask ranges.
 *
 * The server plans from its `Model` (weights); the client plans from the `Architecture`
 * the server sends (shapes, activation coefficients, public |activation| bounds). Both
 * plans have the same steps in the same order, so step indices name the same layer on
 * both sides.
 */
import { PpnnError } from '../errors.ts';
import { layerOutputShape } from '../model/shapes.ts';
import type { Architecture, Conv2dLayer, DenseLayer, LayerSpec, Model, Shape } from '../model/types.ts';
import { shapeSize } from '../model/types.ts';

export type LinearSpec = Extract<LayerSpec, { kind: 'conv2d' } | { kind: 'dense' }>;

export interface Poly {
  a: number;
  b: number;
  c: number;
}

/** Client's view of a linear step: shapes only. */
export interface ClientLinearStep {
  kind: 'linear';
  index: number;
  /** the layer's name (= spec.name) */
  name: string;
  spec: LinearSpec;
  inShape: Shape;
  outShape: Shape;
  inSize: number;
  outSize: number;
  /** public bound on |input| (sizes the client's mask r) */
  inputBound: number;
  /** the activation right after this map, if any (its correlated randomness is made with this map's preprocessing) */
  next?: { poly: Poly; name: string; inputBound: number };
}

/** Server's view: the same plus the weights. */
export interface ServerLinearStep extends ClientLinearStep {
  layer: Conv2dLayer | DenseLayer;
  /** max over output rows of Σ|M_ij|: |M·r| ≤ rowNorm · max|r| */
  rowNorm: number;
}

export interface ActivationStep {
  kind: 'activation';
  index: number;
  name: string;
  poly: Poly;
  size: number;
}

export type ClientStep = ClientLinearStep | ActivationStep;
export type ServerStep = ServerLinearStep | ActivationStep;

/**
 * ReLU and/or max-pool on the shares, run by garbled circuits (core/gc): only the ring
 * schemes plan these (planClientNonlinear / planServerNonlinear). A max-pool next to a
 * ReLU is one step with `relu` set (ReLU∘max = max∘ReLU).
 */
export interface NonlinearStep {
  kind: 'nonlinear';
  index: number;
  name: string;
  inShape: Shape;
  outShape: Shape;
  inSize: number;
  size: number;
  relu: boolean;
  /** k×k max-pool with stride s, when there is one */
  pool?: { k: number; stride: number };
  /** public bound on |input| */
  inputBound: number;
}

export type NonlinearClientStep = ClientStep | NonlinearStep;
export type NonlinearServerStep = ServerStep | NonlinearStep;

/** Mask sizes, in bits of statistical hiding (docs/PROTOCOL.md). Public parameters of a session. */
export interface MaskParams {
  /** r = uniform in ±2^inputBits · bound: hides the client's layer inputs from the server */
  inputBits: number;
  /** s, a, t = uniform in ±2^shareBits · (bound of what they hide): hide the weights from the client */
  shareBits: number;
  /** bound used when the model carries no measured inputBounds */
  defaultBound: number;
}

export const DEFAULT_MASKS: MaskParams = { inputBits: 6, shareBits: 5, defaultBound: 64 };

function polyOf(l: LayerSpec): Poly | undefined {
  if (l.kind === 'square') return { a: 1, b: 0, c: 0 };
  if (l.kind === 'poly') return { a: l.a, b: l.b, c: l.c };
  return undefined;
}

function planSteps(
  layers: readonly LayerSpec[],
  inputShape: Shape,
  bounds: readonly (number | null | undefined)[] | undefined,
  defaultBound: number,
  nonlinear = false,
) {
  const steps: (ClientLinearStep | ActivationStep | NonlinearStep)[] = [];
  let shape = inputShape;
  const boundAt = (i: number): number => {
    const b = bounds?.[i];
    return typeof b === 'number' && Number.isFinite(b) && b > 0 ? b : defaultBound;
  };
  layers.forEach((l, i) => {
    const out = layerOutputShape(l, shape);
    if (l.kind === 'conv2d' || l.kind === 'dense') {
      steps.push({
        kind: 'linear',
        index: steps.length,
        name: l.name,
        spec: l,
        inShape: l.kind === 'dense' ? [shapeSize(shape)] : shape,
        outShape: out,
        inSize: shapeSize(shape),
        outSize: shapeSize(out),
        inputBound: boundAt(i),
      });
    } else if (l.kind === 'flatten') {
      // CHW data is already stored flat: nothing to compute, no protocol step
    } else if (nonlinear && (l.kind === 'relu' || l.kind === 'maxpool')) {
      steps.push(nonlinearStep(steps[steps.length - 1], l, shape, out, boundAt(i)));
      if (steps[steps.length - 1] === steps[steps.length - 2]) steps.pop(); // fused into the previous step
    } else {
      const poly = polyOf(l);
      if (!poly) {
        throw new PpnnError(
          'MODEL_UNSUPPORTED_LAYER',
          `layer '${l.name}' (${l.kind}) cannot run in the secret-shared online stage yet: only square / polynomial ` +
            `activations are supported (ReLU and max-pool run with garbled circuits in merged-ring and delphi)`,
        );
      }
      const prev = steps[steps.length - 1];
      if (!prev || prev.kind !== 'linear') {
        throw new PpnnError(
          'MODEL_UNSUPPORTED_LAYER',
          `activation '${l.name}' must follow a linear layer (its correlated randomness is generated with the ` +
            `preceding linear map)`,
        );
      }
      if (poly.a !== 0) prev.next = { poly, name: l.name, inputBound: boundAt(i) };
      steps.push({ kind: 'activation', index: steps.length, name: l.name, poly, size: shapeSize(out) });
    }
    shape = out;
  });
  if (steps.length === 0 || steps[0]!.kind !== 'linear')
    throw new PpnnError(
      'MODEL_UNSUPPORTED_LAYER',
      'the network must start with a linear layer (conv2d/dense/batchnorm/avgpool)',
    );
  return steps;
}

/** The step for a ReLU / max-pool layer, or `prev` itself with the layer fused into it. */
function nonlinearStep(
  prev: ClientLinearStep | ActivationStep | NonlinearStep | undefined,
  l: LayerSpec,
  inShape: Shape,
  outShape: Shape,
  inputBound: number,
): NonlinearStep {
  let pool: NonlinearStep['pool'];
  if (l.kind === 'maxpool') {
    const [kh, kw] = l.kernel,
      [sh, sw] = l.stride;
    if (kh !== kw || sh !== sw || inShape.length !== 3 || l.padding[0] !== 0 || l.padding[1] !== 0)
      throw new PpnnError(
        'MODEL_UNSUPPORTED_LAYER',
        `max-pool '${l.name}': square windows, equal strides, no padding, on a CHW tensor only`,
      );
    pool = { k: kh, stride: sh };
  }
  if (prev?.kind === 'nonlinear' && (l.kind === 'relu' ? !prev.relu : !prev.pool)) {
    // ReLU∘max-pool = max-pool∘ReLU: one circuit
    if (l.kind === 'relu') prev.relu = true;
    else Object.assign(prev, { pool, outShape, size: shapeSize(outShape), name: `${prev.name}+${l.name}` });
    return prev;
  }
  if (!prev || prev.kind !== 'linear')
    throw new PpnnError('MODEL_UNSUPPORTED_LAYER', `layer '${l.name}' (${l.kind}) must follow a linear layer`);
  return {
    kind: 'nonlinear',
    index: -1,
    name: l.name,
    inShape,
    outShape,
    inSize: shapeSize(inShape),
    size: shapeSize(outShape),
    relu: l.kind === 'relu',
    ...(pool ? { pool } : {}),
    inputBound,
  };
}

/** Client plan with ReLU / max-pool steps (the ring schemes). Throws MODEL_UNSUPPORTED_LAYER naming the layer. */
export function planClientNonlinear(arch: Architecture, masks: MaskParams): NonlinearClientStep[] {
  return renumber(planSteps(arch.layers, arch.inputShape, arch.meta.inputBounds, masks.defaultBound, true));
}

/** Server plan with ReLU / max-pool steps: planClientNonlinear on the model, with weights. */
export function planServerNonlinear(model: Model, masks: MaskParams): NonlinearServerStep[] {
  return withWeights(
    model,
    renumber(planSteps(model.layers, model.inputShape, model.meta.inputBounds, masks.defaultBound, true)),
  ) as NonlinearServerStep[];
}

/** The server's steps: each linear step of the client's plan given its layer (weights) and row norm, in order. */
function withWeights<S extends { kind: string }>(model: Model, steps: S[]) {
  const linear = model.layers.filter((l): l is Conv2dLayer | DenseLayer => l.kind === 'conv2d' || l.kind === 'dense');
  let k = 0;
  return steps.map((s) => {
    if (s.kind !== 'linear') return s;
    const layer = linear[k++]!;
    return { ...s, layer, rowNorm: rowNorm(layer) };
  });
}

function renumber<T extends { index: number }>(steps: T[]): T[] {
  steps.forEach((s, i) => (s.index = i));
  return steps;
}

/** Client plan from the architecture the server sent. Throws MODEL_UNSUPPORTED_LAYER naming the layer. */
export function planClient(arch: Architecture, masks: MaskParams): ClientStep[] {
  return planSteps(arch.layers, arch.inputShape, arch.meta.inputBounds, masks.defaultBound) as ClientStep[];
}

/** Server plan from the model (weights). Same steps as planClient on architectureOf(model). */
export function planServer(model: Model, masks: MaskParams): ServerStep[] {
  return withWeights(
    model,
    planSteps(model.layers, model.inputShape, model.meta.inputBounds, masks.defaultBound) as ClientStep[],
  ) as ServerStep[];
}

/**
 * max over output rows of ‖row‖₁ or ‖row‖₂ (for conv: one output channel's kernel, which
 * bounds every position). The mask ranges need the 1-norm, the error propagation in
 * precision.ts the 2-norm; one walk over the rows serves both.
 */
export function maxRowNorm(layer: Conv2dLayer | DenseLayer, norm: 1 | 2): number {
  const rows = layer.kind === 'dense' ? layer.outFeatures : layer.outChannels;
  const per = layer.weight.length / rows;
  let best = 0;
  for (let o = 0; o < rows; o++) {
    let s = 0;
    for (let i = 0; i < per; i++) {
      const w = layer.weight[o * per + i]!;
      s += norm === 1 ? Math.abs(w) : w ** 2;
    }
    best = Math.max(best, norm === 1 ? s : Math.sqrt(s));
  }
  return best;
}

/** max_o Σ_i |W[o,i]|: |M·r| ≤ rowNorm · max|r|. */
export function rowNorm(layer: Conv2dLayer | DenseLayer): number {
  return maxRowNorm(layer, 1);
}

/** Ranges of the masks of one linear step (both parties can compute R; only the server knows rowNorm). */
export function inputMaskRange(step: ClientLinearStep, masks: MaskParams): number {
  return 2 ** masks.inputBits * step.inputBound;
}

export interface ServerMaskRanges {
  sRange: number;
  product?: { aRange: number; tRange: number };
}

/**
 * s hides M·r from the client: |M·r| ≤ rowNorm·R, so s ∈ ±2^shareBits·rowNorm·R.
 * a hides the activation input y (|y| ≤ next.inputBound) inside d = y_s − a.
 * t hides (M·r) ⊙ a from the client (who knows r, hence would learn a).
 */
export function serverMaskRanges(step: ServerLinearStep, masks: MaskParams): ServerMaskRanges {
  const R = inputMaskRange(step, masks);
  const mr = Math.max(step.rowNorm * R, 1e-12);
  const sRange = 2 ** masks.shareBits * mr;
  if (!step.next) return { sRange };
  const aRange = 2 ** masks.shareBits * step.next.inputBound;
  const tRange = 2 ** masks.shareBits * mr * aRange;
  return { sRange, product: { aRange, tRange } };
}

/**
 * gazelle: s hides M·A(v) (the client decrypts M·A(v) − s); |A(v)| ≤ the step's public
 * input bound, so s ∈ ±2^shareBits · ‖M‖∞ · bound.
 */
export function gazelleShareRange(step: ServerLinearStep, masks: MaskParams): number {
  return 2 ** masks.shareBits * Math.max(step.rowNorm * step.inputBound, 1e-12);
}
