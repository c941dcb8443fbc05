/**
 * Server-side evaluation of a batch of output ciphertexts — shared by the inline path
 * (HeServer) and the piscina workers (eval-worker.ts), so both run the same code.
 *
 * For every output:   acc = Σ pt ⊙ rot(input, step)        (level L, scale Δ·q_L)
 *                     rescale → level L−1, scale Δ; fold rotations (cheaper after rescale)
 *                     acc += encode(−s/2)                    → share/2 in every slot (after the product)
 *   [product]         p = rescale(acc ⊙ encode(a)) + encode(−t/2)   → ((M·r)⊙a − t)/2, taken before the s mask
 *   finish each:      mod-switch to level 0 (circuit privacy: lowest level that holds the
 *                     values), add a public-key encryption of zero (re-randomises c1, which
 *                     otherwise equals c1_fresh·W and would reveal W), then ct += conj(ct):
 *                     doubles the real part (hence the halves above) and erases the
 *                     imaginary part of the noise, which no real-valued mask can hide.
 * Weights are encoded at scale exactly q_L·Δ/inputScale (the prime the rescale drops; q_L/2^b
 * for masks uploaded at Δ·2^b, params.ts maxUploadScaleBits) so the result comes back at Δ;
 * an input at another scale than the job's is refused (PARAMS_MISMATCH). All-zero plaintexts
 * are skipped (sparse avgpool/batch-norm convs).
 */
import type { Ciphertext, Encryptor, GaloisKeys, Plaintext, RelinKeys } from 'node-seal';
import type { HeContext } from './context.ts';
import { RotatedInputs, accumulateOutput } from './accumulate.ts';
import type { Term } from './layout.ts';
import type { WeightCache, ZeroPool } from './reuse.ts';
import { Scope } from './seal.ts';
import { PpnnError } from '../errors.ts';

export interface EvalOutputJob {
  readonly index: number;
  readonly terms: readonly Term[];
  readonly foldSteps: readonly number[];
  /** Horner step of the giant groups (terms with `giant` > 0) */
  readonly giantStep?: number | undefined;
  /** −s for every slot of this output ciphertext */
  readonly negMask: Float64Array;
  /** a/2 and −t for every slot (a is halved because the conjugation doubles) */
  readonly product?: { readonly halfA: Float64Array; readonly negT: Float64Array } | undefined;
}

export interface EvalJob {
  readonly layer: string;
  /** level of the client's ciphertexts (1, or 2 when a product is computed) */
  readonly inputLevel: number;
  readonly outputs: readonly EvalOutputJob[];
  /** weight slot vectors by plaintext id (null or absent = all zero, skipped) */
  readonly pts: ReadonlyMap<number, Float64Array | null>;
  /** names (weights, layout) for the weight cache: pt ids of the same key encode the same vector */
  readonly weightKey?: string | undefined;
  /** rotations of inputs that are not Galois keys are chains of this step */
  readonly babyStep?: number | undefined;
  /** every weight is multiplied by this (gazelle: the activation's leading coefficient; default 1) */
  readonly weightFactor?: number;
  /**
   * scale of the input ciphertexts (default Δ; Δ²/q after an online squaring): weights are encoded at q_L·Δ/inputScale
   * so results come back at Δ
   */
  readonly inputScale?: number;
}

export interface ServerKeys {
  readonly galois: GaloisKeys;
  /** public-key encryptor (re-randomisation) */
  readonly encryptor: Encryptor;
  /** relinearization keys, when the client sent them (gazelle's online squaring) */
  readonly relin?: RelinKeys | undefined;
}

export interface EvalResult {
  readonly share: Uint8Array[];
  readonly product: Uint8Array[];
}

/** Work shared across jobs: cached weight plaintexts and encryptions of zero made ahead. */
export interface EvalReuse {
  readonly weights?: WeightCache | undefined;
  readonly zeros?: ZeroPool | undefined;
}

/** Evaluate `job`; `input(i)` returns client ciphertext i (owned by the caller). Frees all temporaries. */
export function evaluateJob(
  he: HeContext,
  keys: ServerKeys,
  input: (i: number) => Ciphertext,
  job: EvalJob,
  reuse: EvalReuse = {},
): EvalResult {
  const scope = new Scope();
  try {
    const L = job.inputLevel;
    const half = 0.5 * (job.weightFactor ?? 1),
      weightScale = he.primes[L]! * (he.scale / (job.inputScale ?? he.scale));
    const ptCache = new Map<number, Plaintext | null>();
    const ptBytes = he.params.polyModulusDegree * (L + 1) * 8;
    const encodeWeight = (s: Scope, id: number): Plaintext | null => {
      const v = job.pts.get(id) ?? null;
      return v
        ? he.encode(
            s,
            v.map((x) => x * half),
            weightScale,
            L,
          )
        : null;
    };
    const plaintext = (id: number): Plaintext | null => {
      let pt = ptCache.get(id);
      if (pt === undefined) {
        pt =
          reuse.weights && job.weightKey
            ? reuse.weights.get(`${he.fingerprint}|${job.weightKey}|${id}|${L}|${weightScale}|${half}`, ptBytes, (s) =>
                encodeWeight(s, id),
              )
            : encodeWeight(scope, id);
        ptCache.set(id, pt);
      }
      return pt;
    };
    const zeroAt = (level: number, scale: number): Ciphertext =>
      reuse.zeros ? reuse.zeros.take(scope, level, scale) : he.encryptZeroAt(scope, keys.encryptor, level, scale);
    // The weights are encoded for this input scale: an upload at another one (a client that
    // does not follow the parameters) would decrypt to garbage, so it is refused instead.
    const expectScale = job.inputScale ?? he.scale;
    const checkedInput = (i: number): Ciphertext => {
      const ct = input(i);
      const sc = ct.scale();
      if (!(Math.abs(sc / expectScale - 1) < 1e-9))
        throw new PpnnError(
          'PARAMS_MISMATCH',
          `layer '${job.layer}': ciphertext ${i} is at scale 2^${Math.log2(sc).toFixed(2)}, expected ` +
            `2^${Math.log2(expectScale).toFixed(2)}`,
        );
      return ct;
    };
    const inputs = new RotatedInputs({
      he,
      scope,
      keys: keys.galois,
      input: checkedInput,
      outputs: job.outputs,
      babyStep: job.babyStep,
      used: (id) => plaintext(id) !== null,
    });
    const share: Uint8Array[] = [],
      product: Uint8Array[] = [];
    for (const out of job.outputs) {
      const acc = accumulateOutput(he, scope, keys.galois, out, inputs, plaintext);
      // All key switching (fold rotations, conjugation) happens BEFORE the rescale: its
      // noise (≈ q0/P·σN in absolute terms) is then divided by q_L like everything else.
      const ct = acc ?? zeroAt(L, he.scale * he.primes[L]!); // all weights zero: M·r = 0
      for (const s of out.foldSteps) {
        const r = he.rotate(scope, ct, s, keys.galois);
        he.addInplace(ct, r);
        scope.release(r);
      }
      makeCircuitPrivate(he, scope, keys, ct, zeroAt);
      he.rescaleInplace(ct);
      // The correlated product is taken from M·r BEFORE the share mask is added:
      // (M·r)⊙a − t has magnitude |M·r|·|a|, so t need only exceed that by 2^k, where
      // share⊙a would carry |s|·|a| and cost the online stage ~k bits of float precision
      // (docs/PROTOCOL.md, "Activation protocol").
      if (out.product) {
        const aPt = he.encode(scope, out.product.halfA, he.primes[L - 1]!, L - 1);
        const p = he.mulPlain(scope, ct, aPt);
        scope.release(aPt);
        makeCircuitPrivate(he, scope, keys, p, zeroAt);
        he.rescaleInplace(p);
        addEncoded(he, scope, p, out.product.negT, p.scale(), L - 2);
        he.modSwitchInplace(p, 0);
        product.push(he.saveBytes(p, 'product'));
        scope.release(p);
      }
      addEncoded(he, scope, ct, out.negMask, ct.scale(), L - 1);
      he.modSwitchInplace(ct, 0);
      share.push(he.saveBytes(ct, 'share'));
      scope.release(ct);
    }
    return { share, product };
  } finally {
    scope.free();
    reuse.weights?.trim();
  }
}

function addEncoded(
  he: HeContext,
  scope: Scope,
  ct: Ciphertext,
  values: Float64Array,
  scale: number,
  level: number,
): void {
  const pt = he.encode(scope, values, scale, level);
  he.addPlainInplace(ct, pt);
  scope.release(pt);
}

/**
 * Re-randomise (add a public-key encryption of zero: c1 becomes uniform instead of
 * c1_fresh·W, which would reveal W) and replace the message by twice its real part
 * (ct += conj(ct)): the imaginary part of the noise, which no real-valued mask can hide,
 * is erased. Callers encode half the weights so the doubling restores the value.
 */
function makeCircuitPrivate(
  he: HeContext,
  scope: Scope,
  keys: ServerKeys,
  ct: Ciphertext,
  zeroAt: (level: number, scale: number) => Ciphertext,
): void {
  const zero = zeroAt(he.levelOf(ct), ct.scale());
  he.addInplace(ct, zero);
  scope.release(zero);
  const conj = he.conjugate(scope, ct, keys.galois);
  he.addInplace(ct, conj);
  scope.release(conj);
}
