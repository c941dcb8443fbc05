/**
 * CryptoNets baseline: which networks it can run, how deep they are, and the CKKS
 * parameters the server proposes for them.
 *
 * Why each parameter is what it is (in the manner of SEAL's examples/5_ckks_basics):
 *
 *  - Depth D. Every multiplicative layer is evaluated on ciphertexts and rescaled once:
 *    conv2d / dense (ct × scalar-weight plaintexts, summed) cost one level, square
 *    (ct × ct + relinearisation) one level, a general poly a·x² + b·x + c two (u = a·x + b,
 *    then x·u). Flatten is free (the layout is one ciphertext per value). The merged MNIST
 *    network conv, square, conv, square, dense needs D = 5.
 *  - Chain [q0, q_1 … q_D, P]. Each q_i (i ≥ 1) is divided out by one rescale; weights are
 *    encoded at scale exactly q_i, so a linear layer leaves the scale unchanged, and a
 *    square maps s to s²/q_i ≈ s because q_i ≈ Δ. The evaluator tracks the exact scale.
 *  - Scale Δ = 2^scaleBits. CKKS error is absolute, ≈ 2^noiseBits(N) / Δ per value (fresh
 *    noise, rescale rounding), then amplified by the network (a square doubles relative
 *    error, a layer multiplies absolute error by ‖w‖). We ask for PRECISION_BITS bits below
 *    that noise floor, and stop at MAX_SCALE_BITS: more only costs bytes.
 *  - q0 holds the result: |logit|·Δ < q0 / 2, with one bit of margin. The logit bound is
 *    propagated (‖row‖₁·B + |b| for linear maps, B² for squares) from the public
 *    meta.inputBounds entry closest to the output (measured on the training set), else from
 *    the input normalisation's pixel range, else from |x| ≤ 1.
 *  - P, the special prime, is used only by relinearisation. Our relinearisations run at
 *    scale ≈ Δ² right before a rescale, so P ≥ Δ is plenty; whatever the 128-bit budget
 *    leaves goes to P (up to 60 bits), where it lowers key-switching noise for free.
 *  - N: the smallest power of two whose 128-bit bound (MAX_BITS_128) fits (D + 2)·Δ + top
 *    bits with Δ ≥ noiseBits(N) + PRECISION_BITS. Smaller N halves every operation, every
 *    ciphertext and the memory. N/2 images share one run (one per slot); more images run
 *    in several batches.
 */
import { PpnnError } from '../errors.ts';
import { MAX_BITS_128, noiseBits } from '../he/params.ts';
import { layerOutputShape } from '../model/shapes.ts';
import type { Layer, Model, Shape } from '../model/types.ts';

/** Plain-data parameter set of a CryptoNets run (what reports show). */
export interface CryptoNetsParams {
  polyModulusDegree: number;
  /** bit sizes [q0, q_1 … q_D, special P] */
  coeffModulusBits: number[];
  scaleBits: number;
  /** N/2: images per batch */
  slots: number;
  /** multiplicative depth D (rescales per run) */
  depth: number;
  /** bound on |logit| the parameters were sized for */
  logitBound: number;
}

/** Layer kinds the pure-HE evaluation runs (after merging). */
export type CryptoNetsLayer = Extract<Layer, { kind: 'conv2d' | 'dense' | 'flatten' | 'square' | 'poly' }>;

const SUPPORTED = new Set(['conv2d', 'dense', 'flatten', 'square', 'poly']);
const DEGREES = [4096, 8192, 16384, 32768] as const;
const MAX_PRIME_BITS = 60;
/** bits of precision wanted below the CKKS noise floor of N (see params.ts noiseBits) */
const PRECISION_BITS = 14;
/** a 40-bit scale already gives ~2^-25 absolute precision; more only costs bytes */
const MAX_SCALE_BITS = 40;

/**
 * Check that every layer of the (merged) network can be evaluated homomorphically and
 * return them typed. Throws PpnnError('MODEL_UNSUPPORTED_LAYER') naming the first layer
 * that cannot (relu, maxpool: not polynomials; batchnorm/avgpool left unmerged), and
 * for a constant poly (a = b = 0: no ciphertext to carry).
 */
export function cryptoNetsLayers(network: Model): CryptoNetsLayer[] {
  const out: CryptoNetsLayer[] = [];
  for (const l of network.layers) {
    if (!SUPPORTED.has(l.kind)) {
      throw new PpnnError(
        'MODEL_UNSUPPORTED_LAYER',
        `cryptonets evaluates only conv2d, dense, flatten, square and poly layers homomorphically; layer ` +
          `'${l.name}' is ${l.kind}`,
        { layer: l.name, kind: l.kind },
      );
    }
    if (l.kind === 'poly' && l.a === 0 && l.b === 0)
      throw new PpnnError('MODEL_UNSUPPORTED_LAYER', `cryptonets: poly layer '${l.name}' is constant (a = b = 0)`, {
        layer: l.name,
        kind: l.kind,
      });
    out.push(l as CryptoNetsLayer);
  }
  return out;
}

/** Levels (rescales) one layer consumes: see the file comment. */
export function layerDepth(l: CryptoNetsLayer): number {
  switch (l.kind) {
    case 'conv2d':
    case 'dense':
      return 1;
    case 'flatten':
      return 0;
    case 'square':
      return 1;
    case 'poly':
      return l.a === 0 || (l.a === 1 && l.b === 0) ? 1 : 2;
  }
}

/** max over outputs of ‖row‖₁·B + |bias|: a bound on |y| for |x| ≤ B. */
function linearBound(l: Extract<CryptoNetsLayer, { kind: 'conv2d' | 'dense' }>, b: number): number {
  const outs = l.kind === 'dense' ? l.outFeatures : l.outChannels;
  const rowLen = l.weight.length / outs;
  let worst = 0;
  for (let o = 0; o < outs; o++) {
    let s = 0;
    for (let i = o * rowLen; i < (o + 1) * rowLen; i++) s += Math.abs(l.weight[i]!);
    worst = Math.max(worst, s * b + Math.abs(l.bias[o]!));
  }
  return worst;
}

/** Bound on |logit| from the public bounds metadata (see the file comment). */
export function logitBound(network: Model, layers: readonly CryptoNetsLayer[]): number {
  const bounds = network.meta.inputBounds;
  let start = 0;
  let b = 1;
  const norm = network.meta.inputNormalization;
  if (norm && norm.std > 0) b = Math.max(Math.abs(norm.mean / norm.std), Math.abs((1 - norm.mean) / norm.std));
  if (bounds) {
    for (let i = Math.min(bounds.length, layers.length) - 1; i >= 0; i--) {
      const v = bounds[i];
      if (v !== undefined && Number.isFinite(v) && v > 0) {
        start = i;
        b = v;
        break;
      }
    }
  }
  for (let i = start; i < layers.length; i++) {
    const l = layers[i]!;
    if (l.kind === 'conv2d' || l.kind === 'dense') b = linearBound(l, b);
    else if (l.kind === 'square') b = b * b;
    else if (l.kind === 'poly') b = Math.abs(l.a) * b * b + Math.abs(l.b) * b + Math.abs(l.c);
  }
  return b;
}

/**
 * Propose CKKS parameters for evaluating `network` (already merged and checked with
 * cryptoNetsLayers) under CryptoNets. Returns the smallest-N set within 128-bit
 * security; throws PpnnError('HE_PARAMS') with the reasons when none fits.
 */
export function chooseCryptoNetsParams(network: Model, layers: readonly CryptoNetsLayer[]): CryptoNetsParams {
  let shape: Shape = network.inputShape;
  for (const l of layers) shape = layerOutputShape(l, shape); // SHAPE_MISMATCH early
  const depth = layers.reduce((d, l) => d + layerDepth(l), 0);
  if (depth < 1)
    throw new PpnnError('HE_PARAMS', `cryptonets: network '${network.name}' has no multiplicative layer to evaluate`);
  const bound = logitBound(network, layers);
  if (!Number.isFinite(bound))
    throw new PpnnError('HE_PARAMS', `cryptonets: the logit bound of '${network.name}' is not finite`);
  // sign bit + one bit of margin above the bound
  const top = Math.max(0, Math.ceil(Math.log2(Math.max(bound, 1)))) + 2;
  const reasons: string[] = [];
  for (const n of DEGREES) {
    const budget = MAX_BITS_128[n]!;
    const need = Math.ceil(noiseBits(n)) + PRECISION_BITS;
    const fit = Math.min(MAX_SCALE_BITS, MAX_PRIME_BITS - top, Math.floor((budget - top) / (depth + 2)));
    if (fit < need) {
      reasons.push(`N=${n}: depth ${depth} leaves a ${fit}-bit scale, ${need} needed`);
      continue;
    }
    const scaleBits = fit;
    const q0 = scaleBits + top;
    const special = Math.min(MAX_PRIME_BITS, budget - q0 - depth * scaleBits);
    const bits = [q0, ...Array<number>(depth).fill(scaleBits), special];
    return { polyModulusDegree: n, coeffModulusBits: bits, scaleBits, slots: n / 2, depth, logitBound: bound };
  }
  throw new PpnnError(
    'HE_PARAMS',
    `cryptonets: no CKKS parameters within 128-bit security for depth ${depth}, |logits| ≤ ${bound.toPrecision(3)}: ` +
      `${reasons.join('; ')}`,
    { depth, logitBound: bound },
  );
}
