/**
 * Per-layer |input| bounds measured on calibration data. The protocol sizes every mask
 * from them (a mask hides a value only relative to the value's magnitude), so they are
 * public metadata of the architecture: they reveal the scale of activations, not weights.
 *
 * Margin policy (docs/ONNX.md, "Calibration"): the stored bound of layer i is
 * (1 + margin) · max over the calibration images of max |input of layer i|, default
 * margin 0.25. Values above a bound still compute correctly (the masks are 2^k times
 * wider than the bound, and the CKKS range is sized from the masks); only the hiding of
 * that value drops below k bits, so the margin covers test images a little outside the
 * calibration set's range.
 */
import { forward } from './forward.ts';
import type { Model } from './types.ts';

/** Default relative margin added to measured bounds. */
export const DEFAULT_BOUND_MARGIN = 0.25;

function maxAbs(v: Float64Array): number {
  let m = 0;
  for (let i = 0; i < v.length; i++) {
    const a = Math.abs(v[i]!);
    if (a > m) m = a;
  }
  return m;
}

/**
 * max |x| of the input of every layer over `inputs` (index i = input of layer i).
 * `onProgress(done, total)` is called every 100 inputs and at the end.
 */
export function calibrateBounds(
  model: Model,
  inputs: Iterable<Float64Array>,
  onProgress?: (done: number) => void,
): number[] {
  const bounds = new Array<number>(model.layers.length).fill(0);
  let done = 0;
  for (const x of inputs) {
    bounds[0] = Math.max(bounds[0]!, maxAbs(x));
    forward(model, x, (i, out) => {
      if (i + 1 < bounds.length) bounds[i + 1] = Math.max(bounds[i + 1]!, maxAbs(out));
    });
    if (onProgress && ++done % 100 === 0) onProgress(done);
  }
  return bounds;
}

/** How a model's bounds were made: stored next to them in `meta.calibration`. */
export interface CalibrationRecord {
  readonly dataset: string;
  readonly split: string;
  readonly images: number;
  readonly margin: number;
  readonly policy: string;
  /** bounds before the margin, for the record */
  readonly measured: readonly number[];
}

/**
 * `model` with `meta.inputBounds` = (1 + margin) · measured and `meta.calibration` saying
 * how. Throws RangeError for a negative or non-finite margin or a bounds list of the wrong length.
 */
export function withBounds(
  model: Model,
  measured: readonly number[],
  record: Omit<CalibrationRecord, 'measured' | 'policy'>,
): Model {
  if (!(record.margin >= 0) || !Number.isFinite(record.margin))
    throw new RangeError(`margin must be a finite number >= 0, got ${record.margin}`);
  if (measured.length !== model.layers.length)
    throw new RangeError(`expected ${model.layers.length} bounds, got ${measured.length}`);
  const policy =
    `bound = (1 + ${record.margin}) · max |input of layer| over ${record.images} ` +
    `${record.dataset}/${record.split} images`;
  // A layer whose input was always 0 still needs a positive bound (0 would mean "unmeasured").
  const inputBounds = measured.map((b) => Math.max(b * (1 + record.margin), 1e-6));
  return {
    ...model,
    meta: { ...model.meta, inputBounds, calibration: { ...record, policy, measured: [...measured] } },
  };
}

/** True when `model` carries a usable measured bound for every layer. */
export function hasBounds(model: Model): boolean {
  const b = model.meta.inputBounds;
  return (
    Array.isArray(b) &&
    b.length === model.layers.length &&
    b.every((v) => typeof v === 'number' && Number.isFinite(v) && v > 0)
  );
}
