/**
 * The ring schemes' fixed-point network in the clear: the same step list, scales and
 * quantized weights as a session, and every truncation through the protocol's own
 * arithmetic (core/ring/truncate.ts) on fresh uniform shares with the OLE values made in
 * the clear — what BFV returns exactly (test/ring/bfv.test.ts). No HE, so precision can
 * be studied on thousands of images in seconds (test/ring/precision.test.ts,
 * scripts/ring-precision.ts); a real session gives the same logits up to the random
 * rounding of the truncations.
 *
 * `rounding` replaces the protocol by an idealised rounding to attribute the error:
 * 'floor', 'nearest' or 'exact' (no truncation error at all, values kept as reals).
 */
import { PpnnError } from '../errors.ts';
import { P, addMod, subMod, toSigned } from '../ring/field.ts';
import type { Model } from '../model/types.ts';
import { quantizeLinear, type QuantizedLinear } from '../ring/quantize.ts';
import type { RingRandom } from '../ring/random.ts';
import {
  clientOpening,
  maskBits,
  serverOpening,
  serverTruncMaterial,
  truncClientShare,
  truncServerShare,
  type TruncSpec,
} from '../ring/truncate.ts';
import { DEFAULT_MASKS, planServerNonlinear, type NonlinearServerStep } from './plan.ts';
import {
  chooseRingScales,
  ringSteps,
  type RingScales,
  type RingServerLinearStep,
  type RingServerStep,
  type RingTruncStep,
} from './ring-plan.ts';

export type SimRounding = 'protocol' | 'floor' | 'nearest' | 'exact';

/** Truncate signed integers y (|y| < 2^(l−1)) through the protocol on fresh shares; returns the signed results. */
export function truncateShared(t: TruncSpec, y: Float64Array, R: RingRandom): Float64Array {
  const n = y.length;
  const ys = R.uniform(n),
    yc = y.map((v, i) => subMod(v < 0 ? v + P : v, ys[i]!));
  const A = R.uniform(n),
    { q, x } = serverTruncMaterial(t, A);
  const b = R.bits(n),
    nu = R.uniform(n);
  const h = b.map((bi, i) => subMod(bi ? x[i]! : 0, nu[i]!));
  const d = serverOpening(t, ys, A);
  const { P: Pc, gamma } = clientOpening(t, yc, d);
  const e = maskBits(gamma, b);
  const c = truncClientShare(Pc, e, h),
    s = truncServerShare(q, x, e, nu);
  return c.map((v, i) => toSigned(addMod(v, s[i]!)));
}

/** y = M·x + b over signed values (exact while the partial sums stay below 2^53, as the ranges guarantee). */
function applySigned(q: QuantizedLinear, x: Float64Array): Float64Array {
  const { rows, rowStart, col, weight } = q.matrix,
    y = new Float64Array(rows);
  for (let o = 0; o < rows; o++) {
    let acc = toSigned(q.bias[o]!);
    for (let k = rowStart[o]!, end = rowStart[o + 1]!; k < end; k++) acc += weight[k]! * x[col[k]!]!;
    y[o] = acc;
  }
  return y;
}

export interface SimTrace {
  /** values beyond the range their truncation was sized for (|y| ≥ 2^(l−1)) */
  outOfRange: number;
  /** called on every truncation with its input (signed integers) and result */
  onTrunc?: (step: RingTruncStep, y: Float64Array, result: Float64Array) => void;
}

/**
 * Logits of the fixed-point network on one real input. `quantized` holds every linear step's fixed-point form (by
 * step index, as the server builds it). Throws MODEL_UNSUPPORTED_LAYER on garbled-circuit steps.
 */
export function simulateRing(
  steps: readonly RingServerStep[],
  quantized: ReadonlyMap<number, QuantizedLinear>,
  input: ArrayLike<number>,
  R: RingRandom,
  rounding: SimRounding = 'protocol',
  trace?: SimTrace,
): Float64Array {
  const first = steps[0];
  if (!first || first.kind !== 'linear') throw new PpnnError('INTERNAL', 'ring simulation: no first linear step');
  const s0 = 2 ** first.inScale;
  let v: Float64Array = Float64Array.from(input, (a) => (rounding === 'exact' ? a * s0 : Math.round(a * s0)));
  for (const st of steps) {
    if (st.kind === 'gc')
      throw new PpnnError('MODEL_UNSUPPORTED_LAYER', `ring simulation: '${st.name}' runs by garbled circuits`);
    if (st.kind === 'linear') {
      const q = quantized.get(st.index);
      if (!q) throw new PpnnError('INTERNAL', `ring simulation: no weights for '${st.name}'`);
      v = applySigned(q, v);
      if (st.last) return v.map((a) => a / 2 ** (st.inScale + st.weightScale));
      continue;
    }
    const lim = 2 ** (st.trunc.l - 1),
      div = 2 ** st.trunc.d;
    if (trace) for (const a of v) if (Math.abs(a) >= lim) trace.outOfRange++;
    const y = v;
    if (rounding === 'protocol') v = truncateShared(st.trunc, v, R);
    else if (rounding === 'exact') v = v.map((a) => a / div);
    else v = v.map(rounding === 'floor' ? (a) => Math.floor(a / div) : (a) => Math.round(a / div));
    trace?.onTrunc?.(st, y, v);
    if (st.kind === 'square') v = v.map((a) => a * a);
  }
  throw new PpnnError('INTERNAL', 'ring simulation: the network does not end with a linear step');
}

/** A network's ring session in the clear: its steps at the chosen scales and its linear steps' fixed-point weights. */
export interface RingSimPlan {
  readonly scales: RingScales;
  readonly steps: RingServerStep[];
  /** by step index, as the server builds it */
  readonly quantized: Map<number, QuantizedLinear>;
}

/** The session's plan for `net` (merged or not, as given) at `scalesOf`'s scales (default the scheme's choice). */
export function ringSimPlan(
  net: Model,
  scalesOf: (plan: readonly NonlinearServerStep[]) => RingScales = chooseRingScales,
): RingSimPlan {
  const plan = planServerNonlinear(net, DEFAULT_MASKS);
  const scales = scalesOf(plan);
  const steps = ringSteps(plan, scales) as RingServerStep[];
  return { scales, steps, quantized: quantizeSteps(steps) };
}

/** Every linear step's fixed-point form; `real`: scaled but not rounded (isolates the weight quantization). */
export function quantizeSteps(steps: readonly RingServerStep[], real = false): Map<number, QuantizedLinear> {
  const quantized = new Map<number, QuantizedLinear>();
  for (const s of steps)
    if (s.kind === 'linear') {
      const ls = s as RingServerLinearStep;
      quantized.set(s.index, quantizeLinear(ls.layer, ls.base.inShape, ls.inScale, ls.weightScale, real));
    }
  return quantized;
}
