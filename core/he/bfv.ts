// Long file: BfvClient and BfvServer are the two halves of one exchange (same layouts, same wire roles, same
// circuit-privacy finish) and are checked against each other line by line; splitting them would put the
// encoding and its decoding in different files. Owned by the ring engineer this round (issue 11).
/**
 * BFV preprocessing for the ring schemes: exact linear maps and element-wise products
 * mod p = t on the same engine (HeContext) and the same slot layouts (layout.ts) as the
 * CKKS path — a layout only places numbers, so the integer weights of core/ring go
 * through it unchanged.
 *
 *   client (BfvClient)                                  server (BfvServer)
 *   encrypt(layout(r))  ── Enc(r) ─────────────────────▶ Σ w ⊙ rot(Enc(r)), folds, − s
 *                                                       + Enc_pk(0), mod switch, flood
 *   decrypt  ◀──────────── Enc(M·r − s mod p) ───────────
 *   encrypt(ρ_k)        ── Enc(ρ_k) ───────────────────▶ Σ_k Enc(ρ_k) ⊙ B_k − μ  (same finish)
 *   decrypt  ◀──────────── Enc(Σ ρ_k·B_k − μ) ───────────
 *
 * Circuit privacy of every returned ciphertext (docs/HE.md, bfv-params.ts): fresh c1 by
 * adding a public-key encryption of zero, then noise flooding of c0 by ±2^floodBits after
 * the switch to `sendPrimes` primes: statistical distance ≤ 2^-circuitPrivacyBits.
 * Flooding edits SEAL's own serialisation: an uncompressed BFV ciphertext ends with its
 * two polynomials in coefficient form, prime by prime (N words each), c0 first.
 */
import { randomFillSync } from 'node:crypto';
import type { Ciphertext, Decryptor, Encryptor, GaloisKeys, Plaintext } from 'node-seal';
import { PpnnError } from '../errors.ts';
import { NTT_WEIGHT_BUDGET, NttInputs, accumulateNtt } from './bfv-ntt.ts';
import type { BfvParams } from './bfv-params.ts';
import { HeContext } from './context.ts';
import type { WireRole } from './context.ts';
import type { HePlan } from './layout.ts';
import { Scope, sealGuard, withScope } from './seal.ts';
import { decodeSetup, encodeSetup } from './setup.ts';
import type { HeStats } from './stats.ts';

type BfvContext = HeContext<BfvParams>;

/** Slot vectors of a plan's inputs, as ring elements (row 0 of each ciphertext). */
export type SlotVectors = readonly Float64Array[];

/** What both halves hold alike: the engine, its statistics and the use-after-delete check. */
abstract class BfvParty {
  readonly he: BfvContext;
  readonly #name: string;
  #deleted = false;

  protected constructor(he: BfvContext, name: string) {
    this.he = he;
    this.#name = name;
  }

  get stats(): HeStats {
    return this.he.stats.snapshot();
  }

  /** Free SEAL objects (safe to call twice). */
  delete(): void {
    this.#deleted = true;
    this.he.delete();
  }

  protected alive(): void {
    if (this.#deleted) throw new PpnnError('INTERNAL', `${this.#name} used after delete()`);
  }
}

export class BfvClient extends BfvParty {
  #encryptor: Encryptor;
  #decryptor: Decryptor;
  #setup: Uint8Array;

  /** Galois steps of the keys sent: plans are chosen among the layouts these allow */
  readonly steps: readonly number[];

  private constructor(
    he: BfvContext,
    encryptor: Encryptor,
    decryptor: Decryptor,
    setup: Uint8Array,
    steps: readonly number[],
  ) {
    super(he, 'BfvClient');
    this.steps = steps;
    this.#encryptor = encryptor;
    this.#decryptor = decryptor;
    this.#setup = setup;
  }

  /** Keys for `params` (validated: HE_PARAMS), Galois keys for `rotationSteps` only. */
  static async create(params: BfvParams, rotationSteps: readonly number[]): Promise<BfvClient> {
    const steps = [...new Set(rotationSteps)];
    for (const s of steps)
      if (!Number.isInteger(s) || s === 0 || Math.abs(s) >= params.polyModulusDegree / 2)
        throw new RangeError(`rotationSteps: ${s} is not a non-zero row rotation`);
    const he = await HeContext.create(params);
    try {
      const s = he.scope;
      return sealGuard('generating BFV keys', () => {
        const keygen = s.own(new he.seal.KeyGenerator(he.context));
        const secret = s.own(keygen.secretKey());
        const pkSer = s.own(keygen.createPublicKeySerializable());
        const publicKey = s.own(keygen.createPublicKey());
        const gkSer = s.own(keygen.createGaloisKeysSerializableWithSteps(Int32Array.from(steps.length ? steps : [1])));
        const zstd = he.seal.ComprModeType.zstd;
        const setup = encodeSetup({
          fingerprint: he.fingerprint,
          steps,
          publicKey: pkSer.saveToArray(zstd) as Uint8Array,
          galoisKeys: gkSer.saveToArray(zstd) as Uint8Array,
        });
        s.release(gkSer);
        s.release(pkSer);
        const encryptor = s.own(new he.seal.Encryptor(he.context, publicKey, secret));
        const decryptor = s.own(new he.seal.Decryptor(he.context, secret));
        s.release(keygen);
        return new BfvClient(he, encryptor, decryptor, setup, steps);
      });
    } catch (e) {
      he.delete();
      throw e;
    }
  }

  /** Public key and Galois keys for the server (send once per session). */
  setupMessage(): Uint8Array {
    this.alive();
    return this.#setup;
  }

  /**
   * Seeded symmetric encryptions of `vectors` (ring elements, ≤ N values each: the first
   * N/2 in row 0, the rest in row 1) at the top level. Counted under `layer`.
   */
  encrypt(layer: string, vectors: readonly Float64Array[]): Uint8Array[] {
    this.alive();
    const t0 = performance.now();
    const S = this.he.slots,
      top = this.he.topLevel;
    this.he.stats.use(layer);
    const out = withScope((scope) =>
      vectors.map((v) => {
        const pt = this.he.encodeInts(scope, v.subarray(0, S), top, v.length > S ? v.subarray(S) : undefined);
        const bytes = this.he.encryptSymmetricBytes(this.#encryptor, pt, 'mask');
        scope.release(pt);
        this.he.stats.record({
          layer,
          direction: 'toServer',
          role: 'mask',
          level: top,
          primes: top + 1,
          bytes: bytes.length,
        });
        return bytes;
      }),
    );
    this.he.stats.addTime(layer, performance.now() - t0);
    return out;
  }

  /** Decrypt response ciphertexts (at the parameters' send level) into all N slots each. */
  decrypt(layer: string, response: readonly Uint8Array[], count: number, role: WireRole = 'share'): Float64Array[] {
    this.alive();
    if (!Array.isArray(response) || response.length !== count)
      throw new PpnnError(
        'CIPHERTEXT_INVALID',
        `layer '${layer}': expected ${count} ciphertexts, got ${(response as { length?: number })?.length}`,
      );
    const t0 = performance.now();
    this.he.stats.use(layer);
    const level = this.he.params.sendPrimes - 1;
    const out = withScope((scope) =>
      response.map((bytes, i) => {
        const ct = this.he.loadBytes(scope, bytes, role, level, `layer '${layer}' response ${i}`);
        this.he.stats.record({
          layer,
          direction: 'toClient',
          role: role === 'product' ? 'product' : 'share',
          level,
          primes: level + 1,
          bytes: bytes.length,
        });
        const pt = scope.own(new this.he.seal.Plaintext());
        sealGuard('decrypting', () => this.#decryptor.decrypt(ct, pt));
        this.he.stats.count('decryptions');
        const v = this.he.decodeInts(pt);
        scope.release(pt);
        scope.release(ct);
        return v;
      }),
    );
    this.he.stats.addTime(layer, performance.now() - t0);
    return out;
  }

  /** Remaining invariant noise budget of a response (tests: flooding leaves decryption correct). */
  noiseBudget(bytes: Uint8Array, role: WireRole = 'share'): number {
    return withScope((scope) => {
      const ct = this.he.loadBytes(scope, bytes, role, this.he.params.sendPrimes - 1, 'noise budget');
      return sealGuard('noise budget', () => this.#decryptor.invariantNoiseBudget(ct));
    });
  }
}

/** One output of an element-wise job: Σ_k input[k] ⊙ factor[k] − mask, all N slots. */
export interface ElementwiseOutput {
  readonly inputs: readonly number[];
  readonly factors: readonly Float64Array[];
  readonly negMask: Float64Array;
}

export class BfvServer extends BfvParty {
  readonly #galois: GaloisKeys;
  readonly #encryptor: Encryptor;
  /** weight plaintexts (NTT form, owned by the context's scope) by layer, plan and id; bytes kept */
  readonly #weights = new Map<string, Plaintext | null>();
  #weightBytes = 0;

  /** Galois steps of the client's keys: plans are chosen among the layouts these allow */
  readonly steps: readonly number[];

  private constructor(he: BfvContext, galois: GaloisKeys, encryptor: Encryptor, steps: readonly number[]) {
    super(he, 'BfvServer');
    this.steps = steps;
    this.#galois = galois;
    this.#encryptor = encryptor;
  }

  /** Load the client's set-up message. Throws PARAMS_MISMATCH, CIPHERTEXT_INVALID, HE_PARAMS. */
  static async create(params: BfvParams, setupMessage: Uint8Array): Promise<BfvServer> {
    const he = await HeContext.create(params);
    try {
      const parts = decodeSetup(setupMessage, he.fingerprint);
      const s = he.scope;
      const pk = s.own(new he.seal.PublicKey());
      sealGuard('loading the public key', () => pk.loadFromArray(he.context, parts.publicKey), 'CIPHERTEXT_INVALID');
      const galois = s.own(new he.seal.GaloisKeys());
      sealGuard(
        'loading the Galois keys',
        () => galois.loadFromArray(he.context, parts.galoisKeys),
        'CIPHERTEXT_INVALID',
      );
      const encryptor = sealGuard('creating the encryptor', () => s.own(new he.seal.Encryptor(he.context, pk)));
      return new BfvServer(he, galois, encryptor, parts.steps);
    } catch (e) {
      he.delete();
      throw e;
    }
  }

  /**
   * Enc(M·r − s) for one layer under `plan`: `weight` holds the layer's signed integer
   * weights (layout order of the layer), `negMasks[o]` the N slot values −s of output o.
   * Returns the circuit-private response ciphertexts in plan order.
   */
  linear(
    layer: string,
    plan: HePlan,
    weight: Float64Array,
    request: readonly Uint8Array[],
    negMasks: readonly Float64Array[],
  ): Uint8Array[] {
    this.alive();
    if (!Array.isArray(request) || request.length !== plan.inputCount)
      throw new PpnnError(
        'CIPHERTEXT_INVALID',
        `layer '${layer}': expected ${plan.inputCount} ciphertexts, got ${(request as { length?: number })?.length}`,
      );
    const he = this.he,
      top = he.topLevel;
    return this.#evaluate(layer, request, (scope, inputs) => {
      // weight plaintexts in NTT form, kept for the session (the same full-batch plan recurs every batch)
      const planKey = `${layer}|${plan.description}|${plan.images}|`;
      const pts = new Map<number, ReturnType<BfvContext['encodeInts']> | null>();
      const plaintext = (id: number) => {
        let pt = pts.get(id) ?? this.#weights.get(planKey + id);
        if (pt === undefined) {
          const v = plan.weightVector(weight, id);
          const keep = this.#weightBytes < NTT_WEIGHT_BUDGET;
          pt = v ? he.encodeInts(keep ? he.scope : scope, toRing(v, he.params.plainModulus), top) : null;
          if (pt) he.evaluator.plainTransformToNttInplace(pt, he.parmsIdAt(top));
          if (keep) {
            this.#weights.set(planKey + id, pt);
            if (pt) this.#weightBytes += 8 * he.params.polyModulusDegree * (top + 1);
          }
          pts.set(id, pt);
        }
        return pt;
      };
      const rotated = new NttInputs({
        he,
        scope,
        keys: this.#galois,
        input: (i) => inputs[i]!,
        outputs: plan.outputs,
        babyStep: plan.babyStep,
        used: (id) => plaintext(id) !== null,
      });
      return plan.outputs.map((o, k) => {
        const acc = accumulateNtt(he, scope, this.#galois, o, rotated, plaintext);
        const ct = acc ?? he.encryptZeroAt(scope, this.#encryptor, top, 1);
        for (const s of o.foldSteps) {
          const r = he.rotate(scope, ct, s, this.#galois);
          he.addInplace(ct, r);
          scope.release(r);
        }
        const bytes = this.#finish(scope, ct, negMasks[k]!, layer, 'share');
        scope.release(ct);
        return bytes;
      });
    });
  }

  /** Element-wise products Σ_k Enc(x_k) ⊙ B_k − μ (client ciphertexts at the top level). */
  elementwise(
    layer: string,
    request: readonly Uint8Array[],
    outputs: readonly ElementwiseOutput[],
    role: WireRole = 'product',
  ): Uint8Array[] {
    this.alive();
    const he = this.he,
      top = he.topLevel,
      S = he.slots;
    return this.#evaluate(layer, request, (scope, inputs) =>
      outputs.map((o) => {
        let acc: Ciphertext | null = null;
        o.inputs.forEach((idx, k) => {
          const x = inputs[idx];
          if (!x) throw new PpnnError('CIPHERTEXT_INVALID', `layer '${layer}': missing input ciphertext ${idx}`);
          const f = o.factors[k]!;
          const pt = he.encodeInts(scope, f.subarray(0, S), top, f.length > S ? f.subarray(S) : undefined);
          const prod = he.mulPlain(scope, x, pt);
          scope.release(pt);
          if (acc) {
            he.addInplace(acc, prod);
            scope.release(prod);
          } else acc = prod;
        });
        if (!acc) throw new PpnnError('INTERNAL', 'elementwise output without inputs');
        const bytes = this.#finish(scope, acc, o.negMask, layer, role);
        scope.release(acc);
        return bytes;
      }),
    );
  }

  /** − s in every slot, re-randomise, mod switch to the send level, flood, serialise. */
  /**
   * One evaluation of `layer`: its request's Enc(r) loaded and recorded, `body` run over them
   * in a scope freed whatever happens, the time added to the layer's stats.
   */
  #evaluate<T>(layer: string, request: readonly Uint8Array[], body: (scope: Scope, inputs: Ciphertext[]) => T): T {
    const t0 = performance.now();
    this.he.stats.use(layer);
    const scope = new Scope();
    try {
      const out = body(scope, this.#loadMasks(scope, layer, request));
      this.he.stats.addTime(layer, performance.now() - t0);
      return out;
    } finally {
      scope.free();
    }
  }

  /** The client's Enc(r) of one request, loaded at the top level and recorded as uploads. */
  #loadMasks(scope: Scope, layer: string, request: readonly Uint8Array[]): Ciphertext[] {
    const he = this.he,
      top = he.topLevel;
    return request.map((b, i) => {
      he.stats.record({ layer, direction: 'toServer', role: 'mask', level: top, primes: top + 1, bytes: b.length });
      return he.loadBytes(scope, b, 'mask', top, `layer '${layer}' ciphertext ${i}`);
    });
  }

  #finish(scope: Scope, ct: Ciphertext, negMask: Float64Array, layer: string, role: WireRole): Uint8Array {
    const he = this.he,
      S = he.slots,
      top = he.topLevel;
    const m = he.encodeInts(scope, negMask.subarray(0, S), top, negMask.subarray(S));
    he.addPlainInplace(ct, m);
    scope.release(m);
    const zero = he.encryptZeroAt(scope, this.#encryptor, top, 1);
    he.addInplace(ct, zero);
    scope.release(zero);
    const level = he.params.sendPrimes - 1;
    he.modSwitchInplace(ct, level);
    const flooded = floodNoise(he, scope, ct);
    const bytes = he.saveBytes(flooded, role);
    scope.release(flooded);
    he.stats.record({
      layer,
      direction: 'toClient',
      role: role === 'product' ? 'product' : 'share',
      level,
      primes: level + 1,
      bytes: bytes.length,
    });
    return bytes;
  }
}

/** Signed integers → ring elements mod t. */
function toRing(v: Float64Array, t: number): Float64Array {
  const out = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const x = v[i]! % t;
    out[i] = x < 0 ? x + t : x;
  }
  return out;
}

/**
 * A copy of `ct` whose c0 carries an extra independent uniform integer in
 * [−2^floodBits, 2^floodBits) per coefficient (the same integer mod every prime).
 */
export function floodNoise(he: BfvContext, scope: Scope, ct: Ciphertext): Ciphertext {
  const n = he.params.polyModulusDegree,
    L = ct.coeffModulusSize();
  const raw = sealGuard('serialising for flooding', () => ct.saveToArray(he.seal.ComprModeType.none) as Uint8Array);
  const words = 2 * n * L,
    start = raw.length - 8 * words;
  if (start < 0 || ct.size() !== 2) throw new PpnnError('INTERNAL', 'flooding: unexpected ciphertext layout');
  const data = new BigUint64Array(words);
  new Uint8Array(data.buffer).set(raw.subarray(start));
  const bits = he.params.floodBits,
    limbs = Math.ceil((bits + 1) / 32);
  const rnd = new Uint32Array(n * limbs);
  randomFillSync(rnd);
  const topBits = (bits + 1) % 32 || 32,
    half = 1n << BigInt(bits);
  const top = (w: number): number => (topBits === 32 ? w : (w & ((1 << topBits) - 1)) >>> 0);
  const primes = he.primeValues.slice(0, L);
  for (let j = 0; j < n; j++) {
    let e = 0n;
    for (let k = limbs - 1; k >= 0; k--)
      e = (e << 32n) | BigInt(k === limbs - 1 ? top(rnd[j * limbs + k]!) : rnd[j * limbs + k]!);
    e -= half;
    for (let i = 0; i < L; i++) {
      const q = primes[i]!,
        idx = i * n + j;
      let r = (data[idx]! + (e % q)) % q;
      if (r < 0n) r += q;
      data[idx] = r;
    }
  }
  raw.set(new Uint8Array(data.buffer), start);
  const out = scope.own(new he.seal.Ciphertext());
  sealGuard('loading the flooded ciphertext', () => out.loadFromArray(he.context, raw));
  return out;
}
