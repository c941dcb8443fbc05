/**
 * The training loop: seeded shuffling and augmentation, AdamW with a warm-up + cosine
 * learning-rate schedule, global-norm gradient clipping (polynomial nets can blow up
 * when one batch produces a large square), and an exact batch-norm recalibration at the
 * end so the exported moving statistics are population statistics of the clean
 * training images rather than a noisy average over augmented batches.
 */
import type { Scalar, Tensor, Tensor4D, Variable } from '@tensorflow/tfjs-core';
import type { Dataset } from '../data/datasets.ts';
import { mulberry32, normalizePixel } from '../data/datasets.ts';
import type { ArchitecturePlan } from './architectures.ts';
import type { BatchStats, Network } from './network.ts';
import { buildNetwork, forwardBatch, updateMovingStats } from './network.ts';
import type { TF } from './tf.ts';

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  /** peak learning rate of AdamW */
  learningRate: number;
  /** decoupled weight decay (applied to conv/dense weights only) */
  weightDecay: number;
  seed: number;
  /** use only the first `limit` training images (0 = all) */
  limit: number;
  augment: { shift: number; flip: boolean };
  /** global gradient-norm clip */
  clipNorm: number;
}

export interface EpochReport {
  epoch: number;
  loss: number;
  trainAccuracy: number;
  testAccuracy: number;
  seconds: number;
}

export interface TrainHooks {
  /** `loss` is the running mean over the epoch, `batchLoss` this step's loss */
  onBatch?(done: number, total: number, loss: number, batchLoss: number): void;
  onEpoch?(report: EpochReport): void;
}

/** Fill `out` (NHWC float32, B×H×W×1) with normalised, optionally shifted/flipped images. */
export function fillBatch(
  ds: Dataset,
  indices: ArrayLike<number>,
  norm: { mean: number; std: number },
  out: Float32Array,
  augment?: { shift: number; flip: boolean; rand: () => number },
): void {
  const H = ds.shape[1],
    W = ds.shape[2],
    size = H * W;
  const zero = normalizePixel(0, norm);
  for (let n = 0; n < indices.length; n++) {
    const src = indices[n]! * size,
      dst = n * size;
    let dy = 0,
      dx = 0,
      flip = false;
    if (augment) {
      const s = augment.shift;
      if (s > 0) {
        dy = Math.floor(augment.rand() * (2 * s + 1)) - s;
        dx = Math.floor(augment.rand() * (2 * s + 1)) - s;
      }
      flip = augment.flip && augment.rand() < 0.5;
    }
    for (let y = 0; y < H; y++) {
      const sy = y - dy;
      for (let x = 0; x < W; x++) {
        const sx0 = x - dx,
          sx = flip ? W - 1 - sx0 : sx0;
        out[dst + y * W + x] =
          sy >= 0 && sy < H && sx >= 0 && sx < W ? normalizePixel(ds.images[src + sy * W + sx]!, norm) : zero;
      }
    }
  }
}

/** Top-1 accuracy of `net` (inference mode) on the first `limit` images of `ds` (0 = all). */
export function evaluate(tf: TF, net: Network, ds: Dataset, norm: { mean: number; std: number }, limit = 0): number {
  const n = limit > 0 ? Math.min(limit, ds.count) : ds.count;
  const B = 500;
  const buf = new Float32Array(B * 784);
  let correct = 0;
  for (let start = 0; start < n; start += B) {
    const m = Math.min(B, n - start);
    const idx = Int32Array.from({ length: m }, (_, i) => start + i);
    fillBatch(ds, idx, norm, buf);
    const pred = tf.tidy(() =>
      tf.argMax(forwardBatch(tf, net, tf.tensor4d(buf.subarray(0, m * 784), [m, 28, 28, 1]), 'infer'), 1).dataSync(),
    );
    for (let i = 0; i < m; i++) if (pred[i] === ds.labels[start + i]) correct++;
  }
  return correct / n;
}

/**
 * Recompute every batch norm's mean/variance exactly over the first `images` clean
 * training images, layer by layer (a BN's input depends on the BNs before it).
 */
export function recalibrateBatchNorms(
  tf: TF,
  net: Network,
  ds: Dataset,
  norm: { mean: number; std: number },
  images: number,
): void {
  const n = Math.min(images, ds.count);
  const B = 500;
  const buf = new Float32Array(B * 784);
  for (const bn of net.layers) {
    if (bn.kind !== 'batchnorm') continue;
    const ch = bn.channels;
    const sum = new Float64Array(ch),
      sumSq = new Float64Array(ch);
    let per = 0;
    for (let start = 0; start < n; start += B) {
      const m = Math.min(B, n - start);
      fillBatch(
        ds,
        Int32Array.from({ length: m }, (_, i) => start + i),
        norm,
        buf,
      );
      const stats: BatchStats = [];
      tf.tidy(() => {
        forwardUntil(tf, net, tf.tensor4d(buf.subarray(0, m * 784), [m, 28, 28, 1]), bn, stats);
      });
      // forwardUntil pushes the raw per-channel sums of x and x² (kept) for this BN's input
      const [s1, s2] = [stats[0]!.mean.dataSync(), stats[0]!.variance.dataSync()];
      for (let c = 0; c < ch; c++) {
        sum[c] = sum[c]! + s1[c]!;
        sumSq[c] = sumSq[c]! + s2[c]!;
      }
      per += m * (bn.inShape.length === 3 ? bn.inShape[1]! * bn.inShape[2]! : 1);
      stats[0]!.mean.dispose();
      stats[0]!.variance.dispose();
    }
    for (let c = 0; c < ch; c++) {
      const mean = sum[c]! / per;
      bn.movingMean[c] = mean;
      bn.movingVar[c] = Math.max(0, sumSq[c]! / per - mean * mean);
    }
  }
}

/** Inference forward up to (not including) `stop`; pushes per-channel Σx and Σx² of its input. */
function forwardUntil(tf: TF, net: Network, x: Tensor4D, stop: Network['layers'][number], out: BatchStats): void {
  const prefix: Network = {
    plan: net.plan,
    variables: net.variables,
    layers: net.layers.slice(0, net.layers.indexOf(stop)),
  };
  const h = forwardBatch(tf, prefix, x, 'infer') as Tensor;
  const axes = h.rank === 4 ? [0, 1, 2] : [0];
  out.push({
    layer: stop as Extract<Network['layers'][number], { kind: 'batchnorm' }>,
    mean: tf.keep(tf.sum(h, axes)),
    variance: tf.keep(tf.sum(tf.square(h), axes)),
  });
}

function learningRateAt(step: number, totalSteps: number, peak: number): number {
  const warmup = Math.min(200, Math.floor(totalSteps / 10));
  if (step < warmup) return (peak * (step + 1)) / warmup;
  const t = (step - warmup) / Math.max(1, totalSteps - warmup);
  return peak * (0.01 + 0.99 * 0.5 * (1 + Math.cos(Math.PI * t)));
}

/**
 * Train a fresh network for `plan` on `train`, reporting test accuracy (tfjs, moving
 * statistics) after each epoch; recalibrates batch norms at the end. Returns the network.
 */
export function train(
  tf: TF,
  plan: ArchitecturePlan,
  trainSet: Dataset,
  testSet: Dataset,
  opts: TrainOptions,
  hooks: TrainHooks = {},
): Network {
  const net = buildNetwork(tf, plan, opts.seed);
  const norm = plan.normalization;
  const rand = mulberry32(opts.seed);
  const n = opts.limit > 0 ? Math.min(opts.limit, trainSet.count) : trainSet.count;
  const B = opts.batchSize;
  const stepsPerEpoch = Math.ceil(n / B);
  const totalSteps = stepsPerEpoch * opts.epochs;
  const moments = net.variables.map((v): { v: Variable; m: Tensor; s: Tensor; decay: boolean } => ({
    v,
    m: tf.zerosLike(v),
    s: tf.zerosLike(v),
    decay: /\/w$/.test(v.name),
  }));
  const beta1 = 0.9,
    beta2 = 0.999,
    eps = 1e-8;
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const buf = new Float32Array(B * 784);
  const oneHot = new Float32Array(B * 10);
  let step = 0;
  for (let epoch = 1; epoch <= opts.epochs; epoch++) {
    const t0 = Date.now();
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      const t = order[i]!;
      order[i] = order[j]!;
      order[j] = t;
    }
    let lossSum = 0,
      correct = 0,
      seen = 0;
    for (let start = 0; start < n; start += B) {
      const m = Math.min(B, n - start);
      const idx = order.subarray(start, start + m);
      fillBatch(trainSet, idx, norm, buf, { ...opts.augment, rand });
      oneHot.fill(0);
      for (let i = 0; i < m; i++) oneHot[i * 10 + trainSet.labels[idx[i]!]!] = 1;
      const lr = learningRateAt(step, totalSteps, opts.learningRate);
      step++;
      const stats: BatchStats = [];
      let predicted: Int32Array | Uint8Array | Float32Array = new Int32Array(0);
      const loss = tf.tidy(() => {
        const x = tf.tensor4d(buf.subarray(0, m * 784), [m, 28, 28, 1]);
        const y = tf.tensor2d(oneHot.subarray(0, m * 10), [m, 10]);
        const { value, grads } = tf.variableGrads(() => {
          const logits = forwardBatch(tf, net, x, 'train', stats);
          predicted = tf.argMax(logits, 1).dataSync() as Int32Array;
          return tf.losses.softmaxCrossEntropy(y, logits) as Scalar;
        }, net.variables);
        // global-norm clipping
        const names = Object.keys(grads);
        const norm2 = tf.addN(names.map((k) => tf.sum(tf.square(grads[k]!)))).dataSync()[0]!;
        const scale = Math.sqrt(norm2) > opts.clipNorm ? opts.clipNorm / Math.sqrt(norm2) : 1;
        const b1c = 1 - beta1 ** step,
          b2c = 1 - beta2 ** step;
        for (const mo of moments) {
          const g = tf.mul(grads[mo.v.name]!, scale);
          const m1 = tf.add(tf.mul(mo.m, beta1), tf.mul(g, 1 - beta1));
          const s1 = tf.add(tf.mul(mo.s, beta2), tf.mul(tf.square(g), 1 - beta2));
          tf.dispose([mo.m, mo.s]);
          mo.m = tf.keep(m1);
          mo.s = tf.keep(s1);
          let upd: Tensor = tf.div(tf.div(m1, b1c), tf.add(tf.sqrt(tf.div(s1, b2c)), eps));
          if (mo.decay && opts.weightDecay > 0) upd = tf.add(upd, tf.mul(mo.v, opts.weightDecay));
          mo.v.assign(tf.sub(mo.v, tf.mul(upd, lr)));
        }
        return value.dataSync()[0]!;
      });
      updateMovingStats(stats);
      if (!Number.isFinite(loss))
        throw new Error(`training diverged at epoch ${epoch}, step ${step} (loss ${loss}); lower --lr`);
      for (let i = 0; i < m; i++) if (predicted[i] === trainSet.labels[idx[i]!]) correct++;
      lossSum += loss * m;
      seen += m;
      hooks.onBatch?.(seen, n, lossSum / seen, loss);
    }
    const testAccuracy = evaluate(tf, net, testSet, norm);
    hooks.onEpoch?.({
      epoch,
      loss: lossSum / seen,
      trainAccuracy: correct / seen,
      testAccuracy,
      seconds: (Date.now() - t0) / 1000,
    });
  }
  tf.dispose(moments.flatMap((mo) => [mo.m, mo.s]));
  return net;
}
