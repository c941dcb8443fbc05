/**
 * Bit vectors: 0/1 bytes in memory (simple to index), packed LSB-first on the wire, and
 * the 128 × m bit-matrix transpose IKNP needs.
 */

/** Pack 0/1 bytes LSB-first into ceil(n/8) bytes. */
export function packBits(bits: Uint8Array): Uint8Array {
  const out = new Uint8Array((bits.length + 7) >>> 3);
  for (let i = 0; i < bits.length; i++) out[i >>> 3]! |= (bits[i]! & 1) << (i & 7);
  return out;
}

/** Unpack the first `n` bits of `packed` (LSB-first) into 0/1 bytes. Throws RangeError if too short. */
export function unpackBits(packed: Uint8Array, n: number): Uint8Array {
  if (packed.length < (n + 7) >>> 3)
    throw new RangeError(`packed bits: need ${(n + 7) >>> 3} bytes, got ${packed.length}`);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (packed[i >>> 3]! >>> (i & 7)) & 1;
  return out;
}

/** In-place transpose of a 32 × 32 bit tile: bit j of word i ↔ bit i of word j (Hacker's Delight §7-3). */
function transpose32(a: Uint32Array, o: number): void {
  let m = 0x0000ffff;
  for (let j = 16; j !== 0; j >>>= 1, m = (m ^ (m << j)) >>> 0) {
    for (let k = 0; k < 32; k = ((k | j) + 1) & ~j) {
      const t = ((a[o + k]! >>> j) ^ a[o + (k | j)]!) & m;
      a[o + k]! ^= t << j;
      a[o + (k | j)]! ^= t;
    }
  }
}

/**
 * Transpose 128 columns of m bits (column j = words [j·m/32, (j+1)·m/32), bit i of the column
 * = row i) into m rows of 128 bits (row i = block i: bit j in word j/32). m must be a
 * multiple of 128. Returns the m rows as a block buffer (4 words each).
 */
export function transposeColumns(columns: Uint32Array, m: number): Uint32Array {
  if (m % 128 !== 0 || columns.length !== 4 * m) throw new RangeError('transposeColumns: m must be a multiple of 128');
  const wordsPerColumn = m >>> 5;
  const rows = new Uint32Array(4 * m);
  const tile = new Uint32Array(32);
  for (let w = 0; w < wordsPerColumn; w++) {
    // tile v: columns 32v..32v+31, rows 32w..32w+31
    for (let v = 0; v < 4; v++) {
      for (let jj = 0; jj < 32; jj++) tile[jj] = columns[(32 * v + jj) * wordsPerColumn + w]!;
      transpose32(tile, 0);
      for (let ii = 0; ii < 32; ii++) rows[(32 * w + ii) * 4 + v] = tile[ii]!;
    }
  }
  return rows;
}
