import { PpnnError } from '../errors.ts';
import type { Layer, LayerSpec, Shape } from './types.ts';

/** Output spatial size of a conv/pool window: floor((n + 2p - k) / s) + 1. */
export function windowOut(n: number, k: number, s: number, p: number): number {
  return Math.floor((n + 2 * p - k) / s) + 1;
}

/** A conv/pool window over an H×W input: kernel, stride and padding unpacked, and the output size. */
export interface WindowGeometry {
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  ph: number;
  pw: number;
  OH: number;
  OW: number;
}

/**
 * The geometry every conv/pool loop starts from (plaintext forward, ring quantisation, HE
 * layouts): one place for the unpacking and the output-size formula.
 */
export function windowGeometry(
  w: {
    readonly kernel: readonly [number, number];
    readonly stride: readonly [number, number];
    readonly padding: readonly [number, number];
  },
  H: number,
  W: number,
): WindowGeometry {
  const [kh, kw] = w.kernel,
    [sh, sw] = w.stride,
    [ph, pw] = w.padding;
  return { kh, kw, sh, sw, ph, pw, OH: windowOut(H, kh, sh, ph), OW: windowOut(W, kw, sw, pw) };
}

/**
 * Output shape of `layer` applied to an input of shape `input`.
 * Throws PpnnError('SHAPE_MISMATCH') naming the layer when the input does not fit.
 */
export function layerOutputShape(layer: Layer | LayerSpec, input: Shape): Shape {
  const bad = (why: string): never => {
    throw new PpnnError(
      'SHAPE_MISMATCH',
      `layer '${layer.name}' (${layer.kind}): ${why}; input shape [${input.join(',')}]`,
    );
  };
  switch (layer.kind) {
    case 'conv2d': {
      if (input.length !== 3) bad('expects a CHW input');
      if (input[0] !== layer.inChannels) bad(`expects ${layer.inChannels} input channels`);
      const oh = windowOut(input[1]!, layer.kernel[0], layer.stride[0], layer.padding[0]);
      const ow = windowOut(input[2]!, layer.kernel[1], layer.stride[1], layer.padding[1]);
      if (oh < 1 || ow < 1) bad('kernel larger than padded input');
      return [layer.outChannels, oh, ow];
    }
    case 'avgpool':
    case 'maxpool': {
      if (input.length !== 3) bad('expects a CHW input');
      const oh = windowOut(input[1]!, layer.kernel[0], layer.stride[0], layer.padding[0]);
      const ow = windowOut(input[2]!, layer.kernel[1], layer.stride[1], layer.padding[1]);
      if (oh < 1 || ow < 1) bad('window larger than padded input');
      return [input[0]!, oh, ow];
    }
    case 'dense': {
      if (input.length !== 1) bad('expects a flat input (add a flatten layer)');
      if (input[0] !== layer.inFeatures) bad(`expects ${layer.inFeatures} features`);
      return [layer.outFeatures];
    }
    case 'batchnorm': {
      if (input[0] !== layer.channels) bad(`expects ${layer.channels} channels`);
      return input;
    }
    case 'flatten': {
      let n = 1;
      for (const d of input) n *= d;
      return [n];
    }
    case 'relu':
    case 'square':
    case 'poly':
      return input;
  }
}

/** Shapes after every layer (index i = output of layer i). Throws SHAPE_MISMATCH. */
export function inferShapes(inputShape: Shape, layers: readonly (Layer | LayerSpec)[]): Shape[] {
  const out: Shape[] = [];
  let s = inputShape;
  for (const l of layers) {
    s = layerOutputShape(l, s);
    out.push(s);
  }
  return out;
}
