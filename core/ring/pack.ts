/**
 * Wire form of ring vectors: 51 bits per element (p < 2^51), no padding between elements
 * (8 elements = 51 bytes), so an online message is the floor ⌈51·n/8⌉ bytes; bit vectors
 * 1 bit per entry. Unpacking checks the length and that every element is < p.
 */
import { PpnnError } from '../errors.ts';
import { P, P_BITS } from './field.ts';

const TWO32 = 4294967296;
const TWO48 = 281474976710656;

/** Bytes of n packed elements. */
export const packedBytes = (n: number): number => Math.ceil((n * P_BITS) / 8);

/**
 * Pack ring elements (integers in [0, p)). Groups of 8 elements take 51 bytes: the low
 * 48 bits of each as 6 little-endian bytes, then the eight 3-bit tops in 3 bytes (plain
 * byte stores, no bit loop). A last partial group keeps the same layout, truncated.
 */
export function packRing(v: Float64Array): Uint8Array {
  const n = v.length,
    out = new Uint8Array(packedBytes(n));
  for (let g = 0; g * 8 < n; g++) {
    const base = g * 51,
      m = Math.min(8, n - g * 8);
    let tops = 0;
    for (let k = 0; k < m; k++) {
      const a = v[g * 8 + k]!,
        top = Math.floor(a / TWO48),
        lo = a - top * TWO48;
      const lo32 = lo % TWO32,
        hi16 = (lo - lo32) / TWO32,
        o = base + 6 * k;
      out[o] = lo32 & 255;
      out[o + 1] = (lo32 >>> 8) & 255;
      out[o + 2] = (lo32 >>> 16) & 255;
      out[o + 3] = lo32 >>> 24;
      out[o + 4] = hi16 & 255;
      out[o + 5] = hi16 >>> 8;
      tops |= top << (3 * k);
    }
    const t = base + 6 * m,
      tb = Math.ceil((3 * m) / 8);
    for (let b = 0; b < tb; b++) out[t + b] = (tops >>> (8 * b)) & 255;
  }
  return out;
}

/** Unpack n elements; PROTOCOL_VIOLATION on a wrong length or an element ≥ p. */
export function unpackRing(bytes: Uint8Array, n: number, what: string): Float64Array {
  if (!(bytes instanceof Uint8Array) || bytes.length !== packedBytes(n))
    throw new PpnnError(
      'PROTOCOL_VIOLATION',
      `${what}: expected ${packedBytes(n)} bytes for ${n} ring elements, got ${(bytes as { length?: number })?.length}`,
    );
  const out = new Float64Array(n);
  for (let g = 0; g * 8 < n; g++) {
    const base = g * 51,
      m = Math.min(8, n - g * 8),
      t = base + 6 * m;
    let tops = 0;
    for (let b = 0, tb = Math.ceil((3 * m) / 8); b < tb; b++) tops |= bytes[t + b]! << (8 * b);
    for (let k = 0; k < m; k++) {
      const o = base + 6 * k;
      const lo32 = (bytes[o]! | (bytes[o + 1]! << 8) | (bytes[o + 2]! << 16) | (bytes[o + 3]! << 24)) >>> 0;
      const a = ((tops >>> (3 * k)) & 7) * TWO48 + (bytes[o + 4]! | (bytes[o + 5]! << 8)) * TWO32 + lo32;
      if (a >= P) throw new PpnnError('PROTOCOL_VIOLATION', `${what}: element ${g * 8 + k} is not below p`);
      out[g * 8 + k] = a;
    }
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
  if (!(bytes instanceof Uint8Array) || bytes.length !== Math.ceil(n / 8))
    throw new PpnnError('PROTOCOL_VIOLATION', `${what}: expected ${Math.ceil(n / 8)} bytes for ${n} bits`);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = (bytes[i >>> 3]! >>> (i & 7)) & 1;
  return out;
}
