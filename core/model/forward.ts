/**
 * Plaintext float64 forward pass: the reference every secure scheme is compared with.
 * One image at a time in CHW order; kernels are plain loops (fast enough for 10k MNIST
 * images in seconds, and obviously correct).
 */
import { PpnnError } from '../errors.ts';
import { layerOutputShape } from './shapes.ts';
import type { Conv2dLayer, DenseLayer, Layer, LayerSpec, Model, PoolLayer, Shape } from './types.ts';
import { shapeSize } from './types.ts';

export function conv2d(l: Pick<Conv2dLayer, 'inChannels' | 'outChannels' | 'kernel' | 'stride' | 'padding' | 'weight' | 'bias'>, x: Float64Array, shape: Shape): Float64Array {
  const [, H, W] = shape as [number, number, number];
  const [kh, kw] = l.kernel, [sh, sw] = l.stride, [ph, pw] = l.padding;
  const OH = Math.floor((H + 2 * ph - kh) / sh) + 1, OW = Math.floor((W + 2 * pw - kw) / sw) + 1;
  const out = new Float64Array(l.outChannels * OH * OW);
  for (let o = 0; o < l.outChannels; o++) {
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        let acc = l.bias[o]!;
        for (let c = 0; c < l.inChannels; c++) {
          for (let a = 0; a < kh; a++) {
            const iy = oy * sh + a - ph;
            if (iy < 0 || iy >= H) continue;
            for (let b = 0; b < kw; b++) {
              const ix = ox * sw + b - pw;
              if (ix < 0 || ix >= W) continue;
              acc += l.weight[((o * l.inChannels + c) * kh + a) * kw + b]! * x[(c * H + iy) * W + ix]!;
            }
          }
        }
        out[(o * OH + oy) * OW + ox] = acc;
      }
    }
  }
  return out;
}

export function dense(l: Pick<DenseLayer, 'inFeatures' | 'outFeatures' | 'weight' | 'bias'>, x: Float64Array): Float64Array {
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
  const [kh, kw] = l.kernel, [sh, sw] = l.stride, [ph, pw] = l.padding;
  const OH = Math.floor((H + 2 * ph - kh) / sh) + 1, OW = Math.floor((W + 2 * pw - kw) / sw) + 1;
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
            if (isMax) { if (inside && v > acc) acc = v; } else acc += v;
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
    case 'conv2d': return conv2d(layer, x, shape);
    case 'dense': return dense(layer, x);
    case 'avgpool':
    case 'maxpool': return pool(layer, x, shape);
    case 'flatten': return Float64Array.from(x);
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
    case 'relu': return x.map((v) => (v > 0 ? v : 0));
    case 'square': return x.map((v) => v * v);
    case 'poly': return x.map((v) => layer.a * v * v + layer.b * v + layer.c);
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
export function forward(model: Model, input: Float64Array, onLayer?: (index: number, output: Float64Array) => void): Float64Array {
  const expected = shapeSize(model.inputShape);
  if (input.length !== expected) {
    throw new PpnnError('SHAPE_MISMATCH', `input has ${input.length} values but model '${model.name}' expects [${model.inputShape.join(',')}] = ${expected}`);
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
