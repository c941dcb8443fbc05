/**
 * Precision by design: from the planned network, the masks and a target logit error, the
 * CKKS request (Δ from a precision, q0 from a value range) and a public per-step scale
 * that let every linear step meet its share of the error budget — or an error saying what
 * would fit.
 *
 * Error model. A decrypted share of linear step l carries an absolute error ≤ e·g_l, where
 * e = predictedPrecision(params) (CKKS error is absolute, core/he/params.ts) and g_l the
 * step's public scale: the client encrypts r/g_l, the server evaluates M·r/g_l − s/g_l,
 * and both multiply their parts by g_l. Scaling by g_l moves the same bits between range
 * and precision, so one set of parameters serves layers whose (range, precision) needs
 * differ by orders of magnitude (a large-input last layer beside a small first one).
 * The error of step l's output reaches the logits multiplied by its gain
 *   gain_l = slope_l · ‖M_{l+1}‖₂,row · gain_{l+1},  gain_last = 1,
 * where slope_l = 2|a|·bound + |b| is the activation's derivative bound on its calibrated
 * input range and ‖M‖₂,row the largest row 2-norm (per-coordinate errors are independent
 * and zero-mean, so they add in 2-norm, not 1-norm). The correlated product of a square
 * activation carries error e·g_l·f_l (f_l its own range scale) at the activation output.
 * The budget is split evenly over the K error sources: tolerance = target / (K · gain).
 * The client's masks go up at scale Δ·2^b (b per step, chosen below), and two
 * errors of M·(r/g) grow with the map instead of staying at e: the upload's own noise
 * (fresh encryption and input rotations, ≤ 2^(noise−3)/(Δ·2^b) per value: ~2× a 6σ bound)
 * summed through a row, × ‖M‖₂,row; and the weight plaintext's rounding at q_L/2^b
 * (≤ 6σ = 1.73√N/(q_L/2^b) per slot) times the values r/g of the row, in 2-norm
 * ≤ √(n/3)·R/g for uniform masks (n weights per row). Both reach the share ×1 and the
 * correlated product ×|a| (≤ aRange): at b = 0 the conv → flatten → BatchNorm1d fixture's
 * rows (‖M‖₂ = 195, aRange 1,313) made them the largest error of all (measured 5.7e-3
 * on 1,000 images, where the model without them predicted 1.3e-3: e was fitted on rows
 * with Σ|w| ≈ 5, core/he/params.ts).
 * Masks dominate every range (2^k times the values they hide), so range comes from them.
 */
import { PpnnError } from '../errors.ts';
import {
  chooseParams,
  noiseBits,
  predictedPrecision,
  maxUploadScaleBits,
  type CkksParams,
  type ParamsRequest,
} from '../he/index.ts';
import type { Conv2dLayer, DenseLayer } from '../model/types.ts';
import {
  inputMaskRange,
  maxRowNorm,
  serverMaskRanges,
  type MaskParams,
  type ServerLinearStep,
  type ServerStep,
} from './plan.ts';

/** Default target for the max |logit error| a secure run should stay under. */
export const DEFAULT_TARGET_ERROR = 1e-3;

/** The planned precision of one linear step (and the activation right after it). */
export interface StepPrecision {
  readonly index: number;
  readonly name: string;
  /** largest |value| of this step inside HE before scaling (masks included) */
  readonly maxAbs: number;
  /** gain from this step's output to the logits */
  readonly gain: number;
  /** allowed absolute error of this step's share */
  readonly tolerance: number;
  /** public scale g: values are encrypted as v/g */
  readonly shareScale: number;
  /** public scale f of the correlated product (1 when none) */
  readonly productScale: number;
  /** the client encrypts this step's masks at scale Δ·2^b (core/he/params.ts maxUploadScaleBits) */
  readonly uploadScaleBits: number;
  /** predicted contribution to the max |logit error|, given the chosen parameters */
  readonly predictedLogitError: number;
}

export interface PrecisionPlan {
  readonly targetError: number;
  readonly request: ParamsRequest;
  readonly params: CkksParams;
  readonly steps: readonly StepPrecision[];
  /** Σ of the per-step contributions: the predicted max |logit error| (an upper bound) */
  readonly predictedLogitError: number;
  readonly meetsTarget: boolean;
  /** when the target is missed: what would meet it */
  readonly advice?: string;
}

/** max over output rows of ‖row‖₂ (see maxRowNorm). */
export function rowNorm2(layer: Conv2dLayer | DenseLayer): number {
  return maxRowNorm(layer, 2);
}

/** A larger ring degree must cut the predicted error below this fraction of the smaller one's. */
const LARGER_N_GAIN = 0.9;

const pow2Ceil = (x: number): number => 2 ** Math.max(0, Math.ceil(Math.log2(x)));

/** Derivative bound of the activations between two linear steps (1 when there are none). */
function slopeAfter(steps: readonly ServerStep[], st: ServerLinearStep): number {
  let slope = 1;
  for (let i = st.index + 1; i < steps.length && steps[i]!.kind === 'activation'; i++) {
    const { a, b } = (steps[i] as Extract<ServerStep, { kind: 'activation' }>).poly;
    const bound = st.next?.inputBound ?? 1;
    slope *= 2 * Math.abs(a) * bound + Math.abs(b);
  }
  return slope;
}

interface StepNeeds {
  readonly st: ServerLinearStep;
  readonly k: number;
  readonly maxAbs: number;
  readonly productAbs: number;
  readonly tolerance: number;
  /** gain of an error on the activation output right after this step */
  readonly productGain: number;
  /** ‖M‖₂,row of this step's own map */
  readonly ownRowNorm2: number;
  /** weights per row (dense: inputs; conv: in-channels × kernel taps) */
  readonly rowLength: number;
  /** largest |mask| of this step's input (before the scale g) */
  readonly inputRange: number;
  /** |a| of the correlated product (0 when none) */
  readonly aRange: number;
}

/** Per-step scales and predictions under `params` (capacity of q0 known). */
function evaluate(
  needs: readonly StepNeeds[],
  gain: readonly number[],
  params: CkksParams,
): { steps: StepPrecision[]; total: number } {
  const e = predictedPrecision(params);
  // q0 holds |v|·Δ with sign, circuit-privacy doubling and one bit of margin (core/he/params.ts topBits).
  const capacity = 2 ** (params.coeffModulusBits[0]! - params.scaleBits - 3);
  const steps = needs.map((s): StepPrecision => {
    // The least scale that fits q0: any larger g only multiplies the share's error.
    const g = pow2Ceil(s.maxAbs / capacity);
    const f = s.productAbs > 0 ? pow2Ceil(s.productAbs / (g * capacity)) : 1;
    // Errors of M·(r/g) that scale with the map (see the header), in units of e, × g.
    // The upload scale Δ·2^b divides the first by 2^b and multiplies the second by 2^b: the
    // b that minimises their sum (0 when the rows are small and the masked values large).
    const level = s.productAbs > 0 ? 2 : 1;
    const uploadNoise = s.ownRowNorm2 / 8;
    // weights at q_L ≥ 2^(bits − 1) when b = 0
    const weightRounding =
      (1.73 *
        Math.sqrt(params.polyModulusDegree) *
        2 ** (params.scaleBits - (params.coeffModulusBits[level]! - 1)) *
        Math.sqrt(s.rowLength / 3) *
        (s.inputRange / g)) /
      2 ** noiseBits(params.polyModulusDegree);
    const mapAt = (bits: number) => uploadNoise * 2 ** -bits + weightRounding * 2 ** bits;
    let b = 0;
    for (let c = 1; c <= maxUploadScaleBits(params, level); c++) if (mapAt(c) < mapAt(b)) b = c;
    const mapError = e * g * mapAt(b);
    const productError = s.productAbs > 0 ? e * g * f * s.productGain + mapError * s.aRange * s.productGain : 0;
    return {
      index: s.st.index,
      name: s.st.name,
      maxAbs: s.maxAbs,
      gain: gain[s.k]!,
      tolerance: s.tolerance,
      shareScale: g,
      productScale: f,
      uploadScaleBits: b,
      predictedLogitError: (e * g + mapError) * gain[s.k]! + productError,
    };
  });
  return { steps, total: steps.reduce((a, s) => a + s.predictedLogitError, 0) };
}

/**
 * Plan the HE precision of the merged / unmerged protocol: for every N and scale Δ that
 * fit 128-bit security (q0 at the full 60 bits, so products need the least scaling), the
 * per-step scales and the predicted max |logit error|; the smallest N whose best Δ meets
 * `targetError` wins, else the set with the least predicted error (a larger N only when it
 * cuts the bound by more than 10 %; `meetsTarget` false, `advice` says what would fit:
 * fewer mask bits, calibration, a ring scheme). Each step also gets its upload scale b.
 * Throws RangeError for a bad target, HE_PARAMS when no parameter set exists at all.
 */
export function planPrecision(
  steps: readonly ServerStep[],
  masks: MaskParams,
  targetError = DEFAULT_TARGET_ERROR,
  opts: { calibrated?: boolean } = {},
): PrecisionPlan {
  if (!(targetError > 0) || !Number.isFinite(targetError))
    throw new RangeError(`targetError must be a positive number, got ${targetError}`);
  const linear = steps.filter((s): s is ServerLinearStep => s.kind === 'linear');
  if (linear.length === 0) throw new PpnnError('MODEL_UNSUPPORTED_LAYER', 'the network has no linear step');
  // Gains, last step first.
  const gain = new Array<number>(linear.length).fill(1);
  for (let k = linear.length - 2; k >= 0; k--)
    gain[k] = slopeAfter(steps, linear[k]!) * rowNorm2(linear[k + 1]!.layer) * gain[k + 1]!;
  const sources = linear.length + linear.filter((s) => s.next).length;
  const needs: StepNeeds[] = linear.map((st, k) => {
    const R = inputMaskRange(st, masks);
    const ranges = serverMaskRanges(st, masks);
    return {
      st,
      k,
      maxAbs: Math.max(1, R, st.rowNorm * R + ranges.sRange),
      productAbs: ranges.product ? st.rowNorm * R * ranges.product.aRange + ranges.product.tRange : 0,
      tolerance: targetError / (sources * Math.max(gain[k]!, 1e-300)),
      productGain: gain[k]! / slopeAfter(steps, st),
      ownRowNorm2: rowNorm2(st.layer),
      rowLength:
        st.layer.kind === 'dense' ? st.layer.inFeatures : st.layer.inChannels * st.layer.kernel[0] * st.layer.kernel[1],
      inputRange: R,
      aRange: ranges.product?.aRange ?? 0,
    };
  });
  const depth: 1 | 2 = needs.some((s) => s.productAbs > 0) ? 2 : 1;
  let best: { params: CkksParams; request: ParamsRequest; steps: StepPrecision[]; total: number } | undefined;
  let failure: unknown;
  for (const n of [4096, 8192, 16384, 32768]) {
    let bestHere: typeof best;
    for (let scaleBits = 20; scaleBits <= 56; scaleBits++) {
      const request: ParamsRequest = {
        depth,
        minSlots: n / 2,
        maxAbsValue: 2 ** (60 - 3 - scaleBits) * (1 - 1e-9),
        precision: 2 ** (Math.log2(n) / 2 + 8 - scaleBits) * (1 + 1e-9),
      };
      let params: CkksParams;
      try {
        params = chooseParams(request);
      } catch (e) {
        failure = e;
        continue;
      }
      if (params.polyModulusDegree !== n) continue;
      const r = evaluate(needs, gain, params);
      if (!bestHere || r.total < bestHere.total) bestHere = { params, request, ...r };
    }
    // A larger N doubles every ciphertext and op: it is taken when it meets the target, else only
    // for a clearly smaller bound (10 %: the bound's terms are worst cases, not that exact).
    if (
      bestHere &&
      (!best ||
        (bestHere.total <= targetError && bestHere.total < best.total) ||
        bestHere.total < best.total * LARGER_N_GAIN)
    )
      best = bestHere;
    if (best && best.total <= targetError) break;
  }
  if (!best)
    throw failure instanceof PpnnError
      ? failure
      : new PpnnError('HE_PARAMS', 'no CKKS parameters within 128-bit security');
  const meetsTarget = best.total <= targetError;
  return {
    targetError,
    request: best.request,
    params: best.params,
    steps: best.steps,
    predictedLogitError: best.total,
    meetsTarget,
    ...(meetsTarget ? {} : { advice: adviceFor(best.total, targetError, masks, opts.calibrated ?? true) }),
  };
}

/** What would bring the predicted error under the target (each mask bit less halves the masked ranges). */
function adviceFor(predicted: number, targetError: number, masks: MaskParams, calibrated: boolean): string {
  const over = Math.max(1, Math.ceil(Math.log2(predicted / targetError)));
  const fixes = [
    `fewer mask bits: --input-bits ${Math.max(0, masks.inputBits - over)} (now ${masks.inputBits}) or --share-bits ` +
      `${Math.max(0, masks.shareBits - over)} (now ${masks.shareBits}); ` +
      'each bit less halves the masked ranges and weakens hiding by one bit',
    ...(calibrated
      ? []
      : [
          'calibrated activation bounds: `ppnn calibrate --model M --dataset D` (the model has none, so every layer ' +
            'assumes |x| <= 64)',
        ]),
    'a ring scheme (merged-ring / delphi): exact shares in Z_p, no CKKS error',
  ];
  return (
    `predicted max |logit error| ${predicted.toExponential(2)} > target ${targetError}. What would fit: ` +
    `${fixes.join('; ')}`
  );
}
