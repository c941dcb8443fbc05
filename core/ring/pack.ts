/**
 * Wire form of ring vectors: 51 bits per element, no padding between elements (8
 * elements = 51 bytes), so an online message is the floor ⌈51·n/8⌉ bytes; bit vectors
 * 1 bit per entry. Unpacking checks the length and that every element is < p.
 */
import { PpnnError } from '../errors.ts';
import { P, P_BITS } from './field.ts';

const TWO32 = 4294967296;
const HI_BITS = P_BITS - 32;

/** Bytes of n packed elements. */
export const packedBytes = (n: number): number => Math.ceil((n * P_BITS) / 8);

/** Pack ring elements (integers in [0, p)). */
export function packRing(v: Float64Array): Uint8Array {
  const out = new Uint8Array(packedBytes(v.length));
  let bit = 0;
  const put = (x: number, n: number): void => {
    while (n > 0) {
      const byte = bit >>> 3, off = bit & 7, take = Math.min(8 - off, n);
      out[byte]! |= (x & ((1 << take) - 1)) << off;
      x = x >>> take;
      n -= take;
      bit += take;
    }
  };
  for (let i = 0; i < v.length; i++) {
    const a = v[i]!, hi = Math.floor(a / TWO32);
    put((a - hi * TWO32) >>> 0, 32);
    put(hi, HI_BITS);
  }
  return out;
}

/** Unpack n elements; PROTOCOL_VIOLATION on a wrong length or an element ≥ p. */
export function unpackRing(bytes: Uint8Array, n: number, what: string): Float64Array {
  if (!(bytes instanceof Uint8Array) || bytes.length !== packedBytes(n)) throw new PpnnError('PROTOCOL_VIOLATION', `${what}: expected ${packedBytes(n)} bytes for ${n} ring elements, got ${(bytes as { length?: number })?.length}`);
  const out = new Float64Array(n);
  let bit = 0;
  const get = (n: number): number => {
    let x = 0, shift = 0;
    while (n > 0) {
      const byte = bit >>> 3, off = bit & 7, take = Math.min(8 - off, n);
      x += ((bytes[byte]! >>> off) & ((1 << take) - 1)) * 2 ** shift;
      shift += take;
      n -= take;
      bit += take;
    }
    return x;
  };
  for (let i = 0; i < n; i++) {
    const lo = get(32), hi = get(HI_BITS), a = hi * TWO32 + lo;
    if (a >= P) throw new PpnnError('PROTOCOL_VIOLATION', `${what}: element ${i} is not below p`);
    out[i] = a;
  }
  return out;
}

/** Pack 0/1 entries, 8 per byte. */
export function packBits(v: Float64Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(v.length / 8));
  for (let i = 0; i < v.length; i++) if (v[i]) out[i >>> 3]! |= 1 << (i & 7);
  return out;
}

/** Unpack n bits; PROTOCOL_VIOLATION on a wrong length. */
export function unpackBits(bytes: Uint8Array, n: number, what: string): Float64Array {
  if (!(bytes instanceof Uint8Array) || bytes.length !== Math.ceil(n / 8)) throw new PpnnError('PROTOCOL_VIOLATION', `${what}: expected ${Math.ceil(n / 8)} bytes for ${n} bits`);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = (bytes[i >>> 3]! >>> (i & 7)) & 1;
  return out;
}
