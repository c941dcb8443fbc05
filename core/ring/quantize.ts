/**
 * Fixed-point form of a linear layer for the ring: integer weights round(W·2^w) in the
 * layer's own order (what the BFV layouts place in slots), the same weights as a sparse
 * matrix over the flattened CHW input (what the server applies online, mod p), and the
 * bias at the output scale 2^(e+w), one ring element per output value.
 */
import { PpnnError } from '../errors.ts';
import { windowGeometry } from '../model/shapes.ts';
import type { Conv2dLayer, DenseLayer, Shape } from '../model/types.ts';
import { SMALL_WEIGHT_BITS, type SmallMatrix } from './field.ts';
import { encodeFixed } from './fixed.ts';

export interface QuantizedLinear {
  readonly intWeight: Float64Array;
  readonly matrix: SmallMatrix;
  readonly bias: Float64Array;
}

/**
 * Quantize `layer` (input shape `inShape`) at weight scale 2^w, bias at 2^(inScale + w). Throws HE_PARAMS if a weight
 * is too large. `exact`: no rounding (a real-valued matrix for the precision study, never for a session).
 */
export function quantizeLinear(
  layer: Conv2dLayer | DenseLayer,
  inShape: Shape,
  inScale: number,
  w: number,
  exact = false,
): QuantizedLinear {
  const s = 2 ** w,
    lim = 2 ** SMALL_WEIGHT_BITS;
  // `exact` keeps the real weights (scaled, not rounded): only for the precision study (core/protocol/ring-sim.ts)
  const intWeight = layer.weight.map((x) => (exact ? x * s : Math.round(x * s)));
  for (const x of intWeight)
    if (!(Math.abs(x) < lim))
      throw new PpnnError(
        'HE_PARAMS',
        `layer '${layer.name}': weight ${x} at scale 2^${w} exceeds 2^${SMALL_WEIGHT_BITS}`,
      );
  const rowStart: number[] = [0],
    col: number[] = [],
    weight: number[] = [];
  let perOut = 1;
  if (layer.kind === 'dense') {
    for (let o = 0; o < layer.outFeatures; o++) {
      for (let i = 0; i < layer.inFeatures; i++) {
        const v = intWeight[o * layer.inFeatures + i]!;
        if (v !== 0) {
          col.push(i);
          weight.push(v);
        }
      }
      rowStart.push(col.length);
    }
  } else {
    const [C, H, W] = inShape as [number, number, number];
    const { kh, kw, sh, sw, ph, pw, OH, OW } = windowGeometry(layer, H, W);
    perOut = OH * OW;
    for (let o = 0; o < layer.outChannels; o++)
      for (let oy = 0; oy < OH; oy++)
        for (let ox = 0; ox < OW; ox++) {
          for (let c = 0; c < C; c++)
            for (let ky = 0; ky < kh; ky++) {
              const iy = oy * sh + ky - ph;
              if (iy < 0 || iy >= H) continue;
              for (let kx = 0; kx < kw; kx++) {
                const ix = ox * sw + kx - pw;
                if (ix < 0 || ix >= W) continue;
                const v = intWeight[((o * C + c) * kh + ky) * kw + kx]!;
                if (v !== 0) {
                  col.push((c * H + iy) * W + ix);
                  weight.push(v);
                }
              }
            }
          rowStart.push(col.length);
        }
  }
  const rows = rowStart.length - 1;
  const bias = encodeFixed(
    Array.from({ length: rows }, (_, k) => layer.bias[Math.floor(k / perOut)]!),
    inScale + w,
  );
  const cols = layer.kind === 'dense' ? layer.inFeatures : inShape.reduce((a, b) => a * b, 1);
  return {
    intWeight,
    matrix: {
      rows,
      cols,
      rowStart: Int32Array.from(rowStart),
      col: Int32Array.from(col),
      weight: Float64Array.from(weight),
    },
    bias,
  };
}
