/**
 * Layer IR shared by every part of PPNN Studio.
 *
 * Tensors are single images in CHW order (no batch axis); a flat vector is shape [n].
 * Weights are Float64Array in row-major order with the layout stated per layer. The IR
 * is what the plaintext engine runs, what the merging stage rewrites, what the CKKS
 * preprocessing evaluates and what the JSON format stores.
 *
 * Two views of a model exist on purpose (DELPHI habit): the server holds a `Model`
 * (weights); the client holds only an `Architecture` (shapes), produced by
 * `architectureOf()`, so a weight cannot reach the client by accident.
 */

export type Shape = readonly number[];

/** 2-D convolution. weight: [out][in][kh][kw]; bias: [out]. */
export interface Conv2dLayer {
  readonly kind: 'conv2d';
  readonly name: string;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernel: readonly [number, number];
  readonly stride: readonly [number, number];
  /** zero padding [top/bottom, left/right], symmetric */
  readonly padding: readonly [number, number];
  readonly weight: Float64Array;
  readonly bias: Float64Array;
}

/** Fully connected map on a flat vector. weight: [out][in]; bias: [out]. */
export interface DenseLayer {
  readonly kind: 'dense';
  readonly name: string;
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly weight: Float64Array;
  readonly bias: Float64Array;
}

/** Inference-mode batch normalisation over channels (axis 0 of CHW, or features of [n]). */
export interface BatchNormLayer {
  readonly kind: 'batchnorm';
  readonly name: string;
  readonly channels: number;
  readonly gamma: Float64Array;
  readonly beta: Float64Array;
  readonly mean: Float64Array;
  readonly variance: Float64Array;
  readonly epsilon: number;
}

/** Average / max pooling over H and W, per channel. Average pooling counts padded zeros (count_include_pad). */
export interface PoolLayer {
  readonly kind: 'avgpool' | 'maxpool';
  readonly name: string;
  readonly kernel: readonly [number, number];
  readonly stride: readonly [number, number];
  readonly padding: readonly [number, number];
}

export interface FlattenLayer {
  readonly kind: 'flatten';
  readonly name: string;
}

export interface ReluLayer {
  readonly kind: 'relu';
  readonly name: string;
}

/** Square activation x ↦ x². */
export interface SquareLayer {
  readonly kind: 'square';
  readonly name: string;
}

/** Scaled polynomial activation x ↦ a·x² + b·x + c (elementwise). */
export interface PolyLayer {
  readonly kind: 'poly';
  readonly name: string;
  readonly a: number;
  readonly b: number;
  readonly c: number;
}

export type LinearLayer = Conv2dLayer | DenseLayer | BatchNormLayer | PoolLayer | FlattenLayer;
export type Layer =
  Conv2dLayer | DenseLayer | BatchNormLayer | PoolLayer | FlattenLayer | ReluLayer | SquareLayer | PolyLayer;
export type LayerKind = Layer['kind'];

/** Layers whose output is an affine function of their input (maxpool is not). */
export const AFFINE_KINDS: ReadonlySet<LayerKind> = new Set<LayerKind>([
  'conv2d',
  'dense',
  'batchnorm',
  'avgpool',
  'flatten',
]);
/** Activations the secret-shared online stage evaluates without garbled circuits. */
export const POLY_ACTIVATION_KINDS: ReadonlySet<LayerKind> = new Set<LayerKind>(['square', 'poly']);

export interface ModelMeta {
  /** dataset the model was trained for, e.g. 'mnist' */
  readonly dataset?: string;
  /** class names, index = logit */
  readonly labels?: readonly string[];
  /** input preprocessing applied to raw [0,255] pixels: x = (p/255 - mean) / std */
  readonly inputNormalization?: { readonly mean: number; readonly std: number };
  /** test accuracy measured when the model was saved, and how */
  readonly accuracy?: {
    readonly value: number;
    readonly dataset: string;
    readonly split: string;
    readonly images: number;
  };
  /** exact command that produced the weights */
  readonly trainedWith?: string;
  readonly seed?: number;
  /**
   * Per-layer bound on |activation| measured on the training set (max abs of the layer's
   * *input*), by layer index. Public: it is architecture-level metadata the client uses to
   * size its masks (see docs/PROTOCOL.md).
   */
  readonly inputBounds?: readonly number[];
  readonly [key: string]: unknown;
}

export interface Model {
  readonly name: string;
  /** CHW of one input, e.g. [1, 28, 28] */
  readonly inputShape: Shape;
  readonly layers: readonly Layer[];
  readonly meta: ModelMeta;
}

/** Shape-only description of a layer: what the client is allowed to know. */
export type LayerSpec =
  | Omit<Conv2dLayer, 'weight' | 'bias'>
  | Omit<DenseLayer, 'weight' | 'bias'>
  | Omit<BatchNormLayer, 'gamma' | 'beta' | 'mean' | 'variance' | 'epsilon'>
  | PoolLayer
  | FlattenLayer
  | ReluLayer
  | SquareLayer
  | PolyLayer;

export interface Architecture {
  readonly name: string;
  readonly inputShape: Shape;
  readonly layers: readonly LayerSpec[];
  /** output shapes per layer, derived */
  readonly shapes: readonly Shape[];
  readonly meta: Pick<ModelMeta, 'dataset' | 'labels' | 'inputNormalization' | 'inputBounds'>;
}

export function shapeSize(s: Shape): number {
  let n = 1;
  for (const d of s) n *= d;
  return n;
}
