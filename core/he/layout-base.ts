/**
 * The plan contract shared by every slot layout (layout.ts chooses, layout-conv.ts and
 * layout-dense.ts build). Pure data and arithmetic, no SEAL, no scheme: a slot is a slot
 * whether the encoder is CKKS or BFV batching (rotations cyclic over `slots`).
 */
import { PpnnError } from '../errors.ts';
import type { Conv2dLayer, DenseLayer } from '../model/types.ts';

export type Conv2dSpec = Omit<Conv2dLayer, 'weight' | 'bias'>;
export type DenseSpec = Omit<DenseLayer, 'weight' | 'bias'>;
export type HeLayerSpec = Conv2dSpec | DenseSpec;
export type Layout = 'fast' | 'reference';

/**
 * pt[pt] ⊙ rot(input[input], rotation), summed into giant-step group `giant` (default 0).
 * A rotation that is not itself a Galois key is a multiple of the plan's `babyStep` and is
 * computed by chaining (rot(x, k·s) = rot(rot(x, (k−1)·s), s)).
 */
export interface Term {
  readonly input: number;
  readonly rotation: number;
  readonly pt: number;
  readonly giant?: number;
}

/**
 * One output ciphertext: A_g = Σ terms of group g; acc = Σ_g rot(A_g, g·giantStep) by
 * Horner (one key), then fold = rotate-and-add over `foldSteps`.
 */
export interface OutputRecipe {
  readonly terms: readonly Term[];
  readonly foldSteps: readonly number[];
  readonly giantStep?: number;
  /**
   * Fold steps left to the client (client-fold.ts): the server returns the unfolded slots, each
   * masked, and the client adds slot i + Σ(any subset of these) into output slot i after decrypting.
   */
  readonly clientFold?: readonly number[];
}

export interface HePlan {
  readonly kind: 'conv2d' | 'dense';
  readonly layout: Layout;
  readonly slots: number;
  readonly images: number;
  readonly inputSize: number;
  readonly outputSize: number;
  readonly inputCount: number;
  readonly outputs: readonly OutputRecipe[];
  readonly ptCount: number;
  /** distinct non-zero rotation steps the server will use (Galois keys needed) */
  readonly rotationSteps: readonly number[];
  /** rotations of inputs that are not keys are chains of this step */
  readonly babyStep?: number;
  /** human-readable layout summary for reports, e.g. 'im2col R=8, 3 images/ct' */
  readonly description: string;
  /** unique input values ÷ uploaded slots (1 = every uploaded slot carries a distinct value) */
  readonly utilisation: number;
  /** output k of image b lives in response ciphertext outCt[b·outputSize+k], slot outSlot[…] */
  readonly outCt: Int32Array;
  readonly outSlot: Int32Array;
  /** client: the slot vectors to encrypt (length inputCount, each `slots` long) */
  inputVectors(masks: readonly Float64Array[]): Float64Array[];
  /** server: slot vector of plaintext `pt` from the layer's weights, or null if all zero */
  weightVector(weight: Float64Array, pt: number): Float64Array | null;
}

/**
 * Per-image output vectors (plan order) read from full slot vectors, one per response
 * ciphertext, through the plan's outCt/outSlot map. The client applies it to what it
 * decrypted, the server to the masks it drew, so both sides read the same slots. With
 * `offsets` (per response ciphertext), output k is the sum of the slots at its slot + each
 * offset, mod the slot count: the client-side fold (client-fold.ts foldedOutputs).
 */
export function pickOutputs(
  plan: HePlan,
  images: number,
  full: readonly Float64Array[],
  offsets?: readonly (readonly number[])[],
): Float64Array[] {
  const S = plan.slots;
  return Array.from({ length: images }, (_, b) => {
    const v = new Float64Array(plan.outputSize);
    for (let k = 0; k < plan.outputSize; k++) {
      const c = plan.outCt[b * plan.outputSize + k]!,
        i = plan.outSlot[b * plan.outputSize + k]!;
      const src = full[c]!;
      let acc = 0;
      for (const o of offsets?.[c] ?? [0]) acc += src[(i + o) % S]!;
      v[k] = acc;
    }
    return v;
  });
}

/** Smallest power of two ≥ n. */
export function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** HE_PARAMS: one image of this layer does not fit the ciphertext. */
export function tooBig(what: string, need: number, slots: number): never {
  throw new PpnnError(
    'HE_PARAMS',
    `${what} needs ${need} slots per image but the ciphertext has ${slots}; choose parameters with minSlots ≥ ${need}`,
  );
}
