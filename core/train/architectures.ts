/**
 * The architectures `ppnn train --arch` knows, as compact layer plans, plus the dataset
 * defaults each was tuned for. Square nets keep every activation a polynomial so the
 * secure protocol can run them without garbled circuits, and they keep runs of
 * consecutive linear layers (conv→avgpool→batchnorm, flatten→dense→dense) for the
 * merging stage to fold. Multiply-accumulate counts are per image.
 */
import { PpnnError } from '../errors.ts';

export type PlanLayer =
  | { kind: 'conv2d'; out: number; kernel: number; padding?: number }
  | { kind: 'dense'; out: number }
  | { kind: 'avgpool' | 'maxpool'; size: number }
  | { kind: 'batchnorm' | 'flatten' | 'square' | 'relu' };

export interface ArchitecturePlan {
  readonly id: string;
  readonly description: string;
  readonly dataset: 'mnist' | 'fashion-mnist';
  /** x = (p/255 − mean)/std, the usual per-dataset pixel statistics */
  readonly normalization: { mean: number; std: number };
  readonly layers: readonly PlanLayer[];
  /** augmentation used by default: random shifts of ±shift pixels, optional horizontal flip */
  readonly augment: { shift: number; flip: boolean };
}

const MNIST_NORM = { mean: 0.1307, std: 0.3081 };
const FASHION_NORM = { mean: 0.286, std: 0.353 };

const conv = (out: number, kernel: number, padding = 0): PlanLayer => ({ kind: 'conv2d', out, kernel, padding });
const dense = (out: number): PlanLayer => ({ kind: 'dense', out });
const avgpool: PlanLayer = { kind: 'avgpool', size: 2 };
const maxpool: PlanLayer = { kind: 'maxpool', size: 2 };
const bn: PlanLayer = { kind: 'batchnorm' };
const square: PlanLayer = { kind: 'square' };
const relu: PlanLayer = { kind: 'relu' };
const flatten: PlanLayer = { kind: 'flatten' };

/**
 * The trunk the three full-size nets share: conv 1→8 5×5, pool, BN, act, conv 8→16 5×5, pool,
 * BN, act, flatten (256 features). One definition, so changing it changes them together.
 */
const trunk = (pool: PlanLayer, act: PlanLayer): PlanLayer[] => [
  conv(8, 5),
  pool,
  bn,
  act,
  conv(16, 5),
  pool,
  bn,
  act,
  flatten,
];

/**
 * The square trunk, then dense 256→100, BN, x², dense 100→32, dense 32→10: ≈ 349k MACs,
 * 3 activations. Linear runs for merging: conv→avgpool→batchnorm (×2), flatten→dense→batchnorm,
 * dense→dense.
 */
const squareNet: readonly PlanLayer[] = [...trunk(avgpool, square), dense(100), bn, square, dense(32), dense(10)];
/** The two-activation version: the same trunk, then dense 256→64→10 (≈ 336k MACs). */
const squareNetLite: readonly PlanLayer[] = [...trunk(avgpool, square), dense(64), dense(10)];
/** Same trunk with ReLU and max pooling (not evaluable by the polynomial protocol): ≈ 336k MACs. */
const reluNet: readonly PlanLayer[] = [...trunk(maxpool, relu), dense(64), relu, dense(10)];
/** Tiny net for tests: one conv, x², one dense. */
const tinyNet: readonly PlanLayer[] = [conv(4, 5), avgpool, bn, square, avgpool, flatten, dense(10)];

export const ARCHITECTURES: Readonly<Record<string, ArchitecturePlan>> = {
  'mnist-square': {
    id: 'mnist-square',
    description: 'square activations (3), 2 conv + 3 dense (linear runs for merging)',
    dataset: 'mnist',
    normalization: MNIST_NORM,
    layers: squareNet,
    augment: { shift: 1, flip: false },
  },
  'mnist-square-lite': {
    id: 'mnist-square-lite',
    description: 'square activations (2), 2 conv + 2 dense',
    dataset: 'mnist',
    normalization: MNIST_NORM,
    layers: squareNetLite,
    augment: { shift: 2, flip: false },
  },
  'mnist-relu': {
    id: 'mnist-relu',
    description: 'ReLU + max pooling reference',
    dataset: 'mnist',
    normalization: MNIST_NORM,
    layers: reluNet,
    augment: { shift: 2, flip: false },
  },
  'fashion-square': {
    id: 'fashion-square',
    description: 'square activations (3), 2 conv + 3 dense (linear runs for merging)',
    dataset: 'fashion-mnist',
    normalization: FASHION_NORM,
    layers: squareNet,
    augment: { shift: 1, flip: true },
  },
  'fashion-relu': {
    id: 'fashion-relu',
    description: 'ReLU + max pooling reference',
    dataset: 'fashion-mnist',
    normalization: FASHION_NORM,
    layers: reluNet,
    augment: { shift: 1, flip: true },
  },
  tiny: {
    id: 'tiny',
    description: 'smallest square net, for tests',
    dataset: 'mnist',
    normalization: MNIST_NORM,
    layers: tinyNet,
    augment: { shift: 0, flip: false },
  },
};

/** The plan for `id`. Throws ARGUMENT_INVALID listing the known ids. */
export function architecturePlan(id: string): ArchitecturePlan {
  const plan = ARCHITECTURES[id];
  if (!plan)
    throw new PpnnError(
      'ARGUMENT_INVALID',
      `unknown architecture '${id}' (known: ${Object.keys(ARCHITECTURES).join(', ')})`,
    );
  return plan;
}
