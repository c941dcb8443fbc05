/**
 * A trainable network built from an ArchitecturePlan: seeded parameters as tfjs
 * variables, a batched forward pass (NHWC, as tfjs wants), and export to the project's
 * IR (CHW, unmerged) for modelToJSON.
 *
 * Convolutions use a custom gradient: the wasm backend has fast Conv2D and
 * Conv2DBackpropInput kernels but no Conv2DBackpropFilter. Both gradients are therefore
 * written as forward convolutions, which run on the fast (XNNPACK) Conv2D kernel: the
 * filter gradient convolves the input with dy using the batch axis as channels, the
 * input gradient is the "full" convolution of dy with the 180°-rotated, channel-swapped
 * filter. (An im2col of 25 strided slices + matMul was ~5× slower on wasm.)
 */
import type { Tensor, Tensor2D, Tensor4D, Variable } from '@tensorflow/tfjs-core';
import { mulberry32 } from '../data/datasets.ts';
import { PpnnError } from '../errors.ts';
import type { Layer, Model, ModelMeta } from '../model/types.ts';
import type { ArchitecturePlan } from './architectures.ts';
import type { TF } from './tf.ts';

const BN_EPSILON = 1e-5;
const BN_MOMENTUM = 0.9;

/** One planned layer with its resolved CHW input shape and its parameters. */
export type NetLayer =
  | {
      kind: 'conv2d';
      name: string;
      inShape: number[];
      inC: number;
      outC: number;
      k: number;
      pad: number;
      w: Variable;
      b: Variable;
      needsInputGrad: boolean;
    }
  | { kind: 'dense'; name: string; inShape: number[]; inF: number; outF: number; w: Variable; b: Variable }
  | {
      kind: 'batchnorm';
      name: string;
      inShape: number[];
      channels: number;
      gamma: Variable;
      beta: Variable;
      movingMean: Float64Array;
      movingVar: Float64Array;
    }
  | { kind: 'avgpool' | 'maxpool'; name: string; inShape: number[]; size: number }
  | { kind: 'flatten' | 'square' | 'relu'; name: string; inShape: number[] };

export interface Network {
  readonly plan: ArchitecturePlan;
  readonly layers: NetLayer[];
  readonly variables: Variable[];
}

/** Standard normal sampler (Box–Muller) over a seeded uniform source. */
function gaussian(rand: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

/**
 * Build the network with seeded He-normal weights (std √(2/fan_in)), zero biases,
 * γ=1/β=0 batch norms. Same plan and seed ⇒ same initial weights.
 */
export function buildNetwork(
  tf: TF,
  plan: ArchitecturePlan,
  seed: number,
  inputShape: readonly number[] = [1, 28, 28],
): Network {
  const normal = gaussian(mulberry32(seed ^ 0x5eed));
  const randomVar = (shape: number[], std: number, name: string): Variable => {
    const n = shape.reduce((a, b) => a * b, 1);
    const v = new Float32Array(n);
    for (let i = 0; i < n; i++) v[i] = normal() * std;
    return tf.variable(tf.tensor(v, shape), true, name);
  };
  const constVar = (n: number, value: number, name: string): Variable => tf.variable(tf.fill([n], value), true, name);
  let shape = [...inputShape];
  const layers: NetLayer[] = [];
  const count: Record<string, number> = {};
  for (const p of plan.layers) {
    count[p.kind] = (count[p.kind] ?? 0) + 1;
    const name = `${p.kind === 'batchnorm' ? 'bn' : p.kind}${count[p.kind]}`;
    const inShape = shape;
    switch (p.kind) {
      case 'conv2d': {
        const [c, h, w] = shape as [number, number, number];
        const pad = p.padding ?? 0;
        const fanIn = c * p.kernel * p.kernel;
        layers.push({
          kind: 'conv2d',
          name,
          inShape,
          inC: c,
          outC: p.out,
          k: p.kernel,
          pad,
          needsInputGrad: layers.length > 0,
          w: randomVar([p.kernel, p.kernel, c, p.out], Math.sqrt(2 / fanIn), `${name}/w`),
          b: constVar(p.out, 0, `${name}/b`),
        });
        shape = [p.out, h + 2 * pad - p.kernel + 1, w + 2 * pad - p.kernel + 1];
        break;
      }
      case 'dense': {
        const inF = shape.reduce((a, b) => a * b, 1);
        layers.push({
          kind: 'dense',
          name,
          inShape,
          inF,
          outF: p.out,
          w: randomVar([inF, p.out], Math.sqrt(2 / inF), `${name}/w`),
          b: constVar(p.out, 0, `${name}/b`),
        });
        shape = [p.out];
        break;
      }
      case 'batchnorm': {
        const ch = shape[0]!;
        layers.push({
          kind: 'batchnorm',
          name,
          inShape,
          channels: ch,
          gamma: constVar(ch, 1, `${name}/gamma`),
          beta: constVar(ch, 0, `${name}/beta`),
          movingMean: new Float64Array(ch),
          movingVar: new Float64Array(ch).fill(1),
        });
        break;
      }
      case 'avgpool':
      case 'maxpool': {
        const [c, h, w] = shape as [number, number, number];
        layers.push({ kind: p.kind, name, inShape, size: p.size });
        shape = [c, Math.floor(h / p.size), Math.floor(w / p.size)];
        break;
      }
      case 'flatten':
        layers.push({ kind: 'flatten', name, inShape });
        shape = [shape.reduce((a, b) => a * b, 1)];
        break;
      default:
        layers.push({ kind: p.kind, name, inShape });
    }
  }
  const variables: Variable[] = [];
  for (const l of layers) {
    if (l.kind === 'conv2d' || l.kind === 'dense') variables.push(l.w, l.b);
    if (l.kind === 'batchnorm') variables.push(l.gamma, l.beta);
  }
  return { plan, layers, variables };
}

type ConvFn = (x: Tensor4D, w: Tensor4D) => Tensor4D;
const convCache = new WeakMap<object, Map<boolean, ConvFn>>();

/** Valid, stride-1 convolution with the wasm-friendly custom gradient described above. */
function trainableConv(tf: TF, needsInputGrad: boolean): ConvFn {
  let perTf = convCache.get(tf);
  if (!perTf) convCache.set(tf, (perTf = new Map()));
  const cached = perTf.get(needsInputGrad);
  if (cached) return cached;
  const fn = tf.customGrad(((x: Tensor4D, w: Tensor4D, save: (t: Tensor[]) => void) => {
    save([x, w]);
    const value = tf.conv2d(x, w, 1, 'valid');
    const gradFunc = (dy: Tensor4D, saved: Tensor[]): Tensor[] => {
      const [xs, ws] = saved as [Tensor4D, Tensor4D];
      const k = ws.shape[0];
      // dW[a,b,i,o] = Σ_{n,y,x} x[n,y+a,x+b,i]·dy[n,y,x,o]: a valid convolution of x with
      // the batch axis as channels ([i,H,W,n] ⊛ [oh,ow,n,o] → [i,k,k,o])
      const xT = tf.transpose(xs, [3, 1, 2, 0]) as Tensor4D;
      const dyT = tf.transpose(dy, [1, 2, 0, 3]) as Tensor4D;
      const dw = tf.transpose(tf.conv2d(xT, dyT, 1, 'valid'), [1, 2, 0, 3]);
      if (!needsInputGrad) return [tf.zerosLike(xs), dw];
      const flipped = tf.transpose(tf.reverse(ws, [0, 1]), [0, 1, 3, 2]) as Tensor4D;
      const padded = tf.pad(dy, [
        [0, 0],
        [k - 1, k - 1],
        [k - 1, k - 1],
        [0, 0],
      ]);
      return [tf.conv2d(padded, flipped, 1, 'valid'), dw];
    };
    return { value, gradFunc };
  }) as never) as unknown as ConvFn;
  perTf.set(needsInputGrad, fn);
  return fn;
}

/** Batch statistics seen by the batch norms in a training step (kept tensors; caller disposes). */
export type BatchStats = { layer: Extract<NetLayer, { kind: 'batchnorm' }>; mean: Tensor; variance: Tensor }[];

/**
 * Forward pass of an NHWC batch [B,28,28,1]. `mode` 'train' normalises with batch
 * statistics and appends them (kept) to `stats`; 'infer' uses the moving statistics.
 * Returns logits [B, classes].
 */
export function forwardBatch(tf: TF, net: Network, x: Tensor4D, mode: 'train' | 'infer', stats?: BatchStats): Tensor2D {
  let h: Tensor = x;
  for (const l of net.layers) {
    switch (l.kind) {
      case 'conv2d': {
        if (l.pad > 0)
          h = tf.pad(h, [
            [0, 0],
            [l.pad, l.pad],
            [l.pad, l.pad],
            [0, 0],
          ]);
        h = tf.add(trainableConv(tf, l.needsInputGrad)(h as Tensor4D, l.w as unknown as Tensor4D), l.b);
        break;
      }
      case 'dense':
        h = tf.add(tf.matMul(h as Tensor2D, l.w as unknown as Tensor2D), l.b);
        break;
      case 'batchnorm': {
        let mean: Tensor, variance: Tensor;
        if (mode === 'train') {
          const m = tf.moments(h, h.rank === 4 ? [0, 1, 2] : [0]);
          mean = m.mean;
          variance = m.variance;
          stats?.push({ layer: l, mean: tf.keep(mean), variance: tf.keep(variance) });
        } else {
          mean = tf.tensor1d(Float32Array.from(l.movingMean));
          variance = tf.tensor1d(Float32Array.from(l.movingVar));
        }
        h = tf.add(tf.mul(tf.mul(tf.sub(h, mean), tf.rsqrt(tf.add(variance, BN_EPSILON))), l.gamma), l.beta);
        break;
      }
      case 'avgpool':
        h = tf.avgPool(h as Tensor4D, l.size, l.size, 'valid');
        break;
      case 'maxpool':
        h = tf.maxPool(h as Tensor4D, l.size, l.size, 'valid');
        break;
      case 'flatten':
        h = tf.reshape(h, [h.shape[0]!, -1]);
        break;
      case 'square':
        h = tf.square(h);
        break;
      case 'relu':
        h = tf.relu(h);
        break;
    }
  }
  return h as Tensor2D;
}

/** Fold one step's batch statistics into the moving averages (momentum 0.9) and dispose them. */
export function updateMovingStats(stats: BatchStats): void {
  for (const s of stats) {
    const m = s.mean.dataSync(),
      v = s.variance.dataSync();
    for (let c = 0; c < m.length; c++) {
      s.layer.movingMean[c] = BN_MOMENTUM * s.layer.movingMean[c]! + (1 - BN_MOMENTUM) * m[c]!;
      s.layer.movingVar[c] = BN_MOMENTUM * s.layer.movingVar[c]! + (1 - BN_MOMENTUM) * v[c]!;
    }
    s.mean.dispose();
    s.variance.dispose();
  }
  stats.length = 0;
}

/**
 * Export to the IR (CHW, unmerged, one IR layer per planned layer). tfjs conv filters
 * [kh,kw,in,out] become [out][in][kh][kw]; a dense layer fed by a flatten of an NHWC
 * tensor gets its input columns permuted from HWC to the IR's CHW order.
 */
export function exportModel(net: Network, name: string, meta: ModelMeta): Model {
  const layers: Layer[] = [];
  let flattenedFrom: number[] | undefined;
  for (const l of net.layers) {
    switch (l.kind) {
      case 'conv2d': {
        const src = l.w.dataSync(),
          weight = new Float64Array(src.length);
        const { k, inC, outC } = l;
        for (let a = 0; a < k; a++)
          for (let b = 0; b < k; b++)
            for (let c = 0; c < inC; c++)
              for (let o = 0; o < outC; o++) {
                weight[((o * inC + c) * k + a) * k + b] = src[((a * k + b) * inC + c) * outC + o]!;
              }
        layers.push({
          kind: 'conv2d',
          name: l.name,
          inChannels: inC,
          outChannels: outC,
          kernel: [k, k],
          stride: [1, 1],
          padding: [l.pad, l.pad],
          weight,
          bias: Float64Array.from(l.b.dataSync()),
        });
        break;
      }
      case 'dense': {
        const src = l.w.dataSync(),
          weight = new Float64Array(src.length);
        const { inF, outF } = l;
        const chw = flattenedFrom;
        for (let i = 0; i < inF; i++) {
          // IR input index i = c·H·W + y·W + x  ←  tfjs (HWC) index (y·W + x)·C + c
          let j = i;
          if (chw && chw.length === 3) {
            const [C, H, W] = chw as [number, number, number];
            const c = Math.floor(i / (H * W)),
              pixel = i % (H * W);
            j = pixel * C + c;
          }
          for (let o = 0; o < outF; o++) weight[o * inF + i] = src[j * outF + o]!;
        }
        flattenedFrom = undefined;
        layers.push({
          kind: 'dense',
          name: l.name,
          inFeatures: inF,
          outFeatures: outF,
          weight,
          bias: Float64Array.from(l.b.dataSync()),
        });
        break;
      }
      case 'batchnorm':
        // a BN between flatten and dense would see features in HWC order; no plan does that
        if (flattenedFrom)
          throw new PpnnError(
            'INTERNAL',
            `exportModel: batchnorm '${l.name}' directly after a flatten is not supported`,
          );
        layers.push({
          kind: 'batchnorm',
          name: l.name,
          channels: l.channels,
          epsilon: BN_EPSILON,
          gamma: Float64Array.from(l.gamma.dataSync()),
          beta: Float64Array.from(l.beta.dataSync()),
          mean: Float64Array.from(l.movingMean),
          variance: Float64Array.from(l.movingVar),
        });
        break;
      case 'avgpool':
      case 'maxpool':
        layers.push({
          kind: l.kind,
          name: l.name,
          kernel: [l.size, l.size],
          stride: [l.size, l.size],
          padding: [0, 0],
        });
        break;
      case 'flatten':
        flattenedFrom = l.inShape;
        layers.push({ kind: 'flatten', name: l.name });
        break;
      default:
        layers.push({ kind: l.kind, name: l.name });
    }
  }
  return { name, inputShape: [1, 28, 28], layers, meta };
}
