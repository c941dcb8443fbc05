/**
 * The ct×pt part of every plan, shared by the CKKS evaluator (eval-core.ts) and the BFV
 * one (bfv.ts): for one output recipe, A_g = Σ_{terms of g} pt ⊙ rot(input, rotation) and
 * acc = A_0 + rot(A_1 + rot(A_2 + …, giantStep), giantStep) (Horner: one Galois key for
 * all giant steps). Rotated inputs are computed once, shared by every term that uses them,
 * chained from the previous baby step when the rotation is not a key itself, and freed
 * after their last use. Scheme-agnostic: only rotate / mulPlain / addInplace are used.
 */
import type { Ciphertext, GaloisKeys, Plaintext } from 'node-seal';
import type { HeContext, HeParams } from './context.ts';
import type { OutputRecipe } from './layout.ts';
import type { Scope } from './seal.ts';

/** Where one job's rotated inputs come from: the client's ciphertexts, the plan's terms and baby step. */
export interface InputJob {
  readonly he: HeContext<HeParams>;
  readonly scope: Scope;
  readonly keys: GaloisKeys;
  readonly input: (i: number) => Ciphertext;
  readonly outputs: readonly Pick<OutputRecipe, 'terms'>[];
  readonly babyStep: number | undefined;
  /** false for terms whose plaintext is all zero (skipped, not counted) */
  readonly used: (pt: number) => boolean;
}

/** Rotated client inputs of one job, reference-counted over the terms that use them. */
export class RotatedInputs {
  readonly #he: HeContext<HeParams>;
  readonly #scope: Scope;
  readonly #keys: GaloisKeys;
  readonly #input: (i: number) => Ciphertext;
  readonly #babyStep: number | undefined;
  readonly #uses = new Map<string, number>();
  readonly #cache = new Map<string, Ciphertext>();

  constructor({ he, scope, keys, input, outputs, babyStep, used }: InputJob) {
    this.#he = he;
    this.#scope = scope;
    this.#keys = keys;
    this.#input = input;
    this.#babyStep = babyStep;
    for (const o of outputs)
      for (const t of o.terms)
        if (t.rotation && used(t.pt))
          this.#uses.set(`${t.input}/${t.rotation}`, (this.#uses.get(`${t.input}/${t.rotation}`) ?? 0) + 1);
  }

  get(i: number, r: number): Ciphertext {
    if (r === 0) return this.#input(i);
    const key = `${i}/${r}`;
    let x = this.#cache.get(key);
    if (!x) {
      const b = this.#babyStep;
      // a baby step that is not a key itself: chain from the previous one (one key for all)
      x =
        b && r !== b && r % b === 0
          ? this.#he.rotate(this.#scope, this.get(i, r - b), b, this.#keys)
          : this.#he.rotate(this.#scope, this.#input(i), r, this.#keys);
      this.#cache.set(key, x);
    }
    return x;
  }

  /** One use of rot(input i, r) is done; free it after the last (unless a longer chain still needs it). */
  done(i: number, r: number): void {
    if (r === 0) return;
    const key = `${i}/${r}`,
      left = (this.#uses.get(key) ?? 1) - 1;
    this.#uses.set(key, left);
    const b = this.#babyStep;
    if (left > 0 || (b && this.#uses.get(`${i}/${r + b}`))) return;
    const x = this.#cache.get(key);
    if (x) this.#scope.release(x);
    this.#cache.delete(key);
  }
}

/** An output's terms grouped by giant step (baby-step terms under 0), and the highest giant step. */
export function termsByGiant(terms: OutputRecipe['terms']): {
  byGiant: Map<number, OutputRecipe['terms'][number][]>;
  top: number;
} {
  const byGiant = new Map<number, OutputRecipe['terms'][number][]>();
  for (const t of terms) {
    const g = t.giant ?? 0;
    let list = byGiant.get(g);
    if (!list) byGiant.set(g, (list = []));
    list.push(t);
  }
  return { byGiant, top: Math.max(0, ...byGiant.keys()) };
}

/** What accumulateOutput reads its (possibly rotated) inputs from: RotatedInputs, or bfv-ntt.ts's NttInputs. */
export interface TermInputs {
  get(i: number, r: number): Ciphertext;
  done(i: number, r: number): void;
}

/**
 * Σ_g rot(A_g, g·giantStep) for one output (null when every plaintext is zero). With `finishGroup`
 * each A_g is summed apart and passed through it before it is added (bfv-ntt.ts: products in NTT
 * form, turned back once per group); without it the products go straight into the accumulator,
 * so no extra addition is made (the cost model's count).
 */
export function accumulateOutput(
  he: HeContext<HeParams>,
  scope: Scope,
  keys: GaloisKeys,
  out: Pick<OutputRecipe, 'terms' | 'giantStep'>,
  inputs: TermInputs,
  plaintext: (id: number) => Plaintext | null,
  finishGroup?: (sum: Ciphertext) => void,
): Ciphertext | null {
  const { byGiant, top } = termsByGiant(out.terms);
  let acc: Ciphertext | null = null;
  for (let g = top; g >= 0; g--) {
    if (acc && g < top) {
      const r = he.rotate(scope, acc, out.giantStep!, keys);
      scope.release(acc);
      acc = r;
    }
    let sum: Ciphertext | null = finishGroup ? null : acc;
    for (const t of byGiant.get(g) ?? []) {
      const pt = plaintext(t.pt);
      if (!pt) continue;
      const prod = he.mulPlain(scope, inputs.get(t.input, t.rotation), pt);
      inputs.done(t.input, t.rotation);
      if (sum) {
        he.addInplace(sum, prod);
        scope.release(prod);
      } else sum = prod;
    }
    if (!finishGroup) acc = sum;
    else if (sum) {
      finishGroup(sum);
      if (acc) {
        he.addInplace(acc, sum);
        scope.release(sum);
      } else acc = sum;
    }
  }
  return acc;
}
