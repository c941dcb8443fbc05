import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { bytesToF64, decodeFrame, encodeFrame, f64ToBytes, type Message } from '../../core/transport/frame.ts';
import { isPpnnError } from '../../core/errors.ts';

/** Assert `fn` throws PpnnError('FRAME_INVALID') whose message contains `fragment`. */
function expectFrameInvalid(fn: () => unknown, fragment?: string): void {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect(isPpnnError(thrown), `expected FRAME_INVALID, got ${String(thrown)}`).toBe(true);
  expect((thrown as { code: string }).code).toBe('FRAME_INVALID');
  if (fragment) expect((thrown as Error).message).toContain(fragment);
}

const sample: Message = {
  tag: 'online/masked-input',
  header: { layer: 3, shape: [1, 28, 28], note: 'ünïcødé ✓' },
  blobs: [new Uint8Array([1, 2, 3]), new Uint8Array(0), new Uint8Array(1000).fill(7)],
};

describe('encodeFrame / decodeFrame', () => {
  it('round-trips tag, header and blobs, byte for byte', () => {
    const frame = encodeFrame(sample);
    const back = decodeFrame(frame);
    expect(back.tag).toBe(sample.tag);
    expect(back.header).toEqual(sample.header);
    expect(back.blobs.map((b) => Array.from(b))).toEqual(sample.blobs.map((b) => Array.from(b)));
    // layout: 4 prefix + tag + 4 + header + 4 + 4 per blob + blob bytes
    const headerBytes = new TextEncoder().encode(JSON.stringify(sample.header)).length;
    expect(frame.byteLength).toBe(4 + sample.tag.length + 4 + headerBytes + 4 + 3 * 4 + 1003);
    expect(Array.from(frame.subarray(0, 3))).toEqual([0x50, 0x4e, 1]);
  });

  it('gives every decoded blob its own ArrayBuffer (safe to keep or transfer)', () => {
    const back = decodeFrame(encodeFrame(sample));
    for (const blob of back.blobs) {
      expect(blob.byteOffset).toBe(0);
      expect(blob.buffer.byteLength).toBe(blob.byteLength);
    }
  });

  it('copies blobs out of a Node Buffer instead of aliasing it (Buffer#slice is a view)', () => {
    const received = Buffer.from(encodeFrame(sample));
    const back = decodeFrame(received);
    received.fill(0);
    expect(Object.getPrototypeOf(back.blobs[0])).toBe(Uint8Array.prototype);
    expect(Array.from(back.blobs[0]!)).toEqual([1, 2, 3]);
  });

  it('decodes a frame that sits at an odd offset inside a larger buffer', () => {
    const frame = encodeFrame(sample);
    const host = new Uint8Array(frame.length + 5);
    host.set(frame, 3);
    expect(decodeFrame(host.subarray(3, 3 + frame.length)).header).toEqual(sample.header);
  });

  it('sends an undefined header as null and no blobs as an empty list', () => {
    const back = decodeFrame(encodeFrame({ tag: 't', header: undefined, blobs: [] }));
    expect(back).toEqual({ tag: 't', header: null, blobs: [] });
  });

  it('round-trips arbitrary messages (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 40 }),
        fc.jsonValue(),
        fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 6 }),
        (tag, header, blobs) => {
          const back = decodeFrame(encodeFrame({ tag, header, blobs }));
          expect(back.tag).toBe(tag);
          expect(back.header).toEqual(JSON.parse(JSON.stringify(header)));
          expect(back.blobs.map((b) => Array.from(b))).toEqual(blobs.map((b) => Array.from(b)));
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('decodeFrame rejects bad input with FRAME_INVALID', () => {
  const good = encodeFrame(sample);
  const withByte = (index: number, value: number): Uint8Array => {
    const copy = good.slice();
    copy[index] = value;
    return copy;
  };
  /** Hand-built frame: tag 't', given header bytes, given blob count and lengths, given tail. */
  const build = (headerBytes: number[], blobCount: number, blobLengths: number[], tail: number[]): Uint8Array => {
    const parts = [0x50, 0x4e, 1, 1, 0x74];
    const u32 = (n: number): number[] => [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, (n >>> 24) & 255];
    return new Uint8Array([
      ...parts,
      ...u32(headerBytes.length),
      ...headerBytes,
      ...u32(blobCount),
      ...blobLengths.flatMap(u32),
      ...tail,
    ]);
  };
  const nullJson = [0x6e, 0x75, 0x6c, 0x6c];

  it('every truncation of a valid frame', () => {
    for (let n = 0; n < good.length; n++) expectFrameInvalid(() => decodeFrame(good.subarray(0, n)));
  });
  it('trailing bytes', () => expectFrameInvalid(() => decodeFrame(new Uint8Array([...good, 0])), 'trailing'));
  it('bad magic', () => expectFrameInvalid(() => decodeFrame(withByte(0, 0x51)), 'magic'));
  it('unknown version', () => expectFrameInvalid(() => decodeFrame(withByte(2, 2)), 'version'));
  it('empty tag', () => expectFrameInvalid(() => decodeFrame(withByte(3, 0)), 'tag'));
  it('invalid UTF-8 in the tag', () => expectFrameInvalid(() => decodeFrame(withByte(4, 0xff)), 'UTF-8'));
  it('invalid UTF-8 in the header', () =>
    expectFrameInvalid(() => decodeFrame(build([0x22, 0xc3, 0x28, 0x22], 0, [], [])), 'UTF-8'));
  it('header that is not JSON', () => expectFrameInvalid(() => decodeFrame(build([0x7b, 0x7b], 0, [], [])), 'JSON'));
  it('over-long header length', () => {
    const frame = build(nullJson, 0, [], []);
    new DataView(frame.buffer).setUint32(5, 0xffffffff, true);
    expectFrameInvalid(() => decodeFrame(frame), 'truncated');
  });
  it('over-long blob length', () =>
    expectFrameInvalid(() => decodeFrame(build(nullJson, 1, [0xfffffff0], [1, 2, 3])), 'truncated'));
  it('blob count with no length table behind it', () =>
    expectFrameInvalid(() => decodeFrame(build(nullJson, 1000, [], [])), 'truncated'));
  it('too many blobs', () => {
    const frame = encodeFrame({
      tag: 't',
      header: null,
      blobs: [new Uint8Array(1), new Uint8Array(1), new Uint8Array(1)],
    });
    expectFrameInvalid(() => decodeFrame(frame, { maxBlobs: 2 }), 'blobs exceed');
  });
  it('frame larger than maxFrameBytes', () =>
    expectFrameInvalid(() => decodeFrame(good, { maxFrameBytes: good.length - 1 }), 'exceeds'));
  it('a payload that is not a Uint8Array', () =>
    expectFrameInvalid(() => decodeFrame('hello' as unknown as Uint8Array)));
  it('random garbage', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        bytes[0] = 0x50; // get past the magic check sometimes, to exercise the length checks
        try {
          decodeFrame(bytes);
        } catch (e) {
          expect(isPpnnError(e) && e.code === 'FRAME_INVALID').toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('encodeFrame validates the message', () => {
  it('rejects malformed messages with TypeError naming the field', () => {
    expect(() => encodeFrame({ tag: '', header: null, blobs: [] })).toThrow(/msg\.tag/);
    expect(() => encodeFrame({ tag: 'x'.repeat(256), header: null, blobs: [] })).toThrow(/msg\.tag/);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => encodeFrame({ tag: 't', header: cyclic, blobs: [] })).toThrow(TypeError);
    expect(() => encodeFrame({ tag: 't', header: 1n, blobs: [] })).toThrow(/msg\.header/);
    expect(() => encodeFrame({ tag: 't', header: () => 1, blobs: [] })).toThrow(/msg\.header/);
    expect(() => encodeFrame({ tag: 't', header: null, blobs: [[1, 2] as unknown as Uint8Array] })).toThrow(
      /msg\.blobs\[0\]/,
    );
  });
  it('refuses to build a frame over the limit (FRAME_INVALID)', () => {
    expectFrameInvalid(
      () => encodeFrame({ tag: 't', header: null, blobs: [new Uint8Array(100)] }, { maxFrameBytes: 64 }),
      'exceeds',
    );
    expect(() => encodeFrame(sample, { maxFrameBytes: 1.5 })).toThrow(RangeError);
  });
});

describe('f64ToBytes / bytesToF64', () => {
  const values = new Float64Array([0, -0, 1.5, -2.25e-300, Number.MAX_VALUE, Infinity, -Infinity, NaN, Math.PI]);

  it('round-trips every float64 bit pattern, including -0 and NaN', () => {
    const back = bytesToF64(f64ToBytes(values), values.length);
    expect(Object.is(back[1], -0)).toBe(true);
    expect(Number.isNaN(back[7])).toBe(true);
    expect(Array.from(new Uint8Array(back.buffer))).toEqual(Array.from(new Uint8Array(values.buffer)));
  });
  it('writes little-endian IEEE-754', () => {
    expect(Array.from(f64ToBytes(new Float64Array([1])))).toEqual([0, 0, 0, 0, 0, 0, 0xf0, 0x3f]);
  });
  it('copies out of a view at an offset and into unaligned bytes', () => {
    const big = new Float64Array([9, 8, 7, 6]);
    expect(Array.from(bytesToF64(f64ToBytes(big.subarray(1, 3))))).toEqual([8, 7]);
    const host = new Uint8Array(8 * values.length + 3);
    host.set(f64ToBytes(values), 3); // offset 3: a Float64Array view here would throw
    const back = bytesToF64(host.subarray(3), values.length);
    expect(back[8]).toBe(Math.PI);
  });
  it('rejects length mismatches with FRAME_INVALID', () => {
    expectFrameInvalid(() => bytesToF64(new Uint8Array(12)), 'multiple of 8');
    expectFrameInvalid(() => bytesToF64(new Uint8Array(16), 3), 'expected 3');
    expect(() => bytesToF64(new Uint8Array(8), -1)).toThrow(RangeError);
    expect(() => f64ToBytes([1, 2] as unknown as Float64Array)).toThrow(TypeError);
  });
});
