/**
 * HeClient: the client's half of CKKS preprocessing. Owns the secret key; encrypts its
 * masks r in the layout the plan prescribes (seeded symmetric encryption: the second
 * ciphertext component is a PRNG seed, half the bytes) and decrypts the server's
 * responses into shares M·r − s (and products (M·r)⊙a − t).
 *
 *   client                                        server
 *   encryptMasks(r) ── Enc(layout(r)) ──────────▶ evaluate(W)
 *   decryptShares  ◀── Enc(M·r − s)[, Enc(·⊙a − t)] ──
 */
import type { Decryptor, Encryptor } from 'node-seal';
import { PpnnError } from '../errors.ts';
import type { Shape } from '../model/types.ts';
import { HeContext } from './context.ts';
import { planLayer } from './layout.ts';
import { foldedOutputs } from './client-fold.ts';
import type { HeLayerSpec, HePlan, Layout } from './layout.ts';
import { checkUploadScaleBits, type CkksParams } from './params.ts';
import { sealGuard, withScope } from './seal.ts';
import { encodeSetup } from './setup.ts';
import type { HeStats } from './stats.ts';

export interface EncryptOptions {
  /** CHW input shape of a conv layer (default: square channels inferred from the mask size) */
  readonly inputShape?: Shape;
  /** the server will also compute the correlated product (needs depth 2): encrypt one level higher */
  readonly product?: boolean;
  /**
   * gazelle (online HE): the values are the client's SHARE of the layer input, bounded by
   * params.inputMaxAbs instead of maxAbsValue; with `activation` the server applies it
   * before the linear map (HeServer.evaluateOnShares), so encrypt one level higher.
   */
  readonly online?: { readonly activation: boolean };
  /**
   * preprocessing masks: encrypt at scale Δ·2^b instead of Δ (the precision plan's per-step
   * choice, params.ts maxUploadScaleBits; the server must be told the same b). Default 0.
   */
  readonly uploadScaleBits?: number;
}

export interface DecryptedShares {
  share: Float64Array[];
  product?: Float64Array[];
}

export class HeClient {
  readonly he: HeContext;
  readonly rotationSteps: readonly number[];
  #encryptor: Encryptor;
  #decryptor: Decryptor;
  #setup: Uint8Array;
  readonly #pending = new Map<string, { plan: HePlan; product: boolean }>();
  #deleted = false;

  private constructor(
    he: HeContext,
    steps: readonly number[],
    encryptor: Encryptor,
    decryptor: Decryptor,
    setup: Uint8Array,
  ) {
    this.he = he;
    this.rotationSteps = steps;
    this.#encryptor = encryptor;
    this.#decryptor = decryptor;
    this.#setup = setup;
  }

  /**
   * Keys for `params` (validated: HE_PARAMS), Galois keys for `rotationSteps` (see
   * rotationStepsFor) plus conjugation, and relinearization keys when `relinKeys` (the
   * server squares ciphertexts: gazelle's online activations). Rejects with HE_PARAMS / HE_ERROR.
   */
  static async create(
    params: CkksParams,
    opts: { rotationSteps: readonly number[]; relinKeys?: boolean },
  ): Promise<HeClient> {
    const steps = [...new Set(opts.rotationSteps)];
    for (const s of steps)
      if (!Number.isInteger(s) || s === 0 || Math.abs(s) >= params.polyModulusDegree / 2)
        throw new RangeError(`rotationSteps: ${s} is not a non-zero rotation within the slot count`);
    const he = await HeContext.create(params);
    try {
      const s = he.scope;
      return sealGuard('generating CKKS keys', () => {
        const keygen = s.own(new he.seal.KeyGenerator(he.context));
        const secret = s.own(keygen.secretKey());
        const pkSer = s.own(keygen.createPublicKeySerializable());
        const publicKey = s.own(keygen.createPublicKey()); // the Encryptor's constructor insists on one
        const gkSer = s.own(keygen.createGaloisKeysSerializableWithSteps(Int32Array.from([0, ...steps])));
        const zstd = he.seal.ComprModeType.zstd;
        const rkSer = opts.relinKeys ? s.own(keygen.createRelinKeysSerializable()) : undefined;
        const setup = encodeSetup({
          fingerprint: he.fingerprint,
          steps,
          publicKey: pkSer.saveToArray(zstd) as Uint8Array,
          galoisKeys: gkSer.saveToArray(zstd) as Uint8Array,
          relinKeys: rkSer?.saveToArray(zstd) as Uint8Array | undefined,
        });
        s.release(gkSer);
        s.release(pkSer);
        if (rkSer) s.release(rkSer);
        const encryptor = s.own(new he.seal.Encryptor(he.context, publicKey, secret));
        const decryptor = s.own(new he.seal.Decryptor(he.context, secret));
        s.release(keygen);
        return new HeClient(he, steps, encryptor, decryptor, setup);
      });
    } catch (e) {
      he.delete();
      throw e;
    }
  }

  get params(): CkksParams {
    return this.he.params;
  }
  get slots(): number {
    return this.he.slots;
  }

  /** Public key and Galois keys for the server (bytes; send once per session). */
  setupMessage(): Uint8Array {
    this.#alive();
    return this.#setup;
  }

  /**
   * Encrypt the B masks of one layer (B = masks.length) in `layout`. Returns the
   * serialised seeded ciphertexts in plan order. Throws SHAPE_MISMATCH (wrong mask size),
   * RangeError (non-finite or |r| > params.maxAbsValue — params.inputMaxAbs for `online`
   * shares — or product with online), HE_PARAMS (product / online activation needs depth 2
   * or an image does not fit the slots).
   */
  encryptMasks(
    spec: HeLayerSpec,
    masks: readonly Float64Array[],
    layout: Layout,
    opts: EncryptOptions = {},
  ): Uint8Array[] {
    this.#alive();
    if (!Array.isArray(masks) || masks.length === 0)
      throw new RangeError('encryptMasks: masks must be a non-empty array of Float64Array');
    const product = opts.product === true;
    if (product && this.params.depth < 2)
      throw new PpnnError('HE_PARAMS', `layer '${spec.name}': the correlated product needs depth-2 parameters`);
    const online = opts.online;
    if (online && product) throw new RangeError('encryptMasks: product and online cannot be combined');
    if (online?.activation && this.params.depth < 2)
      throw new PpnnError('HE_PARAMS', `layer '${spec.name}': an online activation needs depth-2 parameters`);
    const maxAbs = online ? (this.params.inputMaxAbs ?? this.params.maxAbsValue) : this.params.maxAbsValue;
    const plan = planLayer(spec, {
      images: masks.length,
      slots: this.slots,
      layout,
      inputShape:
        opts.inputShape ?? (spec.kind === 'conv2d' ? squareShape(spec.inChannels, masks[0]?.length ?? 0) : undefined),
      steps: this.rotationSteps,
      product,
      clientFold: !online,
    });
    masks.forEach((r, b) => {
      if (!(r instanceof Float64Array) || r.length !== plan.inputSize)
        throw new PpnnError(
          'SHAPE_MISMATCH',
          `layer '${spec.name}': mask ${b} has ${(r as { length?: number })?.length} values, ` +
            `expected ${plan.inputSize}`,
        );
      for (const x of r)
        if (!(Math.abs(x) <= maxAbs))
          throw new RangeError(
            `encryptMasks: mask ${b} holds ${x}, outside ±${online ? 'inputMaxAbs' : 'maxAbsValue'} ${maxAbs}`,
          );
    });
    const level = product || online?.activation ? 2 : 1;
    // preprocessing masks may go up at Δ·2^b (params.ts maxUploadScaleBits: their fresh noise is
    // then 2^b smaller against the values); gazelle's online shares stay at Δ
    const b = opts.uploadScaleBits ?? 0;
    if (online && b !== 0) throw new RangeError('encryptMasks: uploadScaleBits applies to preprocessing masks only');
    checkUploadScaleBits(this.params, level, b);
    const scale = this.he.scale * 2 ** b;
    const t0 = performance.now();
    this.he.stats.use(spec.name);
    const out = withScope((scope) =>
      plan.inputVectors(masks).map((v) => {
        const pt = this.he.encode(scope, v, scale, level);
        const bytes = this.he.encryptSymmetricBytes(this.#encryptor, pt, 'mask');
        scope.release(pt);
        this.he.stats.record({
          layer: spec.name,
          direction: 'toServer',
          role: 'mask',
          level,
          primes: level + 1,
          bytes: bytes.length,
        });
        return bytes;
      }),
    );
    this.he.stats.addTime(spec.name, performance.now() - t0);
    this.#pending.set(spec.name, { plan, product });
    return out;
  }

  /**
   * Decrypt the server's response for the layer last passed to encryptMasks. Returns
   * share[b] = M·r[b] − s[b] (and product[b] = (M·r[b])⊙a[b] − t[b] when requested).
   * Throws PROTOCOL_VIOLATION (no pending layer / B differs), CIPHERTEXT_INVALID (wrong
   * count, bytes that do not load), PARAMS_MISMATCH (other parameters or level).
   */
  decryptShares(spec: HeLayerSpec, response: readonly Uint8Array[], B: number): DecryptedShares {
    this.#alive();
    const pending = this.#pending.get(spec.name);
    if (!pending)
      throw new PpnnError(
        'PROTOCOL_VIOLATION',
        `decryptShares: no masks were encrypted for layer '${spec.name}' (call encryptMasks first)`,
      );
    const { plan, product } = pending;
    if (B !== plan.images)
      throw new PpnnError(
        'PROTOCOL_VIOLATION',
        `decryptShares: B = ${B} but ${plan.images} masks were encrypted for '${spec.name}'`,
      );
    const nOut = plan.outputs.length;
    if (!Array.isArray(response) || response.length !== nOut * (product ? 2 : 1))
      throw new PpnnError(
        'CIPHERTEXT_INVALID',
        `layer '${spec.name}': expected ${nOut * (product ? 2 : 1)} response ciphertexts, got ` +
          `${(response as { length?: number })?.length}`,
      );
    const t0 = performance.now();
    this.he.stats.use(spec.name);
    const slotsOf = (from: number, role: 'share' | 'product') =>
      response.slice(from, from + nOut).map((bytes, i) => {
        const v = this.decryptRaw(bytes, role, `layer '${spec.name}' ${role} ciphertext ${i}`);
        this.he.stats.record({
          layer: spec.name,
          direction: 'toClient',
          role,
          level: 0,
          primes: 1,
          bytes: bytes.length,
        });
        return v;
      });
    // the plan's output slots, each summed over its fold group when the server left the fold to us
    const extract = (cts: Float64Array[]) => foldedOutputs(plan, B, cts);
    const result: DecryptedShares = { share: extract(slotsOf(0, 'share')) };
    if (product) result.product = extract(slotsOf(nOut, 'product'));
    this.#pending.delete(spec.name);
    this.he.stats.addTime(spec.name, performance.now() - t0);
    return result;
  }

  /**
   * All slots of one response ciphertext (validated: level 0, this context). Used by
   * decryptShares and by the tests that check every slot is masked.
   */
  decryptRaw(bytes: Uint8Array, role: 'share' | 'product' = 'share', what = 'response ciphertext'): Float64Array {
    this.#alive();
    return withScope((scope) => {
      const ct = this.he.loadBytes(scope, bytes, role, 0, what);
      const pt = scope.own(new this.he.seal.Plaintext());
      sealGuard('decrypting', () => this.#decryptor.decrypt(ct, pt));
      this.he.stats.count('decryptions');
      return this.he.decode(pt);
    });
  }

  get stats(): HeStats {
    return this.he.stats.snapshot();
  }

  /** Free every SEAL object (keys, context). Safe to call twice. */
  delete(): void {
    this.#deleted = true;
    this.#pending.clear();
    this.he.delete();
  }

  #alive(): void {
    if (this.#deleted) throw new PpnnError('INTERNAL', 'HeClient used after delete()');
  }
}

function squareShape(c: number, size: number): Shape | undefined {
  const side = Math.round(Math.sqrt(size / c));
  return side * side * c === size ? [c, side, side] : undefined;
}
