/**
 * HeContext: one SEAL context (CKKS or BFV) with its encoder and evaluator, owned by one
 * Scope, and the ONLY place HE operations run — each method counts itself in `stats` and is wrapped
 * in sealGuard. Client, server and evaluation workers each hold one.
 *
 * Wire format of a ciphertext: an 8-byte envelope ['P','C', version 1, role, fingerprint
 * u32 LE of the CkksParams] followed by SEAL's own serialisation (zstd-compressed). The
 * fingerprint lets a ciphertext made under other parameters fail fast as PARAMS_MISMATCH
 * before SEAL parses it; SEAL's loader then validates the rest (CIPHERTEXT_INVALID).
 * Role `null` = SEAL's bare serialisation without the envelope: only CryptoNets, whose client
 * and server are one process under one parameter set, uses it (its reported bytes are SEAL's).
 */
import type {
  BatchEncoder,
  Ciphertext,
  Decryptor,
  Encryptor,
  GaloisKeys,
  ParmsIdType,
  Plaintext,
  CKKSEncoder,
  Evaluator,
  RelinKeys,
  SEALContext,
} from 'node-seal';
import { PpnnError } from '../errors.ts';
import { paramsFingerprint, validateNetworkParams, validateParams } from './params.ts';
import type { CkksNetworkParams, CkksParams } from './params.ts';
import { bfvFingerprint, validateBfvParams } from './bfv-params.ts';
import type { BfvParams } from './bfv-params.ts';
import { Scope, loadSeal, sealGuard } from './seal.ts';
import type { Seal } from './seal.ts';
import { StatsRecorder, type OpName } from './stats.ts';

const ENVELOPE_BYTES = 8;
export const ROLE_BYTE = { mask: 1, share: 2, product: 3, partial: 4 } as const;
export type WireRole = keyof typeof ROLE_BYTE;

/** Parameters of either scheme the engine runs (a CKKS session's, a whole network's, BFV's). */
export type HeParams = CkksParams | CkksNetworkParams | BfvParams;

export class HeContext<Params extends HeParams = CkksParams> {
  readonly seal: Seal;
  readonly params: Params;
  readonly scope = new Scope();
  readonly stats = new StatsRecorder();
  readonly context: SEALContext;
  /** CKKS only */
  readonly encoder!: CKKSEncoder;
  /** BFV only: slot i of row 0 is element i, rows rotate cyclically over `slots` = N/2 */
  readonly batch!: BatchEncoder;
  readonly evaluator: Evaluator;
  readonly slots: number;
  /** Δ = 2^scaleBits */
  readonly scale: number;
  /** prime values q0, q1, … (data primes only), as doubles: used as exact plaintext scales */
  readonly primes: readonly number[];
  /** the same primes exactly (BFV noise flooding edits coefficients mod each prime) */
  readonly primeValues: readonly bigint[];
  readonly fingerprint: number;
  /** parms ids by chain index (0 = only q0 left; params.depth = top data level) */
  readonly #levels: ParmsIdType[] = [];

  private constructor(seal: Seal, params: Params) {
    this.seal = seal;
    this.params = params;
    const bfv = params.scheme === 'bfv';
    this.fingerprint = bfv ? bfvFingerprint(params) : paramsFingerprint(params);
    this.scale = bfv ? 1 : 2 ** params.scaleBits;
    const s = this.scope;
    try {
      this.context = sealGuard(
        `creating the ${params.scheme.toUpperCase()} context`,
        () => {
          const parms = s.own(new seal.EncryptionParameters(bfv ? seal.SchemeType.bfv : seal.SchemeType.ckks));
          parms.setPolyModulusDegree(params.polyModulusDegree);
          parms.setCoeffModulus(
            s.own(seal.CoeffModulus.Create(params.polyModulusDegree, Int32Array.from(params.coeffModulusBits))),
          );
          if (bfv) parms.setPlainModulus(s.own(new seal.Modulus(BigInt(params.plainModulus))));
          const ctx = s.own(new seal.SEALContext(parms, true, seal.SecLevelType.tc128));
          if (!ctx.parametersSet()) throw new PpnnError('HE_PARAMS', `SEAL rejected the parameters: ${ctx.toHuman()}`);
          return ctx;
        },
        'HE_PARAMS',
      );
      if (bfv) this.batch = s.own(new seal.BatchEncoder(this.context));
      else this.encoder = s.own(new seal.CKKSEncoder(this.context));
      this.evaluator = s.own(new seal.Evaluator(this.context));
      // BFV: one row of the 2 × N/2 batching matrix, so rotations act as CKKS's do
      this.slots = bfv ? this.batch.slotCount() / 2 : this.encoder.slotCount();
      const primes: number[] = [],
        primeValues: bigint[] = [];
      sealGuard('reading the modulus chain', () => {
        let data = s.own(this.context.firstContextData());
        const moduli = s.own(s.own(data.parms()).coeffModulus());
        for (let i = 0; i < moduli.size(); i++) primeValues.push(s.own(moduli.get(i)!).value());
        for (const q of primeValues) primes.push(Number(q));
        for (;;) {
          this.#levels[data.chainIndex()] = s.own(data.parmsId());
          if (data.chainIndex() === 0) break;
          data = s.own(data.nextContextData());
        }
      });
      this.primes = primes;
      this.primeValues = primeValues;
      const depth = params.scheme === 'bfv' ? params.coeffModulusBits.length - 2 : params.depth;
      if (this.#levels.length !== depth + 1)
        throw new PpnnError('HE_PARAMS', `modulus chain has ${this.#levels.length} data levels, expected ${depth + 1}`);
    } catch (e) {
      s.free();
      throw e;
    }
  }

  /** Build the context for `params` (validated first: HE_PARAMS on an insecure/bad set). */
  static async create<P extends HeParams = CkksParams>(params: P): Promise<HeContext<P>> {
    if (params.scheme === 'bfv') validateBfvParams(params);
    else if ('purpose' in params) validateNetworkParams(params);
    else validateParams(params);
    const seal = await loadSeal();
    return new HeContext<P>(seal, params);
  }

  get topLevel(): number {
    return this.#levels.length - 1;
  }

  parmsIdAt(level: number): ParmsIdType {
    const p = this.#levels[level];
    if (!p) throw new PpnnError('INTERNAL', `no data level ${level}`);
    return p;
  }

  levelOf(ct: Ciphertext): number {
    return sealGuard('reading a ciphertext level', () => withData(this, ct.parmsId(), (d) => d.chainIndex()));
  }

  /** Encode `values` (zero-padded to the slot count) at `scale`, brought down to `level`. */
  encode(scope: Scope, values: Float64Array, scale: number, level: number): Plaintext {
    if (values.length > this.slots)
      throw new PpnnError('INTERNAL', `encode: ${values.length} values > ${this.slots} slots`);
    return sealGuard('encoding', () => {
      const pt = scope.own(new this.seal.Plaintext());
      this.encoder.encode(values, scale, pt);
      if (level < this.topLevel) this.evaluator.plainModSwitchToInplace(pt, this.parmsIdAt(level));
      this.stats.count('encodes');
      return pt;
    });
  }

  /**
   * BFV: encode integers in [0, t) (zero-padded; `slots` = row 0, `rowTwo` fills row 1 too)
   * at `level`. The values are Float64Array integers, as core/ring keeps them.
   */
  encodeInts(scope: Scope, values: Float64Array, level: number, rowTwo?: Float64Array): Plaintext {
    const full = this.batch.slotCount();
    if (values.length > this.slots || (rowTwo && rowTwo.length > this.slots))
      throw new PpnnError('INTERNAL', `encodeInts: more values than ${this.slots} slots per row`);
    const v = new BigUint64Array(full);
    for (let i = 0; i < values.length; i++) v[i] = BigInt(values[i]!);
    if (rowTwo) for (let i = 0; i < rowTwo.length; i++) v[this.slots + i] = BigInt(rowTwo[i]!);
    return sealGuard('encoding', () => {
      const pt = scope.own(new this.seal.Plaintext());
      this.batch.encode(v, pt);
      if (level < this.topLevel) this.evaluator.plainModSwitchToInplace(pt, this.parmsIdAt(level));
      this.stats.count('encodes');
      return pt;
    });
  }

  /** BFV: all N slots (row 0 then row 1) as integers in [0, t). */
  decodeInts(pt: Plaintext): Float64Array {
    return sealGuard('decoding', () => Float64Array.from(this.batch.decodeBigUint64(pt) as BigUint64Array, Number));
  }

  decode(pt: Plaintext): Float64Array {
    return sealGuard('decoding', () => this.encoder.decodeFloat64(pt) as Float64Array);
  }

  /** Symmetric seeded encryption of `pt`, serialised with zstd and enveloped (bare when `role` is null). */
  encryptSymmetricBytes(encryptor: Encryptor, pt: Plaintext, role: WireRole | null): Uint8Array {
    return sealGuard('encrypting', () => {
      const ser = encryptor.encryptSymmetricSerializable(pt);
      try {
        this.stats.count('encryptions');
        return this.envelope(ser.saveToArray(this.seal.ComprModeType.zstd) as Uint8Array, role);
      } finally {
        ser.delete();
      }
    });
  }

  /** `ct` serialised (zstd unless `compress` is false) and enveloped (bare when `role` is null). */
  saveBytes(ct: Ciphertext, role: WireRole | null, compress = true): Uint8Array {
    return sealGuard('serialising a ciphertext', () =>
      this.envelope(
        ct.saveToArray(compress ? this.seal.ComprModeType.zstd : this.seal.ComprModeType.none) as Uint8Array,
        role,
      ),
    );
  }

  private envelope(body: Uint8Array, role: WireRole | null): Uint8Array {
    if (role === null) return body;
    const out = new Uint8Array(ENVELOPE_BYTES + body.length);
    out[0] = 0x50;
    out[1] = 0x43;
    out[2] = 1;
    out[3] = ROLE_BYTE[role];
    new DataView(out.buffer).setUint32(4, this.fingerprint, true);
    out.set(body, ENVELOPE_BYTES);
    return out;
  }

  /**
   * Load peer bytes as a ciphertext of this context. Throws PARAMS_MISMATCH (other
   * parameters / wrong level), CIPHERTEXT_INVALID (not a ciphertext, truncated, corrupt,
   * wrong role, not a fresh 2-component NTT ciphertext). Never lets a WASM error escape.
   * Role null: bare SEAL bytes (no envelope to check; SEAL's loader still validates them).
   */
  loadBytes(
    scope: Scope,
    bytes: Uint8Array,
    role: WireRole | null,
    expectLevel: number | undefined,
    what: string,
  ): Ciphertext {
    if (role === null && !(bytes instanceof Uint8Array))
      throw new PpnnError('CIPHERTEXT_INVALID', `${what}: expected a Uint8Array`);
    if (role !== null) this.checkEnvelope(bytes, role, what);
    const body = role === null ? bytes : bytes.subarray(ENVELOPE_BYTES);
    const ct = scope.own(new this.seal.Ciphertext());
    sealGuard(what, () => ct.loadFromArray(this.context, body), 'CIPHERTEXT_INVALID');
    const level = this.levelOf(ct);
    // CKKS keeps ciphertexts in NTT form, BFV in coefficient form
    if (ct.size() !== 2 || ct.isNttForm() !== (this.params.scheme === 'ckks'))
      throw new PpnnError(
        'CIPHERTEXT_INVALID',
        `${what}: expected a fresh 2-component ${this.params.scheme.toUpperCase()} ciphertext`,
      );
    if (expectLevel !== undefined && level !== expectLevel)
      throw new PpnnError('PARAMS_MISMATCH', `${what}: at level ${level}, expected ${expectLevel}`);
    return ct;
  }

  /** Cheap check of the envelope only (type, magic, parameter fingerprint, role); see loadBytes. */
  checkEnvelope(bytes: Uint8Array, role: WireRole, what: string): void {
    if (!(bytes instanceof Uint8Array)) throw new PpnnError('CIPHERTEXT_INVALID', `${what}: expected a Uint8Array`);
    if (bytes.length <= ENVELOPE_BYTES || bytes[0] !== 0x50 || bytes[1] !== 0x43 || bytes[2] !== 1)
      throw new PpnnError('CIPHERTEXT_INVALID', `${what}: not a PPNN ciphertext (bad envelope, ${bytes.length} bytes)`);
    const fp = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4, true);
    if (fp !== this.fingerprint)
      throw new PpnnError(
        'PARAMS_MISMATCH',
        `${what}: made under other ${this.params.scheme.toUpperCase()} parameters (fingerprint ${fp.toString(16)} ≠ ` +
          `${this.fingerprint.toString(16)})`,
      );
    if (bytes[3] !== ROLE_BYTE[role])
      throw new PpnnError('CIPHERTEXT_INVALID', `${what}: expected a '${role}' ciphertext`);
  }

  // ---- counted evaluator operations (all in-place on `dest` or returning a new owned ct) ----

  /**
   * The one wrapper of every operation that makes a new ciphertext: owned by `scope`,
   * counted as `op`, SEAL exceptions translated (naming `what`).
   */
  #fresh(scope: Scope, what: string, op: OpName, run: (out: Ciphertext) => void): Ciphertext {
    return sealGuard(what, () => {
      const out = scope.own(new this.seal.Ciphertext());
      run(out);
      this.stats.count(op);
      return out;
    });
  }

  /** The one wrapper of every in-place operation: SEAL exceptions translated (naming `what`), counted as `op`. */
  #inplace(what: string, op: OpName, run: () => void): void {
    sealGuard(what, run);
    this.stats.count(op);
  }

  mulPlain(scope: Scope, ct: Ciphertext, pt: Plaintext): Ciphertext {
    return this.#fresh(scope, 'ct×pt multiply', 'ctPtMul', (out) => this.evaluator.multiplyPlain(ct, pt, out));
  }

  /** out = ct·pt into an existing ciphertext (a scratch accumulator term: no allocation per product). */
  mulPlainTo(ct: Ciphertext, pt: Plaintext, out: Ciphertext): void {
    this.#inplace('ct×pt multiply', 'ctPtMul', () => this.evaluator.multiplyPlain(ct, pt, out));
  }

  /** acc += x (ciphertexts at the same level and scale) */
  addInplace(acc: Ciphertext, x: Ciphertext): void {
    this.#inplace('add', 'additions', () => this.evaluator.addInplace(acc, x));
  }

  addPlainInplace(acc: Ciphertext, pt: Plaintext): void {
    this.#inplace('add plain', 'additions', () => this.evaluator.addPlainInplace(acc, pt));
  }

  /** ct² as a new 3-component ciphertext (a ct×ct multiplication; relinearize next). */
  square(scope: Scope, ct: Ciphertext): Ciphertext {
    return this.#fresh(scope, 'ct×ct multiply (square)', 'ctCtMul', (out) => this.evaluator.square(ct, out));
  }

  /** a·b as a new 3-component ciphertext (same level and scale; relinearize next). */
  mulCipher(scope: Scope, a: Ciphertext, b: Ciphertext): Ciphertext {
    return this.#fresh(scope, 'ct×ct multiply', 'ctCtMul', (out) => this.evaluator.multiply(a, b, out));
  }

  /** a ← a·b (3 components; relinearize next). */
  mulCipherInplace(a: Ciphertext, b: Ciphertext): void {
    this.#inplace('ct×ct multiply', 'ctCtMul', () => this.evaluator.multiplyInplace(a, b));
  }

  /** Back to 2 components after a ct×ct multiplication (key switch with the relinearization keys). */
  relinearizeInplace(ct: Ciphertext, keys: RelinKeys): void {
    this.#inplace('relinearization', 'relinearizations', () => this.evaluator.relinearizeInplace(ct, keys));
  }

  rotate(scope: Scope, ct: Ciphertext, steps: number, keys: GaloisKeys): Ciphertext {
    return this.#fresh(scope, `rotation by ${steps}`, 'rotations', (out) => {
      if (this.params.scheme === 'bfv') this.evaluator.rotateRows(ct, steps, keys, out);
      else this.evaluator.rotateVector(ct, steps, keys, out);
    });
  }

  conjugate(scope: Scope, ct: Ciphertext, keys: GaloisKeys): Ciphertext {
    return this.#fresh(scope, 'conjugation', 'conjugations', (out) => this.evaluator.complexConjugate(ct, keys, out));
  }

  rescaleInplace(ct: Ciphertext): void {
    this.#inplace('rescale', 'rescales', () => this.evaluator.rescaleToNextInplace(ct));
  }

  modSwitchInplace(ct: Ciphertext, level: number): void {
    let now = this.levelOf(ct);
    while (now > level) {
      this.#inplace('mod switch', 'modSwitches', () => this.evaluator.cipherModSwitchToNextInplace(ct));
      now--;
    }
  }

  /** `ct` one level down (its last prime dropped without dividing: the scale is kept), as a new ciphertext. */
  modSwitchToNext(scope: Scope, ct: Ciphertext): Ciphertext {
    return this.#fresh(scope, 'mod switch', 'modSwitches', (out) => this.evaluator.cipherModSwitchToNext(ct, out));
  }

  /** pt ← Dec(ct) with the caller's decryptor (the client's secret key never enters the context). */
  decryptTo(decryptor: Decryptor, ct: Ciphertext, pt: Plaintext): void {
    this.#inplace('decrypting', 'decryptions', () => decryptor.decrypt(ct, pt));
  }

  /** Public-key encryption of zero at `level` with `scale` (re-randomises a result when added). */
  encryptZeroAt(scope: Scope, encryptor: Encryptor, level: number, scale: number): Ciphertext {
    const zero =
      this.params.scheme === 'bfv'
        ? this.encodeInts(scope, new Float64Array(0), level)
        : this.encode(scope, new Float64Array(0), scale, level);
    return this.#fresh(scope, 'encrypting zero', 'zeroEncryptions', (out) => {
      encryptor.encrypt(zero, out);
      scope.release(zero);
    });
  }

  delete(): void {
    this.scope.free();
  }
}

/** Run fn on the ContextData of `pid`, freeing both transient handles. */
function withData<T>(
  he: HeContext<HeParams>,
  pid: ParmsIdType,
  fn: (d: ReturnType<SEALContext['getContextData']>) => T,
): T {
  const s = new Scope();
  try {
    s.own(pid);
    return fn(s.own(he.context.getContextData(pid)));
  } finally {
    s.free();
  }
}
