/**
 * Plaintext float64 forward pass: the reference every secure scheme is compared with.
 * One image at a time in CHW order; kernels are plain loops (fast enough for 10k MNIST
 * images in seconds, and obviously correct).
 */
import { PpnnError } from '../errors.ts';
import { layerOutputShape, windowGeometry } from './shapes.ts';
import type { Conv2dLayer, DenseLayer, Layer, LayerSpec, Model, PoolLayer, Shape } from './types.ts';
import { shapeSize } from './types.ts';

/**
 * im2col index table of a conv on an input shape: entry p·T + t (output position p, tap
 * t = (c·kh + ky)·kw + kx) is the input index the tap reads, or −1 in the padding. Built
 * once per (layer, shape): the online stage runs the same conv for every image.
 */
const im2colTables = new WeakMap<object, Map<string, Int32Array>>();

function im2colTable(
  l: Pick<Conv2dLayer, 'inChannels' | 'kernel' | 'stride' | 'padding'>,
  H: number,
  W: number,
  OH: number,
  OW: number,
): Int32Array {
  let per = im2colTables.get(l);
  if (!per) im2colTables.set(l, (per = new Map()));
  const key = `${H}x${W}`;
  let table = per.get(key);
  if (table) return table;
  const [kh, kw] = l.kernel,
    [sh, sw] = l.stride,
    [ph, pw] = l.padding,
    T = l.inChannels * kh * kw;
  table = new Int32Array(OH * OW * T);
  for (let oy = 0; oy < OH; oy++)
    for (let ox = 0; ox < OW; ox++) {
      const base = (oy * OW + ox) * T;
      for (let c = 0; c < l.inChannels; c++)
        for (let a = 0; a < kh; a++)
          for (let b = 0; b < kw; b++) {
            const iy = oy * sh + a - ph,
              ix = ox * sw + b - pw;
            table[base + (c * kh + a) * kw + b] = iy < 0 || iy >= H || ix < 0 || ix >= W ? -1 : (c * H + iy) * W + ix;
          }
    }
  per.set(key, table);
  return table;
}

/**
 * 2-D convolution, CHW. Gathers the input into im2col columns once (cached index table)
 * and runs a dense multiply over contiguous rows; taps are summed in the same order as
 * the direct loop (bias first, then c, ky, kx; a padding tap adds w·0 = 0), so results
 * are bit-identical to it.
 */
export function conv2d(
  l: Pick<Conv2dLayer, 'inChannels' | 'outChannels' | 'kernel' | 'stride' | 'padding' | 'weight' | 'bias'>,
  x: Float64Array,
  shape: Shape,
): Float64Array {
  const [, H, W] = shape as [number, number, number];
  const { kh, kw, sh, sw, ph, pw, OH, OW } = windowGeometry(l, H, W);
  const P = OH * OW,
    T = l.inChannels * kh * kw,
    O = l.outChannels;
  const table = im2colTable(l, H, W, OH, OW);
  const cols = new Float64Array(P * T);
  for (let i = 0; i < cols.length; i++) {
    const k = table[i]!;
    cols[i] = k < 0 ? 0 : x[k]!;
  }
  const out = new Float64Array(O * P),
    w = l.weight;
  let o = 0;
  // four output channels per pass share every column read (each sum keeps its own order)
  for (; o + 4 <= O; o += 4) {
    const w0 = o * T,
      w1 = w0 + T,
      w2 = w1 + T,
      w3 = w2 + T;
    const b0 = l.bias[o]!,
      b1 = l.bias[o + 1]!,
      b2 = l.bias[o + 2]!,
      b3 = l.bias[o + 3]!;
    for (let p = 0; p < P; p++) {
      let a0 = b0,
        a1 = b1,
        a2 = b2,
        a3 = b3;
      const cr = p * T;
      for (let t = 0; t < T; t++) {
        const v = cols[cr + t]!;
        a0 += w[w0 + t]! * v;
        a1 += w[w1 + t]! * v;
        a2 += w[w2 + t]! * v;
        a3 += w[w3 + t]! * v;
      }
      out[o * P + p] = a0;
      out[(o + 1) * P + p] = a1;
      out[(o + 2) * P + p] = a2;
      out[(o + 3) * P + p] = a3;
    }
  }
  for (; o < O; o++) {
    const wr = o * T,
      bias = l.bias[o]!;
    for (let p = 0; p < P; p++) {
      let acc = bias;
      const cr = p * T;
      for (let t = 0; t < T; t++) acc += w[wr + t]! * cols[cr + t]!;
      out[o * P + p] = acc;
    }
  }
  return out;
}

export function dense(
  l: Pick<DenseLayer, 'inFeatures' | 'outFeatures' | 'weight' | 'bias'>,
  x: Float64Array,
): Float64Array {
  const out = new Float64Array(l.outFeatures);
  for (let o = 0; o < l.outFeatures; o++) {
    let acc = l.bias[o]!;
    const row = o * l.inFeatures;
    for (let i = 0; i < l.inFeatures; i++) acc += l.weight[row + i]! * x[i]!;
    out[o] = acc;
  }
  return out;
}

function pool(l: PoolLayer, x: Float64Array, shape: Shape): Float64Array {
  const [C, H, W] = shape as [number, number, number];
  const { kh, kw, sh, sw, ph, pw, OH, OW } = windowGeometry(l, H, W);
  const out = new Float64Array(C * OH * OW);
  const isMax = l.kind === 'maxpool';
  for (let c = 0; c < C; c++) {
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        let acc = isMax ? -Infinity : 0;
        for (let a = 0; a < kh; a++) {
          const iy = oy * sh + a - ph;
          for (let b = 0; b < kw; b++) {
            const ix = ox * sw + b - pw;
            const inside = iy >= 0 && iy < H && ix >= 0 && ix < W;
            const v = inside ? x[(c * H + iy) * W + ix]! : 0;
            if (isMax) {
              if (inside && v > acc) acc = v;
            } else acc += v;
          }
        }
        out[(c * OH + oy) * OW + ox] = isMax ? acc : acc / (kh * kw);
      }
    }
  }
  return out;
}

/** A conv2d or dense map on a flat CHW vector (`inShape` is the conv's input shape). */
export function linearForward(layer: Conv2dLayer | DenseLayer, x: Float64Array, inShape: Shape): Float64Array {
  return layer.kind === 'conv2d' ? conv2d(layer, x, inShape) : dense(layer, x);
}

/** Apply one layer to `x` of shape `shape`; returns a new array (input untouched). */
export function applyLayer(layer: Layer, x: Float64Array, shape: Shape): Float64Array {
  switch (layer.kind) {
    case 'conv2d':
      return conv2d(layer, x, shape);
    case 'dense':
      return dense(layer, x);
    case 'avgpool':
    case 'maxpool':
      return pool(layer, x, shape);
    case 'flatten':
      return Float64Array.from(x);
    case 'batchnorm': {
      const per = x.length / layer.channels;
      const out = new Float64Array(x.length);
      for (let c = 0; c < layer.channels; c++) {
        const g = layer.gamma[c]! / Math.sqrt(layer.variance[c]! + layer.epsilon);
        const b = layer.beta[c]! - g * layer.mean[c]!;
        for (let i = c * per; i < (c + 1) * per; i++) out[i] = g * x[i]! + b;
      }
      return out;
    }
    case 'relu':
      return x.map((v) => (v > 0 ? v : 0));
    case 'square':
      return x.map((v) => v * v);
    case 'poly':
      return x.map((v) => layer.a * v * v + layer.b * v + layer.c);
  }
}

/** Apply a shape-only activation spec (client side: activations carry no secret weights). */
export function applyActivation(spec: LayerSpec, x: Float64Array): Float64Array {
  if (spec.kind === 'square' || spec.kind === 'poly' || spec.kind === 'relu') return applyLayer(spec, x, [x.length]);
  throw new PpnnError('INTERNAL', `applyActivation: '${spec.name}' is a ${spec.kind} layer, not an activation`);
}

/**
 * Forward pass of `model` on one input (CHW, float64). Returns the logits.
 * Throws SHAPE_MISMATCH when the input size does not match model.inputShape.
 */
export function forward(
  model: Model,
  input: Float64Array,
  onLayer?: (index: number, output: Float64Array) => void,
): Float64Array {
  const expected = shapeSize(model.inputShape);
  if (input.length !== expected) {
    throw new PpnnError(
      'SHAPE_MISMATCH',
      `input has ${input.length} values but model '${model.name}' ` +
        `expects [${model.inputShape.join(',')}] = ${expected}`,
    );
  }
  let x = input;
  let shape: Shape = model.inputShape;
  model.layers.forEach((layer, i) => {
    x = applyLayer(layer, x, shape);
    shape = layerOutputShape(layer, shape);
    onLayer?.(i, x);
  });
  return x;
}

/** Index of the largest value (ties: first). */
export function argmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i]! > v[best]!) best = i;
  return best;
}
