/**
 * Byte-bounded batches: the predicted size of a batch's largest offline frame (pre.masks
 * up, pre.shares down), from the layouts the run will use and the HE parameters, and the
 * largest batch whose every frame stays under a transport's frame limit. The roles
 * (core/protocol/roles.ts) split the client's batches with it, so a model whose one-image
 * upload is large (a dense 784 → 1152 map) runs in smaller batches instead of failing
 * with FRAME_INVALID.
 *
 * Sizes are upper bounds, never estimates from below: a seeded upload carries one
 * polynomial over the primes of the level it is encrypted at, a response two
 * polynomials over the primes it is sent with; every residue is counted at 8 bytes
 * (SEAL's in-memory word) plus zstd's worst-case expansion, the SEAL header, seed and the
 * project's envelope. Real frames are smaller by what zstd saves on residues under 64
 * bits (test/protocol/batch-frames.test.ts checks prediction ≥ measurement ≤ 1.5×).
 */
import { PpnnError } from '../errors.ts';
import { planLayer, rotationStepsFor, type Layout } from '../he/index.ts';
import type { CkksProposal } from './ckks-provider.ts';
import type { ClientLinearStep } from './plan.ts';

/** Bytes a frame adds around its blobs: prefix, tag, a small JSON header, one length word per blob. */
export const frameOverhead = (blobs: number): number => 512 + 4 * blobs;

/** SEAL header + seed + envelope + zstd frame, per ciphertext blob. */
const CT_OVERHEAD = 256;

/** Upper bound of one serialised ciphertext with `polys` polynomials of degree `n` over `primes` primes. */
export function ciphertextBytes(n: number, primes: number, polys: 1 | 2): number {
  const raw = polys * n * primes * 8;
  return Math.ceil(raw * 1.004) + CT_OVERHEAD; // zstd never expands by more than ~0.4 % (ZSTD_compressBound)
}

/** One linear step as the byte model needs it (client or server view). */
type LinearLike = Pick<ClientLinearStep, 'kind' | 'spec' | 'inShape' | 'next'>;

const heLayerOf = (st: LinearLike) => ({
  spec: st.spec,
  ...(st.spec.kind === 'conv2d' ? { inputShape: st.inShape } : {}),
  product: st.next !== undefined,
});

/**
 * Largest offline frame of a batch of `count` images for the CKKS-preprocessed float
 * schemes (merged, unmerged), following what the roles really send: per linear step the
 * seeded uploads of its input ciphertexts (one polynomial at level 2 when a square's
 * correlated product is computed, else level 1: 3 or 2 primes) and the level-0 responses
 * (two per output with the product). The plan is the one both parties make: folding on the
 * client (client-fold.ts; gazelle's online layers are planned without it) among the Galois
 * keys the client makes, which are chosen for the batch sizes of the session
 * (rotationStepsFor). The client passes those `batches`; the server, which learns them only
 * in the set-up message, assumes keys made for the batch size it is asked about.
 */
export function ckksOfflineFrameBytes(
  steps: readonly { kind: string }[],
  proposal: Pick<CkksProposal, 'params' | 'layout'> & { scheme?: string },
  opts: { batches?: readonly number[] } = {},
): (count: number) => number {
  const linear = steps.filter((s): s is LinearLike => s.kind === 'linear');
  const { params, layout } = proposal;
  const clientFold = proposal.scheme !== 'gazelle';
  const n = params.polyModulusDegree,
    slots = n / 2;
  const layers = linear.map(heLayerOf);
  const keysFor = (batches: readonly number[]) => rotationStepsFor(layers, layout, slots, batches, { clientFold });
  const fixed = opts.batches && opts.batches.length > 0 ? keysFor(opts.batches) : undefined;
  const down = ciphertextBytes(n, 1, 2);
  const memo = new Map<number, number>();
  return (count) => {
    const known = memo.get(count);
    if (known !== undefined) return known;
    const keys = fixed ?? keysFor([count]);
    let most = 0;
    for (const l of layers) {
      const plan = planLayer(l.spec, {
        images: count,
        slots,
        layout,
        inputShape: l.inputShape,
        steps: keys,
        product: l.product,
        clientFold,
      });
      const up = ciphertextBytes(n, l.product ? 3 : 2, 1);
      const responses = plan.outputs.length * (l.product ? 2 : 1);
      most = Math.max(
        most,
        plan.inputCount * up + frameOverhead(plan.inputCount),
        responses * down + frameOverhead(responses),
      );
    }
    memo.set(count, most);
    return most;
  };
}

/** A BFV linear or element-wise step as the ring byte model needs it. */
export type RingByteStep =
  | { kind: 'linear'; spec: ClientLinearStep['spec']; inShape: ClientLinearStep['inShape'] }
  | { kind: 'square' | 'trunc'; size: number }
  | { kind: 'gc'; bytesPerImage: number };

/**
 * Largest offline frame of a batch of `count` images for the ring schemes: BFV linear
 * steps (seeded uploads at the top level, responses at `sendPrimes` primes), element-wise
 * truncation / square steps (1 or 3 uploads and 1 or 2 responses per N values) and the
 * garbled-circuit material of a gc step (`bytesPerImage` per image).
 */
export function ringOfflineFrameBytes(
  steps: readonly RingByteStep[],
  bfv: { polyModulusDegree: number; coeffModulusBits: readonly number[]; sendPrimes: number },
  layout: Layout,
): (count: number) => number {
  const n = bfv.polyModulusDegree,
    slots = n / 2;
  const up = ciphertextBytes(n, bfv.coeffModulusBits.length - 1, 1),
    down = ciphertextBytes(n, bfv.sendPrimes, 2);
  const frame = (cts: number, each: number): number => cts * each + frameOverhead(cts);
  const keys = rotationStepsFor(
    steps.flatMap((s) =>
      s.kind === 'linear' ? [{ spec: s.spec, ...(s.spec.kind === 'conv2d' ? { inputShape: s.inShape } : {}) }] : [],
    ),
    layout,
    slots,
  );
  return (count) => {
    let most = 0;
    for (const s of steps) {
      if (s.kind === 'linear') {
        const plan = planLayer(s.spec, {
          images: count,
          slots,
          layout,
          inputShape: s.spec.kind === 'conv2d' ? s.inShape : undefined,
          steps: keys,
        });
        most = Math.max(most, frame(plan.inputCount, up), frame(plan.outputs.length, down));
      } else if (s.kind === 'gc') {
        most = Math.max(most, count * s.bytesPerImage + frameOverhead(1));
      } else {
        const C = Math.ceil((count * s.size) / n),
          square = s.kind === 'square';
        most = Math.max(most, frame((square ? 3 : 1) * C, up), frame((square ? 2 : 1) * C, down));
      }
    }
    return most;
  };
}

/**
 * The largest batch in [1, cap] whose offline frames, as `frameBytes` predicts them, all
 * fit `limit` bytes (frame sizes grow with the batch). Throws FRAME_INVALID naming the
 * size when not even one image fits.
 */
export function largestBatch(limit: number, frameBytes: (count: number) => number, cap: number): number {
  const one = frameBytes(1);
  if (one > limit)
    throw new PpnnError(
      'FRAME_INVALID',
      `one image's preprocessing message is predicted at ${one} bytes, over the frame limit of ${limit} bytes`,
      { predictedBytes: one, maxFrameBytes: limit },
    );
  let lo = 1,
    hi = Math.max(1, cap);
  if (frameBytes(hi) <= limit) return hi;
  // invariant: lo fits, hi does not
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (frameBytes(mid) <= limit) lo = mid;
    else hi = mid;
  }
  return lo;
}
