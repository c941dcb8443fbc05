/**
 * Per-layer |input| bounds measured on calibration data. The protocol sizes every mask
 * from them (a mask hides a value only relative to the value's magnitude), so they are
 * public metadata of the architecture: they reveal the scale of activations, not weights.
 */
import { forward } from './forward.ts';
import type { Model } from './types.ts';

/** max |x| of the input of every layer over `inputs` (index i = input of layer i). */
export function calibrateBounds(model: Model, inputs: readonly Float64Array[]): number[] {
  const bounds = new Array<number>(model.layers.length).fill(0);
  const maxAbs = (v: Float64Array): number => {
    let m = 0;
    for (const x of v) m = Math.max(m, Math.abs(x));
    return m;
  };
  for (const x of inputs) {
    bounds[0] = Math.max(bounds[0]!, maxAbs(x));
    forward(model, x, (i, out) => {
      if (i + 1 < bounds.length) bounds[i + 1] = Math.max(bounds[i + 1]!, maxAbs(out));
    });
  }
  return bounds;
}
