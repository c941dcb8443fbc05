import { describe, expect, it } from 'vitest';
import { readIdx, writeIdx } from '../../core/data/idx.ts';
import { PpnnError } from '../../core/errors.ts';

function header(type: number, dims: number[]): number[] {
  const out = [0, 0, type, dims.length];
  for (const d of dims) out.push((d >>> 24) & 255, (d >>> 16) & 255, (d >>> 8) & 255, d & 255);
  return out;
}

function expectInvalid(bytes: Uint8Array, reason: RegExp): void {
  try {
    readIdx(bytes);
  } catch (e) {
    expect(e).toBeInstanceOf(PpnnError);
    expect((e as PpnnError).code).toBe('DATASET_INVALID');
    expect((e as PpnnError).message).toMatch(reason);
    return;
  }
  throw new Error('readIdx accepted invalid bytes');
}

describe('readIdx', () => {
  it('reads a hand-built rank-3 file (big-endian dims, row-major data)', () => {
    const data = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
    const t = readIdx(Uint8Array.from([...header(8, [2, 3, 2]), ...data]));
    expect(t.dims).toEqual([2, 3, 2]);
    expect(Array.from(t.data)).toEqual(data);
  });

  it('reads rank 1 and dims above 255 (multi-byte sizes)', () => {
    const t = readIdx(Uint8Array.from([...header(8, [300]), ...new Array(300).fill(7)]));
    expect(t.dims).toEqual([300]);
    expect(t.data.length).toBe(300);
    expect(t.data[299]).toBe(7);
  });

  it('round-trips writeIdx for ranks 1..4', () => {
    for (const dims of [[5], [3, 4], [2, 3, 4], [2, 1, 3, 2]]) {
      const n = dims.reduce((a, b) => a * b, 1);
      const data = Uint8Array.from({ length: n }, (_, i) => (i * 37) & 255);
      const back = readIdx(writeIdx(dims, data));
      expect(back.dims).toEqual(dims);
      expect(Array.from(back.data)).toEqual(Array.from(data));
    }
  });

  it('works on a view with a non-zero byteOffset', () => {
    const file = writeIdx([2, 2], Uint8Array.from([9, 8, 7, 6]));
    const padded = new Uint8Array(file.length + 3);
    padded.set(file, 3);
    expect(Array.from(readIdx(padded.subarray(3)).data)).toEqual([9, 8, 7, 6]);
  });

  it('rejects bad magic, other type codes, rank 0, zero dims, truncation and trailing bytes', () => {
    expectInvalid(Uint8Array.from([1, 0, 8, 1, 0, 0, 0, 1, 5]), /magic/);
    expectInvalid(Uint8Array.from([0x1f, 0x8b, 8, 0]), /magic/);
    expectInvalid(Uint8Array.from([...header(0x0d, [1]), 0, 0, 0, 0]), /type code 0x0d \(float32\)/);
    expectInvalid(Uint8Array.from([0, 0, 8, 0]), /rank 0/);
    expectInvalid(Uint8Array.from([0, 0, 8]), /shorter than the 4-byte header/);
    expectInvalid(Uint8Array.from([0, 0, 8, 2, 0, 0, 0, 1]), /header declares rank 2/);
    expectInvalid(Uint8Array.from(header(8, [0])), /dimension 0 is 0/);
    expectInvalid(Uint8Array.from([...header(8, [2, 2]), 1, 2, 3]), /truncated.*need 4 data bytes, file has 3/);
    expectInvalid(Uint8Array.from([...header(8, [2, 2]), 1, 2, 3, 4, 5]), /over-long.*1 extra/);
  });

  it('rejects non-Uint8Array input with a TypeError', () => {
    expect(() => readIdx([0, 0, 8, 1] as unknown as Uint8Array)).toThrow(TypeError);
  });
});
