/**
 * Constant CKKS plaintexts (the same value in every slot) without the encoder's FFT.
 *
 * CryptoNets multiplies ciphertexts by scalar weights: ~140k distinct products for the
 * bundled MNIST model, and most weights are used once (dense rows) or too spread out to
 * cache (the second convolution: 4608 weights × 0.8 MB). node-seal only exposes the vector
 * encoder, which costs an inverse FFT plus one NTT per prime of the top level (~5 ms at
 * N = 16384) for what is, in NTT form, a constant: a constant polynomial c evaluates to c
 * at every root, so the plaintext is round(value·scale) mod q_i repeated N times for each
 * prime q_i — exactly what SEAL's own scalar `encode(double)` writes. We build those bytes
 * in SEAL's uncompressed serialisation (from a template the encoder produced at that
 * level, so parms id and header come from SEAL itself) and load them (~0.5 ms, validated
 * by SEAL). Each level's template is checked once against the encoder; if the layout ever
 * differs, that level silently uses the encoder instead.
 */
import type { Plaintext } from 'node-seal';
import type { HeContext } from '../he/context.ts';
import type { CkksNetworkParams } from '../he/params.ts';
import { Scope, sealGuard } from '../he/seal.ts';

/** What the constant encoder needs from the engine (HeContext: SEAL objects, exact primes, the encoder). */
export type ConstantContext = Pick<
  HeContext<CkksNetworkParams>,
  'seal' | 'context' | 'slots' | 'primeValues' | 'encode'
>;

/**
 * SEAL serialisation: header (16) + parms id (32) + coeff count (8) + scale (8) + array header (16) + array size (8).
 */
const SCALE_OFFSET = 56;
const DATA_OFFSET = 88;
const SEAL_MAGIC = 0xa15e;

interface Template {
  bytes: Uint8Array;
  scale: DataView;
  data: BigUint64Array;
}

/**
 * Factory of constant plaintexts at any level. `encode` returns a Plaintext owned by the
 * given scope; the encoder itself only holds JS buffers (one ~N·(level+1)·8-byte template
 * per level used) and needs no freeing.
 */
export class ConstantEncoder {
  readonly #he: ConstantContext;
  readonly #templates = new Map<number, Template | null>();
  readonly #n: number;

  constructor(he: ConstantContext) {
    this.#he = he;
    this.#n = he.slots * 2;
  }

  /**
   * Plaintext holding `value` in every slot at `scale`, at chain index `level` (NTT form), owned by `scope`. Throws
   * HE_ERROR.
   */
  encode(scope: Scope, value: number, scale: number, level: number): Plaintext {
    const t = this.#template(level);
    if (!t) return this.#viaEncoder(scope, value, scale, level);
    this.#fill(t, value, scale, level);
    const pt = scope.own(new this.#he.seal.Plaintext());
    sealGuard('loading a constant plaintext', () => pt.loadFromArray(this.#he.context, t.bytes));
    return pt;
  }

  #viaEncoder(scope: Scope, value: number, scale: number, level: number): Plaintext {
    return this.#he.encode(scope, new Float64Array(this.#he.slots).fill(value), scale, level);
  }

  #fill(t: Template, value: number, scale: number, level: number): void {
    t.scale.setFloat64(0, scale, true);
    const v = BigInt(Math.round(value * scale));
    const n = this.#n;
    for (let i = 0; i <= level; i++) {
      const q = this.#he.primeValues[i]!;
      const r = ((v % q) + q) % q;
      t.data.fill(r, i * n, (i + 1) * n);
    }
  }

  /** The level's serialisation template, checked once against the encoder; null = use the encoder. */
  #template(level: number): Template | null {
    let t = this.#templates.get(level);
    if (t !== undefined) return t;
    t = null;
    const scope = new Scope();
    try {
      const probe = 0.123456789,
        scale = 2 ** 30;
      const ref = this.#viaEncoder(scope, probe, scale, level);
      const raw = sealGuard(
        'serialising a plaintext',
        () => ref.saveToArray(this.#he.seal.ComprModeType.none) as Uint8Array,
      );
      const bytes = new Uint8Array(raw.length); // own, 8-byte aligned buffer
      bytes.set(raw);
      const view = new DataView(bytes.buffer);
      const words = this.#n * (level + 1);
      const ok =
        bytes.length === DATA_OFFSET + words * 8 &&
        view.getUint16(0, true) === SEAL_MAGIC &&
        view.getUint8(5) === 0 &&
        view.getBigUint64(48, true) === BigInt(words) &&
        view.getUint16(64, true) === SEAL_MAGIC &&
        view.getBigUint64(80, true) === BigInt(words);
      if (ok) {
        const cand: Template = {
          bytes,
          scale: new DataView(bytes.buffer, SCALE_OFFSET, 8),
          data: new BigUint64Array(bytes.buffer, DATA_OFFSET, words),
        };
        const expected = cand.data.slice();
        this.#fill(cand, probe, scale, level);
        if (cand.data.every((x, k) => x === expected[k]) && view.getFloat64(SCALE_OFFSET, true) === scale) t = cand;
      }
    } finally {
      scope.free();
    }
    this.#templates.set(level, t);
    return t;
  }
}
