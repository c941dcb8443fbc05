/**
 * Folding on the client. A plan's fold rotations (acc += rot(acc, f) for each f) come after
 * every ciphertext × plaintext product, so they are linear maps of the decrypted slots: the
 * server may skip them and return the unfolded partial sums, and the client adds them up in
 * the clear. That removes the fold rotations from the server and, above all, their Galois
 * keys from the set-up message (≈ 0.7 MB each at N = 8192): what makes one cold image cheap.
 *
 * Hiding: every slot of the returned ciphertext carries its own uniform mask m (the same
 * width the protocol plans for one share, so each partial sum — a sub-sum of a row of M
 * times r, bounded by ‖M‖∞·|r| like the full sum — is hidden as well as a share is), and the
 * server's share of output i is the sum of the masks of i's group: the client's folded value
 * is (M·r)_i − s_i as before. For the correlated product, a_i is replicated over i's group,
 * so the folded product is (M·r)_i·a_i − t_i with t_i the sum of the group's t masks. The
 * groups of different outputs must not overlap (checked when the plan is made).
 */
import { PpnnError } from '../errors.ts';
import type { HePlan, OutputRecipe } from './layout-base.ts';
import { pickOutputs } from './layout-base.ts';

/** Every subset sum of `steps` (2^k offsets, 0 first): slot i of the folded vector is Σ v[i + offset]. */
export function foldOffsets(steps: readonly number[]): number[] {
  let out = [0];
  for (const s of steps) out = [...out, ...out.map((o) => o + s)];
  return out;
}

/** Output slots of each response ciphertext (every image and output value of the plan). */
function outputSlots(plan: HePlan): number[][] {
  const per = plan.outputs.map(() => [] as number[]);
  for (let k = 0; k < plan.outCt.length; k++) per[plan.outCt[k]!]!.push(plan.outSlot[k]!);
  return per;
}

/**
 * `plan` with its fold rotations left to the client, or null when it has none or when two
 * outputs' groups of slots overlap (the masks could then not be split per output).
 */
export function withClientFold(plan: HePlan): HePlan | null {
  if (plan.outputs.every((o) => o.foldSteps.length === 0)) return null;
  const S = plan.slots;
  const slots = outputSlots(plan);
  for (let c = 0; c < plan.outputs.length; c++) {
    const seen = new Uint8Array(S);
    const offs = foldOffsets(plan.outputs[c]!.foldSteps);
    for (const i of new Set(slots[c]))
      for (const o of offs) {
        const j = (i + o) % S;
        if (seen[j]) return null;
        seen[j] = 1;
      }
  }
  const outputs: OutputRecipe[] = plan.outputs.map((o) => ({ ...o, foldSteps: [], clientFold: o.foldSteps }));
  const used = new Set<number>();
  if (plan.babyStep) used.add(plan.babyStep);
  for (const o of plan.outputs) {
    if (o.giantStep && o.terms.some((t) => (t.giant ?? 0) > 0)) used.add(o.giantStep);
    for (const t of o.terms) if (t.rotation) used.add(t.rotation);
  }
  return {
    ...plan,
    outputs,
    rotationSteps: plan.rotationSteps.filter((s) => used.has(s)),
    description: `${plan.description}; folded by the client`,
    inputVectors: plan.inputVectors,
    weightVector: plan.weightVector,
  };
}

/**
 * Per-image output vectors (plan order) from the full slot vectors of the response
 * ciphertexts: output k of image b is the sum over its fold group (just the slot when the
 * plan folds on the server). The client applies it to decrypted shares, the server to its masks.
 */
export function foldedOutputs(plan: HePlan, B: number, full: readonly Float64Array[]): Float64Array[] {
  return pickOutputs(
    plan,
    B,
    full,
    plan.outputs.map((o) => foldOffsets(o.clientFold ?? [])),
  );
}

/**
 * The multiplier vector of output ciphertext `c` for the correlated product: a's value at
 * each output slot copied over that slot's fold group (other slots keep their uniform value).
 */
export function replicateOverGroups(plan: HePlan, c: number, a: Float64Array): Float64Array {
  const fold = plan.outputs[c]!.clientFold;
  if (!fold || fold.length === 0) return a;
  const S = plan.slots,
    out = Float64Array.from(a),
    offs = foldOffsets(fold);
  for (let k = 0; k < plan.outCt.length; k++) {
    if (plan.outCt[k] !== c) continue;
    const i = plan.outSlot[k]!;
    for (const o of offs) out[(i + o) % S] = a[i]!;
  }
  if (out.length !== S) throw new PpnnError('INTERNAL', 'replicateOverGroups: wrong vector length');
  return out;
}
