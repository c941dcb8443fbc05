/**
 * Semi-honest base oblivious transfer: Chou–Orlandi "The Simplest Protocol for Oblivious
 * Transfer" (LATINCRYPT 2015) over ristretto255 (@noble/curves), key derivation by SHA-256
 * (@noble/hashes). It runs κ = 128 times per session, only to seed IKNP (core/gc/iknp.ts).
 *
 *   sender                                    receiver (choice bits c_j)
 *   y ← Z_ℓ, S = y·G      ── S ─────────────▶
 *                         ◀──── R_j ───────── x_j ← Z_ℓ, R_j = c_j·S + x_j·G
 *   k0_j = KDF(j, S, R_j, y·R_j)                 k_j = KDF(j, S, R_j, x_j·S)
 *   k1_j = KDF(j, S, R_j, y·R_j − y·S)
 *
 * Correctness: y·R_j − c_j·y·S = x_j·y·G = x_j·S. Receiver privacy is perfect: R_j is a
 * uniform group element whatever c_j is. Sender privacy (semi-honest): the key the receiver
 * does not get is KDF of y·x_j·G ± y²·G, a CDH value, hashed (random-oracle model).
 * Ristretto gives a prime-order group with canonical encodings, so no cofactor games.
 */
import { ristretto255 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from 'node:crypto';
import { PpnnError } from '../errors.ts';

const Point = ristretto255.Point;
type RistrettoPoint = InstanceType<typeof Point>;
const ORDER = Point.Fn.ORDER;
/** Bytes of one encoded group element. */
export const POINT_BYTES = 32;
/** Bytes of one derived OT key (a 128-bit PRG seed). */
export const KEY_BYTES = 16;
const KDF_LABEL = new TextEncoder().encode('ppnn/gc/co-ot/1');

/** A source of uniform bytes (tests pass a seeded one for known-answer vectors). */
export type RandomSource = (bytes: number) => Uint8Array;
const osRandom: RandomSource = (n) => new Uint8Array(randomBytes(n));

/** A uniform non-zero scalar: 64 random bytes reduced mod ℓ (bias < 2^-250). */
function randomScalar(random: RandomSource): bigint {
  const bytes = random(64);
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]!);
  const s = v % ORDER;
  return s === 0n ? 1n : s;
}

function kdf(index: number, S: Uint8Array, R: Uint8Array, P: RistrettoPoint): Uint8Array {
  const h = sha256.create();
  h.update(KDF_LABEL);
  h.update(Uint8Array.of(index >>> 24, (index >>> 16) & 255, (index >>> 8) & 255, index & 255));
  h.update(S);
  h.update(R);
  h.update(P.toBytes());
  return h.digest().slice(0, KEY_BYTES);
}

function decodePoint(bytes: Uint8Array, what: string): RistrettoPoint {
  let pt: RistrettoPoint;
  try {
    pt = Point.fromBytes(bytes);
  } catch {
    throw new PpnnError('PROTOCOL_VIOLATION', `base OT: ${what} is not a valid ristretto255 encoding`);
  }
  if (pt.is0()) throw new PpnnError('PROTOCOL_VIOLATION', `base OT: ${what} is the identity`);
  return pt;
}

/** The sender's secret between its two steps. */
export interface BaseOtSenderState {
  y: bigint;
  S: Uint8Array;
}

/** Sender, step 1: the message S = y·G (32 bytes) and the state to finish with. */
export function baseOtSenderStart(random: RandomSource = osRandom): {
  state: BaseOtSenderState;
  message: Uint8Array;
} {
  const y = randomScalar(random);
  const S = Point.BASE.multiply(y).toBytes();
  return { state: { y, S }, message: S };
}

/**
 * Receiver: for choice bits `choices` (0/1 each), the reply R_1..R_m (32·m bytes) and its
 * keys k_{c_j} (16·m bytes, key j at 16j). Throws PROTOCOL_VIOLATION for a bad S, RangeError
 * for choices that are not 0/1.
 */
export function baseOtReceive(
  senderMessage: Uint8Array,
  choices: Uint8Array,
  random: RandomSource = osRandom,
): { message: Uint8Array; keys: Uint8Array } {
  if (senderMessage.length !== POINT_BYTES) throw new PpnnError('PROTOCOL_VIOLATION', 'base OT: S must be 32 bytes');
  const S = decodePoint(senderMessage, 'S');
  const message = new Uint8Array(POINT_BYTES * choices.length);
  const keys = new Uint8Array(KEY_BYTES * choices.length);
  for (let j = 0; j < choices.length; j++) {
    const c = choices[j]!;
    if (c !== 0 && c !== 1) throw new RangeError(`choices[${j}] must be 0 or 1`);
    const x = randomScalar(random);
    const xG = Point.BASE.multiply(x);
    const R = (c === 1 ? xG.add(S) : xG).toBytes();
    message.set(R, POINT_BYTES * j);
    keys.set(kdf(j, senderMessage, R, S.multiply(x)), KEY_BYTES * j);
  }
  return { message, keys };
}

/**
 * Sender, step 2: both keys of every OT from the receiver's reply (32·m bytes).
 * Returns keys0 and keys1 (16·m bytes each). Throws PROTOCOL_VIOLATION for a malformed reply.
 */
export function baseOtSenderFinish(
  state: BaseOtSenderState,
  receiverMessage: Uint8Array,
  count: number,
): { keys0: Uint8Array; keys1: Uint8Array } {
  if (receiverMessage.length !== POINT_BYTES * count) {
    throw new PpnnError('PROTOCOL_VIOLATION', `base OT: reply must be ${POINT_BYTES * count} bytes`);
  }
  const yS = Point.fromBytes(state.S).multiply(state.y);
  const keys0 = new Uint8Array(KEY_BYTES * count);
  const keys1 = new Uint8Array(KEY_BYTES * count);
  for (let j = 0; j < count; j++) {
    const Rb = receiverMessage.subarray(POINT_BYTES * j, POINT_BYTES * (j + 1));
    const yR = decodePoint(Rb, `R[${j}]`).multiply(state.y);
    keys0.set(kdf(j, state.S, Rb, yR), KEY_BYTES * j);
    keys1.set(kdf(j, state.S, Rb, yR.subtract(yS)), KEY_BYTES * j);
  }
  return { keys0, keys1 };
}
