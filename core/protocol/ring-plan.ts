/**
 * The ring schemes' step list and fixed-point scales (public), from the float plan.
 *
 * Scales: the input is encoded at 2^f; a linear map with weights at 2^w turns scale 2^e
 * into 2^(e+w); a truncation drops d = e + w − f bits, back to 2^f; a square doubles it
 * to 2^(2f). With `g` set, a truncation step of its own brings every square's output down
 * to 2^g before the next linear map; without, that map takes 2^(2f) as its input scale.
 * Between two linear maps with no activation (the unmerged network of `delphi`) a
 * truncation step brings the scale back to 2^f ("truncate after every multiplication").
 *
 * Why g: the square's output z = y'² at 2^(2f) carries about f bits below its own error
 * (|δz| ≈ 2|y|·2^−f), yet they count against the next map's range: 2f + w + (output
 * bits) ≤ 49 left w = 18 for the maps after a square (f = 13), and those weights'
 * rounding alone put 4·10^−3 into the logits (scripts/ring-precision.ts). Dropping them
 * costs one more opening round per square and gives the weights their full 2^21.
 *
 * Range: a truncated value y must satisfy |y| < 2^(l−1) at scale 2^(e+w) with 2^l ≤
 * (p − 1)/2 (core/ring/truncate.ts). The server picks each w as large as both limits
 * allow: that range, from the model's public activation bounds with a factor-2 margin
 * (`maxWithoutWrapPerStep` prints it), and |round(W·2^w)| < 2^SMALL_WEIGHT_BITS for the
 * online limb arithmetic. The chosen exponents travel in the `arch` message (public, like
 * the bounds); the client recomputes every derived constant and checks every limit itself.
 */
import { PpnnError } from '../errors.ts';
import type { Conv2dLayer, DenseLayer } from '../model/types.ts';
import { P, P_HALF, SMALL_WEIGHT_BITS } from '../ring/field.ts';
import { checkTrunc, type TruncSpec } from '../ring/truncate.ts';
import type { GcLayer } from '../gc/activation.ts';
import { maxPoolLayer, reluLayer } from '../gc/harness.ts';
import type { ClientLinearStep, NonlinearClientStep, NonlinearServerStep, ServerLinearStep } from './plan.ts';

/** Largest l with 2^l ≤ (p − 1)/2. */
export const MAX_VALUE_BITS = Math.floor(Math.log2(P_HALF));

export interface RingLinearStep {
  readonly kind: 'linear';
  readonly index: number;
  readonly name: string;
  readonly base: ClientLinearStep;
  readonly inScale: number;
  readonly weightScale: number;
  /** first linear step: the client encodes its input at inScale */
  readonly first: boolean;
  /** last step: its output shares are the logits at scale 2^(inScale + weightScale) */
  readonly last: boolean;
}

export interface RingServerLinearStep extends RingLinearStep {
  readonly layer: Conv2dLayer | DenseLayer;
}

/** Truncation (by d bits, values < 2^(l−1)) of the previous linear output, squared when `square`. */
export interface RingTruncStep {
  readonly kind: 'square' | 'trunc';
  readonly index: number;
  readonly name: string;
  readonly size: number;
  readonly trunc: TruncSpec;
}

/** ReLU / max-pool (with the truncation by d = e + w − f bits) by garbled circuits, core/gc. */
export interface RingGcStep {
  readonly kind: 'gc';
  readonly index: number;
  readonly name: string;
  readonly inSize: number;
  readonly size: number;
  readonly layer: GcLayer;
}

export type RingStep = RingLinearStep | RingTruncStep | RingGcStep;
export type RingServerStep = RingServerLinearStep | RingTruncStep | RingGcStep;

/** Public fixed-point parameters of a session (server proposes, client checks). */
export interface RingScales {
  /** activation scale 2^f */
  readonly f: number;
  /** weight exponent per linear step, in network order */
  readonly weightScales: readonly number[];
  /** scale every square's output is truncated to before the next linear map (absent: no truncation, 2^(2f)) */
  readonly g?: number;
}

/** Input scale of the linear map after a square at activation scale 2^f. */
const afterSquare = (s: { f: number; g?: number }): number => s.g ?? 2 * s.f;

const log2Ceil = (x: number): number => Math.max(0, Math.ceil(Math.log2(x)));

/** Bits a value bounded by |v| ≤ bound needs at scale 2^scale, with the factor-2 margin and sign. */
function valueBits(bound: number, scale: number): number {
  return scale + log2Ceil(2 * bound) + 1;
}

/**
 * Output bound of linear step i: the next activation's or linear map's input bound, or ‖M‖∞·B_in + |b| for the logits.
 */
function outputBound(steps: readonly NonlinearClientStep[], i: number, rowNorm?: number, maxBias?: number): number {
  const st = steps[i] as ClientLinearStep;
  if (st.next) return st.next.inputBound;
  const nxt = steps[i + 1];
  if (nxt && (nxt.kind === 'linear' || nxt.kind === 'nonlinear')) return nxt.inputBound;
  return rowNorm !== undefined ? rowNorm * st.inputBound + (maxBias ?? 0) : st.inputBound * 64;
}

/** Refuse what the ring schemes cannot run yet (ReLU and max-pool come with garbled circuits). */
function ringSupport(steps: readonly NonlinearClientStep[]): void {
  for (const s of steps) {
    if (s.kind !== 'activation') continue;
    const p = s.poly;
    if (!(p.a === 1 && p.b === 0 && p.c === 0))
      throw new PpnnError(
        'MODEL_UNSUPPORTED_LAYER',
        `activation '${s.name}': the ring schemes run x² activations (a general polynomial is not implemented)`,
      );
  }
}

/** Server: choose the weight exponents for its network (largest that keep every value in range). */
export function chooseScales(steps: readonly NonlinearServerStep[], f: number, g?: number): RingScales {
  ringSupport(steps);
  const sc = g === undefined ? { f } : { f, g };
  const weightScales: number[] = [];
  let inScale = f;
  steps.forEach((st, i) => {
    if (st.kind !== 'linear') return;
    const maxW = st.layer.weight.reduce((a, w) => Math.max(a, Math.abs(w)), 0) || 1;
    const maxB = st.layer.bias.reduce((a, b) => Math.max(a, Math.abs(b)), 0);
    // largest w with |round(W·2^w)| < 2^21: small weights (a batch-norm scale folded in) get more bits, not fewer
    const bySize = Math.floor(Math.log2((2 ** SMALL_WEIGHT_BITS - 1) / maxW));
    // the logits are never truncated: their worst-case bound ‖M‖∞·B_in + |b| (no margin) within (p − 1)/2
    const last = steps.slice(i + 1).every((s) => s.kind !== 'linear');
    const byRange = last
      ? Math.floor(Math.log2(P_HALF)) - inScale - log2Ceil(outputBound(steps, i, st.rowNorm, maxB))
      : MAX_VALUE_BITS - valueBits(outputBound(steps, i, st.rowNorm, maxB), inScale);
    const w = Math.min(bySize, byRange);
    if (inScale + w < f)
      throw new PpnnError(
        'HE_PARAMS',
        `layer '${st.spec.name}': no weight scale keeps its outputs within p at input scale 2^${inScale} (the ` +
          `ring's 51 bits are too few for f = ${f})`,
      );
    weightScales.push(w);
    inScale = st.next ? afterSquare(sc) : f;
  });
  return { ...sc, weightScales };
}

/** Finest activation scale tried: with |y| < 16 a square's output needs 2f + 10 ≤ 49 bits. */
export const MAX_RING_F = 19;
const MIN_RING_F = 8;

/**
 * Server: the finest activation scale f ≤ `maxF` at which every value of the network fits the ring, with the squares'
 * outputs truncated back to g = f, and the weight exponents for it (measured precision: docs/PROTOCOL.md). Throws the
 * last scale's error when none fits.
 */
export function chooseRingScales(steps: readonly NonlinearServerStep[], maxF = MAX_RING_F): RingScales {
  for (let f = maxF; ; f--) {
    try {
      const scales = chooseScales(steps, f, f);
      ringSteps(steps, scales);
      return scales;
    } catch (e) {
      const retry = e instanceof PpnnError && (e.code === 'HE_PARAMS' || e.code === 'PROTOCOL_VIOLATION');
      if (!retry || f <= MIN_RING_F) throw e;
    }
  }
}

/**
 * The ring step list for `steps` (client or server plan) under `scales`. Throws
 * PROTOCOL_VIOLATION when the scales do not fit the network (wrong count, values that
 * could wrap around p), MODEL_UNSUPPORTED_LAYER for activations the ring cannot run.
 */
export function ringSteps(steps: readonly NonlinearClientStep[], scales: RingScales): RingStep[] {
  ringSupport(steps);
  const f = scales.f;
  if (!Number.isInteger(f) || f < 1 || f > 30)
    throw new PpnnError('PROTOCOL_VIOLATION', `ring scales: f = ${f} out of range`);
  const g = scales.g;
  if (g !== undefined && (!Number.isInteger(g) || g < 1 || g > 2 * f))
    throw new PpnnError('PROTOCOL_VIOLATION', `ring scales: g = ${g} out of range (1 … 2f)`);
  const linear = steps.filter((s) => s.kind === 'linear');
  if (!Array.isArray(scales.weightScales) || scales.weightScales.length !== linear.length)
    throw new PpnnError(
      'PROTOCOL_VIOLATION',
      `ring scales: ${scales.weightScales?.length} weight scales for ${linear.length} linear maps`,
    );
  const out: RingStep[] = [];
  let inScale = f,
    k = 0;
  steps.forEach((st, i) => {
    if (st.kind === 'activation' || st.kind === 'nonlinear') return; // folded into the step made below
    const w = scales.weightScales[k++]!;
    if (!Number.isInteger(w) || w < -20 || w > 40)
      throw new PpnnError('PROTOCOL_VIOLATION', `ring scales: weight exponent ${w} out of range`);
    const isLast = steps.slice(i + 1).every((s) => s.kind !== 'linear');
    if (isLast && steps[i + 1]?.kind === 'nonlinear')
      throw new PpnnError(
        'MODEL_UNSUPPORTED_LAYER',
        `the ring schemes need the network to end with a linear layer ('${steps[i + 1]!.name}' follows the last one)`,
      );
    if (isLast && st.next)
      throw new PpnnError(
        'MODEL_UNSUPPORTED_LAYER',
        `the ring schemes need the network to end with a linear layer ('${st.next.name}' follows the last one)`,
      );
    const lin: RingLinearStep = {
      kind: 'linear',
      index: out.length,
      name: st.spec.name,
      base: st,
      inScale,
      weightScale: w,
      first: out.length === 0,
      last: isLast,
    };
    out.push('layer' in st ? ({ ...lin, layer: (st as ServerLinearStep).layer } as RingServerLinearStep) : lin);
    const oScale = inScale + w;
    const bound = outputBound(steps, i);
    // the logits' range is the server's choice (it alone knows ‖M‖∞): a wrap there only spoils its own answer
    if (lin.last) return;
    const nl = steps[i + 1];
    if (nl?.kind === 'nonlinear') {
      if (steps[i + 2] && steps[i + 2]!.kind !== 'linear')
        throw new PpnnError('MODEL_UNSUPPORTED_LAYER', `'${nl.name}' must be followed by a linear layer`);
      if (valueBits(bound, oScale) > MAX_VALUE_BITS || oScale < f)
        throw new PpnnError(
          'PROTOCOL_VIOLATION',
          `ring scales: output of '${st.spec.name}' (|y| ≤ ${bound} at 2^${oScale}) does not fit the ring`,
        );
      // the circuit truncates exactly by d = oScale − f bits after the max / ReLU
      const d = oScale - f;
      const layer = nl.pool
        ? maxPoolLayer(P, d, nl.relu, nl.inShape as [number, number, number], nl.pool.k, nl.pool.stride)
        : reluLayer(P, d, nl.inSize);
      out.push({ kind: 'gc', index: out.length, name: nl.name, inSize: nl.inSize, size: nl.size, layer });
      inScale = f;
      return;
    }
    const trunc: TruncSpec = { l: Math.max(valueBits(bound, oScale), oScale - f + 1), d: oScale - f };
    try {
      checkTrunc(trunc);
    } catch {
      throw new PpnnError(
        'PROTOCOL_VIOLATION',
        `ring scales: output of '${st.spec.name}' (|y| ≤ ${bound} at 2^${oScale}) does not fit the ring`,
      );
    }
    const square = st.next !== undefined;
    out.push({
      kind: square ? 'square' : 'trunc',
      index: out.length,
      name: square ? st.next!.name : `${st.spec.name}:trunc`,
      size: st.outSize,
      trunc,
    });
    inScale = square ? 2 * f : f;
    if (square && g !== undefined && g < 2 * f) {
      // z = y'² with |y'| ≤ 2^k + 2 (k = l−1−d; the rounding adds at most 2) at 2^f: |z| < 2^(2k+1), in range by
      // construction
      const zTrunc: TruncSpec = { l: 2 * (trunc.l - 1 - trunc.d) + 2, d: 2 * f - g };
      try {
        checkTrunc(zTrunc);
      } catch {
        throw new PpnnError('PROTOCOL_VIOLATION', `ring scales: output of '${st.next!.name}' does not fit the ring`);
      }
      out.push({ kind: 'trunc', index: out.length, name: `${st.next!.name}:trunc`, size: st.outSize, trunc: zTrunc });
      inScale = g;
    }
  });
  return out;
}

export interface WrapRow {
  /** the linear map whose output is bounded */
  step: string;
  /** scale exponent of its output */
  scale: number;
  /** largest |output| (real units) the protocol carries without wrap-around */
  maxAbs: number;
  /** the public bound it is sized for (the model's activation bound, ×2 margin in the sizing) */
  bound: number;
}

/** Per linear step: the largest |output| it may hold without wrap-around, against its public bound. */
export function maxWithoutWrapPerStep(steps: readonly RingStep[], plan: readonly NonlinearClientStep[]): WrapRow[] {
  const rows: WrapRow[] = [];
  steps.forEach((s, k) => {
    if (s.kind !== 'linear') return;
    const scale = s.inScale + s.weightScale;
    const nxt = steps[k + 1];
    const maxAbs =
      nxt && (nxt.kind === 'square' || nxt.kind === 'trunc')
        ? 2 ** (nxt.trunc.l - 1) / 2 ** scale
        : P_HALF / 2 ** scale;
    rows.push({ step: s.name, scale, maxAbs, bound: outputBound(plan, plan.indexOf(s.base)) });
  });
  return rows;
}
