/**
 * Semi-honest base oblivious transfer: Masny–Rindal "Endemic Oblivious Transfer" (CCS 2019),
 * the semi-honest instantiation over ristretto255 (@noble/curves) with hash-to-group H
 * (RFC 9380 hash_to_curve) and key derivation by SHA-256 (@noble/hashes). It runs κ = 128
 * times per session, only to seed IKNP (core/gc/iknp.ts). The receiver speaks first, which
 * is why it is this OT and not Chou–Orlandi: the server (OT receiver) puts its message in
 * the session's first server message and the client answers in its set-up message.
 *
 *   receiver (choice bits c_j)                       sender
 *   sk_j ← Z_ℓ, r_{1−c} ← H(random)
 *   r_c = sk_j·G − H(r_{1−c})      ── r0_j, r1_j ──▶
 *                                  ◀──── Y ──────── y ← Z_ℓ, Y = y·G
 *   k_j = KDF(j, r0, r1, sk_j·Y)                     pk_b = r_b + H(r_{1−b}),
 *                                                    k_b,j = KDF(j, r0, r1, y·pk_b)
 *
 * Correctness: pk_c = sk·G, so y·pk_c = sk·Y. Receiver privacy is perfect (in the ROM for
 * H): (r0, r1) is a pair of uniform points whatever c is. Sender privacy (semi-honest): the
 * receiver knows no discrete log of pk_{1−c} = r_{1−c} + H(r_c), so y·pk_{1−c} is a CDH
 * value, hashed. Ristretto gives a prime-order group with canonical encodings.
 */
import { ristretto255, ristretto255_hasher } from '@noble/curves/ed25519.js';
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
const KDF_LABEL = new TextEncoder().encode('ppnn/gc/mr-ot/1');

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

function kdf(index: number, pair: Uint8Array, P: RistrettoPoint): Uint8Array {
  const h = sha256.create();
  h.update(KDF_LABEL);
  h.update(Uint8Array.of(index >>> 24, (index >>> 16) & 255, (index >>> 8) & 255, index & 255));
  h.update(pair);
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

const H2C_DST = 'ppnn/gc/mr-ot/1/H';

function hashToGroup(bytes: Uint8Array): RistrettoPoint {
  return ristretto255_hasher.hashToCurve(bytes, { DST: H2C_DST });
}

/** The receiver's secrets between its two steps. */
export interface BaseOtReceiverState {
  choices: Uint8Array;
  sk: bigint[];
  message: Uint8Array;
}

/**
 * Receiver, step 1: for choice bits `choices` (0/1 each), the message r0_j ∥ r1_j (64 bytes
 * per OT). Throws RangeError for choices that are not 0/1.
 */
export function baseOtReceiverStart(
  choices: Uint8Array,
  random: RandomSource = osRandom,
): { state: BaseOtReceiverState; message: Uint8Array } {
  const message = new Uint8Array(2 * POINT_BYTES * choices.length);
  const sk: bigint[] = [];
  for (let j = 0; j < choices.length; j++) {
    const c = choices[j]!;
    if (c !== 0 && c !== 1) throw new RangeError(`choices[${j}] must be 0 or 1`);
    const x = randomScalar(random);
    const other = hashToGroup(random(32)).toBytes();
    const mine = Point.BASE.multiply(x).subtract(hashToGroup(other)).toBytes();
    message.set(c === 0 ? mine : other, 2 * POINT_BYTES * j);
    message.set(c === 0 ? other : mine, 2 * POINT_BYTES * j + POINT_BYTES);
    sk.push(x);
  }
  return { state: { choices: Uint8Array.from(choices), sk, message }, message };
}

/**
 * Sender: from the receiver's message (64·m bytes), its reply Y (32 bytes) and both keys of
 * every OT (keys0, keys1: 16·m bytes each). Throws PROTOCOL_VIOLATION for a malformed message.
 */
export function baseOtSend(
  receiverMessage: Uint8Array,
  count: number,
  random: RandomSource = osRandom,
): { message: Uint8Array; keys0: Uint8Array; keys1: Uint8Array } {
  if (receiverMessage.length !== 2 * POINT_BYTES * count) {
    throw new PpnnError('PROTOCOL_VIOLATION', `base OT: receiver message must be ${2 * POINT_BYTES * count} bytes`);
  }
  const y = randomScalar(random);
  const message = Point.BASE.multiply(y).toBytes();
  const keys0 = new Uint8Array(KEY_BYTES * count);
  const keys1 = new Uint8Array(KEY_BYTES * count);
  for (let j = 0; j < count; j++) {
    const pair = receiverMessage.subarray(2 * POINT_BYTES * j, 2 * POINT_BYTES * (j + 1));
    const b0 = pair.subarray(0, POINT_BYTES),
      b1 = pair.subarray(POINT_BYTES);
    const r0 = decodePoint(b0, `r0[${j}]`),
      r1 = decodePoint(b1, `r1[${j}]`);
    keys0.set(kdf(j, pair, r0.add(hashToGroup(b1)).multiply(y)), KEY_BYTES * j);
    keys1.set(kdf(j, pair, r1.add(hashToGroup(b0)).multiply(y)), KEY_BYTES * j);
  }
  return { message, keys0, keys1 };
}

/** Receiver, step 2: its key k_{c_j} of every OT (16·m bytes) from Y. Throws PROTOCOL_VIOLATION for a bad Y. */
export function baseOtReceiverFinish(state: BaseOtReceiverState, senderMessage: Uint8Array): Uint8Array {
  if (senderMessage.length !== POINT_BYTES) throw new PpnnError('PROTOCOL_VIOLATION', 'base OT: Y must be 32 bytes');
  const Y = decodePoint(senderMessage, 'Y');
  const keys = new Uint8Array(KEY_BYTES * state.sk.length);
  for (let j = 0; j < state.sk.length; j++) {
    const pair = state.message.subarray(2 * POINT_BYTES * j, 2 * POINT_BYTES * (j + 1));
    keys.set(kdf(j, pair, Y.multiply(state.sk[j]!)), KEY_BYTES * j);
  }
  return keys;
}
