/**
 * BFV parameters for the ring schemes' preprocessing (client checks, server proposes),
 * and why each is what it is. Plain modulus t = p, the share modulus of core/ring, so
 * BFV computes exactly in Z_p and a decrypted slot IS a share. Every circuit is depth 1:
 * ct×pt products (batched weights or server masks), rotations, additions.
 *
 *  - Noise. A batched plaintext has coefficients of size ≈ t, so one ct×pt multiplies
 *    the noise by ≈ N·t/2: with t ≈ 2^51, N = 2^14 that is ≈ 2^64 (measured: the
 *    invariant noise budget drops from 184 to 128 bits on [60×4 | 60]). Circuit privacy
 *    then needs 40 more bits of flooding plus log2 N (the statistical distance adds up
 *    over the N coefficients). N = 8192 leaves 41 bits after one product (measured):
 *    not enough, so N = 16384 (8192 slots per row), within SEAL's 128-bit bound of 438 bits.
 *  - Primes [60, 60, 60, 60 | 60]: four data primes and SEAL's special (key-switching) prime,
 *    240 + 60 = 300 ≤ 438 bits. Fresh budget ≈ 184 bits, ≈ 120 after the largest circuit.
 *  - Circuit privacy (eval side, core/he/bfv.ts): the result is re-randomised with a
 *    public-key encryption of zero (its c1 becomes fresh-looking instead of Σ w·c1_i,
 *    which would reveal the weights to the key owner), mod-switched down to `sendPrimes`
 *    primes (smaller; the circuit's noise is divided by the dropped primes and only the
 *    rounding noise, ≤ N + t in absolute value, stays), then FLOODED: every coefficient of
 *    c0 gets an independent uniform integer in ±2^floodBits. With the remaining noise
 *    |e| ≤ 2^noiseBits, the statistical distance between the flooded noise for any two
 *    circuits is ≤ N·2^noiseBits / 2^floodBits = 2^-40 with floodBits = 40 + log2 N +
 *    noiseBits. Decryption stays correct while 2^floodBits + 2^noiseBits < Δ/2 =
 *    Q_send / (2t): with 3 primes, Δ ≈ 2^129 against 2^(40 + 14 + 52) = 2^106.
 */
import { PpnnError } from '../errors.ts';
import { MAX_BITS_128 } from './params.ts';

export interface BfvParams {
  readonly scheme: 'bfv';
  readonly polyModulusDegree: number;
  /** bit sizes of the primes, data primes then SEAL's special prime */
  readonly coeffModulusBits: readonly number[];
  /** t = p, the share modulus */
  readonly plainModulus: number;
  readonly securityLevel: 128;
  /** primes left in every returned ciphertext */
  readonly sendPrimes: number;
  /** log2 of the bound of the remaining noise before flooding (rounding noise N + t, circuit noise below it) */
  readonly noiseBits: number;
  /** flooding noise: uniform in ±2^floodBits per coefficient */
  readonly floodBits: number;
  /** −log2 of the statistical distance the flooding guarantees */
  readonly circuitPrivacyBits: number;
}

/** The client's floor: what it accepts from a server. */
export interface BfvFloor {
  readonly plainModulus: number;
  readonly minCircuitPrivacyBits: number;
  readonly minSlots: number;
}

const PRIME_BITS = 60;

/** The BFV set for plain modulus `p` (see the module comment for every choice). */
export function chooseBfvParams(p: number, minSlots = 1): BfvParams {
  const n = 16384;
  if (n / 2 < minSlots)
    throw new PpnnError('HE_PARAMS', `BFV: ${minSlots} slots per row needed, N = ${n} has ${n / 2}`);
  const tBits = Math.log2(p);
  // rounding noise of the mod switch (≤ N/2·‖s‖ + 1) and the message term t: ≤ 2^(tBits + 1)
  const noiseBits = Math.ceil(Math.max(tBits, Math.log2(n)) + 1);
  const privacy = 40;
  return {
    scheme: 'bfv',
    polyModulusDegree: n,
    coeffModulusBits: [PRIME_BITS, PRIME_BITS, PRIME_BITS, PRIME_BITS, PRIME_BITS],
    plainModulus: p,
    securityLevel: 128,
    sendPrimes: 3,
    noiseBits,
    floodBits: privacy + Math.log2(n) + noiseBits,
    circuitPrivacyBits: privacy,
  };
}

/**
 * Client-side check of a server's BFV proposal: 128-bit security (SEAL's bound), the
 * client's own plain modulus, flooding that really gives the claimed privacy, and
 * decryption that stays correct. Throws HE_PARAMS (malformed / insecure) or
 * PARAMS_MISMATCH (below the client's floor).
 */
export function validateBfvParams(p: BfvParams, floor?: BfvFloor): void {
  const bad = (why: string): never => {
    throw new PpnnError('HE_PARAMS', `BFV parameters rejected: ${why}`);
  };
  if (typeof p !== 'object' || p === null || p.scheme !== 'bfv') bad('scheme must be bfv');
  const n = p.polyModulusDegree;
  if (!(n in MAX_BITS_128) || n < 8192) bad(`poly modulus degree ${n} not supported`);
  const bits = p.coeffModulusBits;
  if (!Array.isArray(bits) || bits.length < 3) bad('need at least two data primes and the special prime');
  for (const b of bits) if (!Number.isInteger(b) || b < 20 || b > PRIME_BITS) bad(`prime size ${b} outside [20, 60]`);
  const total = bits.reduce((a, b) => a + b, 0);
  if (total > MAX_BITS_128[n]!)
    bad(`${total} modulus bits exceed the 128-bit bound ${MAX_BITS_128[n]} for N=${n} (insecure)`);
  if (p.securityLevel !== 128) bad('security level must be 128');
  if (!Number.isInteger(p.sendPrimes) || p.sendPrimes < 1 || p.sendPrimes > bits.length - 1)
    bad(`sendPrimes ${p.sendPrimes} out of range`);
  if (!Number.isSafeInteger(p.plainModulus) || p.plainModulus < 2 || (p.plainModulus - 1) % (2 * n) !== 0)
    bad(`plain modulus ${p.plainModulus} is not a batching modulus for N=${n}`);
  const tBits = Math.log2(p.plainModulus);
  if (!(p.noiseBits >= Math.max(tBits, Math.log2(n)) + 1))
    bad(`noise bound 2^${p.noiseBits} below the mod-switch rounding noise`);
  const privacy = p.floodBits - Math.log2(n) - p.noiseBits;
  if (!(privacy >= p.circuitPrivacyBits))
    bad(`flooding of 2^${p.floodBits} gives ${privacy} bits, not the claimed ${p.circuitPrivacyBits}`);
  const sendBits = bits.slice(0, p.sendPrimes).reduce((a, b) => a + b, 0);
  if (!(p.floodBits + 2 < sendBits - tBits - 1))
    bad(
      `flooding 2^${p.floodBits} would break decryption with ${p.sendPrimes} primes (Δ ≈ ` +
        `2^${(sendBits - tBits).toFixed(0)})`,
    );
  if (!floor) return;
  const mismatch = (why: string): never => {
    throw new PpnnError('PARAMS_MISMATCH', `server's BFV parameters do not meet the client's floor: ${why}`);
  };
  if (p.plainModulus !== floor.plainModulus)
    mismatch(`plain modulus ${p.plainModulus} ≠ the client's share modulus ${floor.plainModulus}`);
  if (privacy < floor.minCircuitPrivacyBits)
    mismatch(`circuit privacy ${privacy} bits < ${floor.minCircuitPrivacyBits}`);
  if (n / 2 < floor.minSlots) mismatch(`${n / 2} slots < ${floor.minSlots}`);
}

/** 32-bit FNV-1a fingerprint of a BFV set (tags every ciphertext on the wire). */
export function bfvFingerprint(p: BfvParams): number {
  const fields = [p.polyModulusDegree, p.coeffModulusBits.join(','), p.plainModulus, p.sendPrimes, p.floodBits];
  const text = `bfv|${fields.join('|')}`;
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}
