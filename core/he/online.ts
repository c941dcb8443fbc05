/**
 * gazelle's online step before the linear map: from the client's Enc(layout(y_c)) and the
 * server's own share y_s, compute Enc(layout(A(y))) with y = y_c + y_s, slot-wise.
 *
 * Every used slot of an input layout holds a copy of some y value (shifted/replicated by
 * the plan; padding slots hold 0), so a slot-wise A gives the same layout of A(y) — as long
 * as padding slots stay 0. Hence every plaintext added here goes through
 * plan.inputVectors (which writes 0 in padding slots), never a constant fill.
 *
 * A(y) = α·y² + β·y + γ costs ONE level by completing the square:
 *     α ≠ 0:  A(y) = α·(z² + κ),  z = y + β/(2α),  κ = γ/α − β²/(4α²)
 *             → add layout(y_s + β/(2α)), square, relinearize, rescale, add layout(κ),
 *               and fold α into the weights (M·A(y) = (α·M)·(z² + κ)).
 *     α = 0:  A(y) = β·(y + γ/β)  → one plaintext addition, β folded into the weights.
 *     none:   A = identity         → add layout(y_s).
 * The client's share may be huge (|y_c| ≤ inputMaxAbs, masked); only the top level holds
 * it: after adding y_s the ciphertext holds the small y, and everything after is small.
 */
import type { Ciphertext, RelinKeys } from 'node-seal';
import { PpnnError } from '../errors.ts';
import type { HeContext } from './context.ts';
import type { HePlan } from './layout.ts';
import type { Scope } from './seal.ts';

/** A(y) = a·y² + b·y + c, slot-wise. */
export interface PolyActivation {
  readonly a: number;
  readonly b: number;
  readonly c: number;
}

export interface OnlineInputs {
  /** Enc(layout(A(y))) (or layout of the affine part, see weightFactor), owned by the scope */
  readonly cts: Ciphertext[];
  /** level and scale of `cts` (for the ct×pt weight encoding) */
  readonly level: number;
  readonly scale: number;
  /** multiply the weights by this (the activation's leading coefficient) */
  readonly weightFactor: number;
}

/** Levels an online activation consumes: 1 for a true square term, 0 for affine/identity. */
export function activationLevels(act: PolyActivation | undefined): number {
  return act && act.a !== 0 ? 1 : 0;
}

/** Throws RangeError on a non-finite or constant activation (the input would not matter). */
export function checkActivation(act: PolyActivation): void {
  for (const k of ['a', 'b', 'c'] as const)
    if (typeof act[k] !== 'number' || !Number.isFinite(act[k]))
      throw new RangeError(`evaluateOnShares: activation.${k} must be a finite number, got ${act[k]}`);
  if (act.a === 0 && act.b === 0)
    throw new RangeError('evaluateOnShares: a constant activation (a = b = 0) does not depend on the input');
}

/**
 * Turn the loaded client ciphertexts (level `inputLevel`, scale Δ) into the linear map's
 * inputs, in place of the originals (released). `serverShare[b]` has plan.inputSize values.
 */
export function applyOnlineActivation(
  he: HeContext,
  scope: Scope,
  relin: RelinKeys | undefined,
  plan: HePlan,
  loaded: Ciphertext[],
  inputLevel: number,
  serverShare: readonly Float64Array[],
  act: PolyActivation | undefined,
): OnlineInputs {
  const square = act !== undefined && act.a !== 0;
  if (square && !relin)
    throw new PpnnError(
      'HE_PARAMS',
      'the client sent no relinearization keys (HeClient.create with relinKeys: true) but the activation squares',
    );
  const shift = !act ? 0 : square ? act.b / (2 * act.a) : act.c / act.b;
  const shares = plan.inputVectors(shift === 0 ? serverShare : serverShare.map((v) => v.map((x) => x + shift)));
  const kappa = square ? act.c / act.a - (act.b * act.b) / (4 * act.a * act.a) : 0;
  const kappas =
    kappa !== 0 ? plan.inputVectors(serverShare.map((v) => new Float64Array(v.length).fill(kappa))) : undefined;
  const out = loaded.map((ct, i) => {
    const pt = he.encode(scope, shares[i]!, ct.scale(), inputLevel);
    he.addPlainInplace(ct, pt);
    scope.release(pt);
    if (!square) return ct;
    const sq = he.square(scope, ct);
    scope.release(ct);
    he.relinearizeInplace(sq, relin!);
    he.rescaleInplace(sq);
    if (kappas) {
      const k = he.encode(scope, kappas[i]!, sq.scale(), inputLevel - 1);
      he.addPlainInplace(sq, k);
      scope.release(k);
    }
    return sq;
  });
  return {
    cts: out,
    level: square ? inputLevel - 1 : inputLevel,
    scale: out[0]!.scale(),
    weightFactor: !act ? 1 : square ? act.a : act.b,
  };
}
