/**
 * 128-bit blocks and the one hash every garbled gate and every extended OT uses.
 *
 * A block is 16 bytes, seen as four little-endian u32 words w0..w3; the low half R is
 * (w0, w1), the high half L is (w2, w3). Blocks live packed in Uint32Array buffers, four
 * words each, so a whole layer of gates is one contiguous buffer.
 *
 * The hash is the tweakable circular-correlation-robust (TCCR) hash of Guo, Katz, Wang and
 * Yu ("Efficient and Secure Multiparty Computation from Fixed-Key Block Ciphers", IEEE S&P
 * 2020, §7.3, the MMO-style construction):
 *
 *   H(x, i) = π(σ(x) ⊕ i) ⊕ σ(x),   σ(L ∥ R) = (L ⊕ R) ∥ L,
 *
 * with π = AES-128 under a fixed public key (the ideal-permutation model) and σ a linear
 * orthomorphism (σ and x ↦ σ(x) ⊕ x are both permutations). The tweak i is the gate or OT
 * index, so every call under one secret offset Δ (free-XOR) or s (IKNP) has a distinct
 * tweak; the top word of the tweak separates the garbling and OT domains.
 *
 * Why fixed-key AES rather than SHA-256: node:crypto runs AES-NI on many blocks per call
 * (one `update` per batch), ~50× cheaper per block than a SHA-256 call from JavaScript,
 * and GKWY prove this construction secure for half-gates and for IKNP (TCCR implies the
 * correlation robustness IKNP needs).
 */
import { createCipheriv, randomFillSync } from 'node:crypto';

type Cipheriv = ReturnType<typeof createCipheriv>;

/** Words per 128-bit block. */
export const BLOCK_WORDS = 4;
/** Bytes per 128-bit block. */
export const BLOCK_BYTES = 16;

/** The fixed public AES key: an arbitrary public constant (the proofs need no secret key, only a fixed one). */
export const FIXED_KEY = Uint8Array.from([
  0x61, 0x7a, 0x2f, 0x3c, 0x9b, 0x1d, 0x4e, 0x85, 0x0c, 0xd3, 0x72, 0x5a, 0xe6, 0x18, 0xb4, 0x47,
]);

/** Top tweak word of the garbling domain. */
export const TWEAK_DOMAIN_GARBLE = 0x67617262; // 'garb'
/** Top tweak word of the OT-extension domain. */
export const TWEAK_DOMAIN_OT = 0x6f747874; // 'otxt'

/** The fixed-key permutation π over many blocks at once. */
export class FixedKeyPermutation {
  private readonly cipher: Cipheriv;
  /** Blocks permuted so far (a work counter for benchmarks). */
  blocks = 0;
  /** Cipher calls so far (tests check that gates are batched). */
  calls = 0;

  /** Throws RangeError unless `key` is 16 bytes. */
  constructor(key: Uint8Array = FIXED_KEY) {
    if (!(key instanceof Uint8Array) || key.length !== 16) throw new RangeError('key must be a 16-byte Uint8Array');
    // ECB is stateless per block, so one cipher object serves every call; no padding, no final().
    this.cipher = createCipheriv('aes-128-ecb', key, null);
    this.cipher.setAutoPadding(false);
  }

  /** π applied to every block of `words` (length a multiple of 4); one cipher call. Returns a new buffer. */
  permute(words: Uint32Array): Uint32Array {
    const out = this.cipher.update(new Uint8Array(words.buffer, words.byteOffset, words.byteLength));
    this.blocks += words.length >>> 2;
    this.calls++;
    if (out.length !== words.byteLength) throw new Error('AES-ECB returned a short buffer');
    // Uint32Array views need 4-byte alignment; Buffers from the pool may start anywhere.
    if ((out.byteOffset & 3) === 0) return new Uint32Array(out.buffer, out.byteOffset, out.length >>> 2);
    return new Uint32Array(Uint8Array.from(out).buffer);
  }
}

/** σ(L ∥ R) = (L ⊕ R) ∥ L of block `k` of `src`, written to block `k` of `dst` (may alias). */
export function sigmaInto(src: Uint32Array, k: number, dst: Uint32Array, d: number): void {
  const o = k << 2,
    q = d << 2;
  const w0 = src[o]!,
    w1 = src[o + 1]!,
    w2 = src[o + 2]!,
    w3 = src[o + 3]!;
  dst[q] = w2;
  dst[q + 1] = w3;
  dst[q + 2] = w0 ^ w2;
  dst[q + 3] = w1 ^ w3;
}

/**
 * The TCCR hash of every block of `x`: block k hashed with tweak `tweakBase + k·tweakStep`
 * in domain `domain`. One cipher call. Returns a new buffer of the same length.
 * Throws RangeError when x is not whole blocks or a tweak leaves [0, 2^53).
 */
export function tccrHash(
  perm: FixedKeyPermutation,
  x: Uint32Array,
  tweakBase: number,
  tweakStep = 1,
  domain = TWEAK_DOMAIN_OT,
): Uint32Array {
  if (x.length % 4 !== 0) throw new RangeError('x must hold whole 16-byte blocks');
  const count = x.length >>> 2;
  const last = tweakBase + (count - 1) * tweakStep;
  if (!Number.isSafeInteger(tweakBase) || tweakBase < 0 || !Number.isSafeInteger(last) || last < 0) {
    throw new RangeError('tweaks must stay integers in [0, 2^53)');
  }
  const pre = new Uint32Array(x.length);
  for (let k = 0; k < count; k++) {
    sigmaInto(x, k, pre, k);
    const i = tweakBase + k * tweakStep;
    pre[4 * k]! ^= i >>> 0;
    pre[4 * k + 1]! ^= Math.floor(i / 4294967296);
    pre[4 * k + 3]! ^= domain;
  }
  const out = perm.permute(pre);
  // H = π(σ(x) ⊕ i) ⊕ σ(x), and σ(x) = pre ⊕ i: undo the tweak on the pre-image.
  for (let k = 0; k < count; k++) {
    const i = tweakBase + k * tweakStep,
      o = 4 * k;
    out[o]! ^= pre[o]! ^ (i >>> 0);
    out[o + 1]! ^= pre[o + 1]! ^ Math.floor(i / 4294967296);
    out[o + 2]! ^= pre[o + 2]!;
    out[o + 3]! ^= pre[o + 3]! ^ domain;
  }
  return out;
}

/** `count` uniformly random blocks from the OS CSPRNG. */
export function randomBlocks(count: number): Uint32Array {
  const out = new Uint32Array(count * 4);
  // randomFillSync caps one call at 2^31-1 bytes; blocks for one layer are far below that.
  randomFillSync(out);
  return out;
}

/** View the bytes of a block buffer (no copy). */
export function blockBytes(words: Uint32Array): Uint8Array {
  return new Uint8Array(words.buffer, words.byteOffset, words.byteLength);
}

/** Copy bytes into a fresh aligned block buffer. Throws RangeError unless the length is whole blocks. */
export function bytesToBlocks(bytes: Uint8Array): Uint32Array {
  if (bytes.length % 16 !== 0) throw new RangeError('bytes must hold whole 16-byte blocks');
  const out = new Uint32Array(bytes.length >>> 2);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

/**
 * The bytes as blocks without a copy when they are 4-byte aligned (a received blob owns its
 * buffer from offset 0), else a copy. The result aliases `bytes`: read it, do not write it.
 * Throws RangeError unless the length is whole blocks.
 */
export function blocksOf(bytes: Uint8Array): Uint32Array {
  if (bytes.length % 16 !== 0) throw new RangeError('bytes must hold whole 16-byte blocks');
  if ((bytes.byteOffset & 3) === 0) return new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length >>> 2);
  return bytesToBlocks(bytes);
}
