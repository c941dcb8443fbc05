/**
 * Canonical affine forms and exact compositions, the mathematics under the merging stage.
 *
 * Every linear layer is rewritten as one of two canonical maps relative to its input shape:
 * a `conv2d` (convolution, average pooling = depthwise box kernel, batch-norm on CHW = 1×1
 * diagonal kernel) or a `dense` (dense, batch-norm on a flat vector = diagonal matrix).
 * Composition keeps the convolution structure whenever it is exact — the HE layer packs
 * convolutions far better than general matrices — and otherwise falls back to a dense
 * matrix built column by column from the composite map itself.
 */
import { PpnnError } from '../errors.ts';
import { applyLayer } from './forward.ts';
import { layerOutputShape } from './shapes.ts';
import type { Conv2dLayer, DenseLayer, Layer, Shape } from './types.ts';
import { shapeSize } from './types.ts';

export type AffineLayer = Conv2dLayer | DenseLayer;

/** Rewrite one affine layer (not flatten) as a conv2d or dense map on `input`. Throws for non-affine kinds. */
export function toAffine(layer: Layer, input: Shape): AffineLayer {
  switch (layer.kind) {
    case 'conv2d':
    case 'dense':
      return layer;
    case 'avgpool': {
      const C = input[0]!;
      const [kh, kw] = layer.kernel;
      const weight = new Float64Array(C * C * kh * kw);
      for (let c = 0; c < C; c++) for (let i = 0; i < kh * kw; i++) weight[(c * C + c) * kh * kw + i] = 1 / (kh * kw);
      return {
        kind: 'conv2d',
        name: layer.name,
        inChannels: C,
        outChannels: C,
        kernel: layer.kernel,
        stride: layer.stride,
        padding: layer.padding,
        weight,
        bias: new Float64Array(C),
      };
    }
    case 'batchnorm': {
      const C = layer.channels;
      const scale = new Float64Array(C),
        shift = new Float64Array(C);
      for (let c = 0; c < C; c++) {
        scale[c] = layer.gamma[c]! / Math.sqrt(layer.variance[c]! + layer.epsilon);
        shift[c] = layer.beta[c]! - scale[c]! * layer.mean[c]!;
      }
      if (input.length === 3) {
        const weight = new Float64Array(C * C);
        for (let c = 0; c < C; c++) weight[c * C + c] = scale[c]!;
        return {
          kind: 'conv2d',
          name: layer.name,
          inChannels: C,
          outChannels: C,
          kernel: [1, 1],
          stride: [1, 1],
          padding: [0, 0],
          weight,
          bias: shift,
        };
      }
      const n = input[0]!;
      const per = n / C;
      const weight = new Float64Array(n * n),
        bias = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const c = Math.floor(i / per);
        weight[i * n + i] = scale[c]!;
        bias[i] = shift[c]!;
      }
      return { kind: 'dense', name: layer.name, inFeatures: n, outFeatures: n, weight, bias };
    }
    default:
      throw new PpnnError('INTERNAL', `toAffine: layer '${layer.name}' (${layer.kind}) is not an affine map`);
  }
}

/**
 * Exact conv∘conv: `second` applied to the output of `first`. Exact only when `second` has
 * no padding (zero padding of `first`'s output is not expressible as padding of the
 * input: the padded ring would carry `first`'s bias). Returns undefined when not exact.
 * The composite kernel is k1 + (k2−1)·s1, stride s1·s2, padding p1.
 */
export function composeConvConv(first: Conv2dLayer, second: Conv2dLayer, name: string): Conv2dLayer | undefined {
  if (second.padding[0] !== 0 || second.padding[1] !== 0) return undefined;
  if (second.inChannels !== first.outChannels) return undefined;
  const [k1h, k1w] = first.kernel,
    [k2h, k2w] = second.kernel,
    [s1h, s1w] = first.stride;
  const kh = k1h + (k2h - 1) * s1h,
    kw = k1w + (k2w - 1) * s1w;
  const Ci = first.inChannels,
    M = first.outChannels,
    Co = second.outChannels;
  const weight = new Float64Array(Co * Ci * kh * kw);
  const bias = new Float64Array(Co);
  for (let o = 0; o < Co; o++) {
    let b = second.bias[o]!;
    for (let m = 0; m < M; m++) {
      for (let a2 = 0; a2 < k2h; a2++) {
        for (let b2 = 0; b2 < k2w; b2++) {
          const w2 = second.weight[((o * M + m) * k2h + a2) * k2w + b2]!;
          if (w2 === 0) continue;
          b += w2 * first.bias[m]!;
          for (let c = 0; c < Ci; c++) {
            for (let a1 = 0; a1 < k1h; a1++) {
              for (let b1 = 0; b1 < k1w; b1++) {
                const w1 = first.weight[((m * Ci + c) * k1h + a1) * k1w + b1]!;
                weight[((o * Ci + c) * kh + a2 * s1h + a1) * kw + b2 * s1w + b1]! += w2 * w1;
              }
            }
          }
        }
      }
    }
    bias[o] = b;
  }
  return {
    kind: 'conv2d',
    name,
    inChannels: Ci,
    outChannels: Co,
    kernel: [kh, kw],
    stride: [s1h * second.stride[0], s1w * second.stride[1]],
    padding: first.padding,
    weight,
    bias,
  };
}

/** Exact dense∘dense: W = W2·W1, b = W2·b1 + b2. */
export function composeDenseDense(first: DenseLayer, second: DenseLayer, name: string): DenseLayer {
  const n = first.inFeatures,
    m = first.outFeatures,
    k = second.outFeatures;
  const weight = new Float64Array(k * n),
    bias = new Float64Array(k);
  for (let o = 0; o < k; o++) {
    let b = second.bias[o]!;
    for (let j = 0; j < m; j++) {
      const w2 = second.weight[o * m + j]!;
      if (w2 === 0) continue;
      b += w2 * first.bias[j]!;
      const row = j * n;
      for (let i = 0; i < n; i++) weight[o * n + i]! += w2 * first.weight[row + i]!;
    }
    bias[o] = b;
  }
  return { kind: 'dense', name, inFeatures: n, outFeatures: k, weight, bias };
}

/**
 * Any chain of affine layers as one dense map, probing the chain with basis vectors:
 * bias = f(0), column j = f(e_j) − f(0). Exact up to float64 rounding; used where no
 * structured composition applies (conv → flatten → dense, padded conv∘conv).
 */
export function composeAsDense(layers: readonly Layer[], input: Shape, name: string): DenseLayer {
  const n = shapeSize(input);
  const run = (v: Float64Array): Float64Array => {
    let x = v,
      s = input;
    for (const l of layers) {
      x = applyLayer(l, x, s);
      s = layerOutputShape(l, s);
    }
    return x;
  };
  const bias = run(new Float64Array(n));
  const m = bias.length;
  const weight = new Float64Array(m * n);
  const e = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    e[j] = 1;
    const col = run(e);
    e[j] = 0;
    for (let i = 0; i < m; i++) weight[i * n + j] = col[i]! - bias[i]!;
  }
  return { kind: 'dense', name, inFeatures: n, outFeatures: m, weight, bias };
}

/** Number of nonzero multiply-accumulates of one affine map on `input` (the HE ct×pt work scales with it). */
export function affineMacs(l: AffineLayer, input: Shape): number {
  if (l.kind === 'dense') {
    let nz = 0;
    for (const w of l.weight) if (w !== 0) nz++;
    return nz;
  }
  const out = layerOutputShape(l, input);
  const positions = out[1]! * out[2]!;
  let nz = 0;
  for (const w of l.weight) if (w !== 0) nz++;
  return nz * positions;
}
