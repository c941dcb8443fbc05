/** Seeded random networks for property tests: every supported layer mix, valid shapes. */
import type { Layer, Model, Shape } from '../../core/model/types.ts';
import { layerOutputShape } from '../../core/model/shapes.ts';
import { mulberry32 } from '../../core/data/datasets.ts';

/** Deterministic PRNG so failures reproduce from the printed seed (the data layer's mulberry32). */
export const rng = mulberry32;

/**
 * `v(n, s)`: n values uniform in (−s, s) drawn from `r`, for the hand-written test nets'
 * weights (one formula, so a net built from a seed is the same whichever file builds it).
 */
export function signedUniform(r: () => number): (n: number, s?: number) => Float64Array {
  return (n, s = 1) => Float64Array.from({ length: n }, () => (r() * 2 - 1) * s);
}

const vec = (n: number, r: () => number, lo = -1, hi = 1): Float64Array =>
  Float64Array.from({ length: n }, () => lo + (hi - lo) * r());

/**
 * A random chain over a small CHW input: conv / batchnorm / avgpool blocks, optional
 * activations between them, then flatten and dense / dense blocks. `activationProb`
 * controls how often runs of linear layers are broken.
 */
export function randomModel(seed: number, opts: { activationProb?: number; withMaxpool?: boolean } = {}): Model {
  const r = rng(seed);
  const pAct = opts.activationProb ?? 0.3;
  const C0 = 1 + Math.floor(r() * 2),
    H0 = 8 + Math.floor(r() * 5);
  let shape: Shape = [C0, H0, H0];
  const layers: Layer[] = [];
  let i = 0;
  const push = (l: Layer): void => {
    layers.push(l);
    shape = layerOutputShape(l, shape);
  };
  const act = (): void => {
    const k = r();
    if (k < 0.5) push({ kind: 'square', name: `sq${i++}` });
    else if (k < 0.8) push({ kind: 'poly', name: `poly${i++}`, a: 0.1 + r(), b: r() - 0.5, c: r() - 0.5 });
    else push({ kind: 'relu', name: `relu${i++}` });
  };
  /** A batchnorm with random statistics after a conv or dense block of `channels` outputs. */
  const batchnorm = (channels: number): void =>
    push({
      kind: 'batchnorm',
      name: `bn${i++}`,
      channels,
      gamma: vec(channels, r, 0.5, 1.5),
      beta: vec(channels, r),
      mean: vec(channels, r),
      variance: vec(channels, r, 0.2, 2),
      epsilon: 1e-5,
    });
  const convBlocks = 1 + Math.floor(r() * 3);
  for (let b = 0; b < convBlocks; b++) {
    const [C, H] = shape as [number, number, number];
    const k = Math.min(H, 1 + Math.floor(r() * 3));
    const stride = r() < 0.3 && H >= 5 ? 2 : 1;
    const pad = r() < 0.3 ? 1 : 0;
    const out = 1 + Math.floor(r() * 3);
    push({
      kind: 'conv2d',
      name: `conv${i++}`,
      inChannels: C,
      outChannels: out,
      kernel: [k, k],
      stride: [stride, stride],
      padding: [pad, pad],
      weight: vec(out * C * k * k, r),
      bias: vec(out, r),
    });
    if (r() < 0.6) batchnorm(out);
    const h = (shape as number[])[1]!;
    if (r() < 0.5 && h >= 2)
      push({ kind: 'avgpool', name: `pool${i++}`, kernel: [2, 2], stride: [2, 2], padding: [0, 0] });
    else if (opts.withMaxpool && r() < 0.2 && h >= 2)
      push({ kind: 'maxpool', name: `mpool${i++}`, kernel: [2, 2], stride: [2, 2], padding: [0, 0] });
    if (r() < pAct) act();
  }
  push({ kind: 'flatten', name: `flat${i++}` });
  const denseBlocks = 1 + Math.floor(r() * 3);
  for (let b = 0; b < denseBlocks; b++) {
    const n = shape[0]!;
    const m = 2 + Math.floor(r() * 10);
    push({
      kind: 'dense',
      name: `fc${i++}`,
      inFeatures: n,
      outFeatures: m,
      weight: vec(m * n, r, -0.5, 0.5),
      bias: vec(m, r),
    });
    if (r() < 0.3) batchnorm(m);
    if (b < denseBlocks - 1 && r() < pAct) act();
  }
  return { name: `random-${seed}`, inputShape: [C0, H0, H0], layers, meta: {} };
}

export function randomInput(model: Model, seed: number): Float64Array {
  const r = rng(seed ^ 0x9e3779b9);
  const n = model.inputShape.reduce((a, b) => a * b, 1);
  return vec(n, r);
}

/** Max |a−b| / (1 + max|b|): relative-plus-absolute error used across the tests. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0,
    m = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    m = Math.max(m, Math.abs(b[i]!));
  }
  return d / (1 + m);
}

// conv 5×5 stride 2 → square → flatten → dense → square → dense, weights ~ U(±1/√fan-in).
/**
 * A random square-activation MNIST-shaped model (for calibration and planning tests);
 * `channels` (default 4) and `hidden` (default 32) vary the architecture.
 */
export function randomSquareModel(seed: number, opts: { channels?: number; hidden?: number } = {}): Model {
  const r = rng(seed);
  const C = opts.channels ?? 4,
    H = opts.hidden ?? 32,
    flat = C * 12 * 12;
  const u = (n: number, fanIn: number): Float64Array =>
    Float64Array.from({ length: n }, () => (2 * r() - 1) * Math.sqrt(3 / fanIn));
  const layers: Layer[] = [
    {
      kind: 'conv2d',
      name: 'conv',
      inChannels: 1,
      outChannels: C,
      kernel: [5, 5],
      stride: [2, 2],
      padding: [0, 0],
      weight: u(25 * C, 25),
      bias: u(C, 25),
    },
    { kind: 'square', name: 'sq1' },
    { kind: 'flatten', name: 'flat' },
    { kind: 'dense', name: 'fc1', inFeatures: flat, outFeatures: H, weight: u(flat * H, flat), bias: u(H, flat) },
    { kind: 'square', name: 'sq2' },
    { kind: 'dense', name: 'fc2', inFeatures: H, outFeatures: 10, weight: u(10 * H, H), bias: u(10, H) },
  ];
  return { name: `random-square-${seed}`, inputShape: [1, 28, 28], layers, meta: {} };
}
