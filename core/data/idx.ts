/**
 * IDX file format (LeCun's MNIST container), unsigned-byte data only.
 *
 *   bytes 0-1  0x00 0x00 (magic)
 *   byte  2    type code: 0x08 = unsigned byte (the only one MNIST-style datasets use)
 *   byte  3    rank r (number of dimensions, >= 1)
 *   then r big-endian uint32 sizes, then prod(sizes) data bytes, nothing after.
 *
 * The reader is strict on purpose: a truncated download or a file with trailing bytes
 * is reported as DATASET_INVALID with the reason, instead of silently training on junk.
 */
import { PpnnError } from '../errors.ts';

export const IDX_UNSIGNED_BYTE = 0x08;

const TYPE_NAMES: Record<number, string> = {
  0x08: 'unsigned byte',
  0x09: 'signed byte',
  0x0b: 'int16',
  0x0c: 'int32',
  0x0d: 'float32',
  0x0e: 'float64',
};

export interface IdxTensor {
  /** sizes, outermost first, e.g. [10000, 28, 28] */
  dims: number[];
  /** prod(dims) bytes, row-major; a view into the input buffer (no copy) */
  data: Uint8Array;
}

const invalid = (why: string): never => {
  throw new PpnnError('DATASET_INVALID', `IDX: ${why}`);
};

/**
 * Parse an IDX file of any rank with unsigned-byte data.
 * Returns dims and a zero-copy view of the data bytes.
 * Throws PpnnError DATASET_INVALID on wrong magic, other type codes, rank 0, zero or
 * truncated dimensions, truncated or over-long data; TypeError when `bytes` is not a Uint8Array.
 */
export function readIdx(bytes: Uint8Array): IdxTensor {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('readIdx: bytes must be a Uint8Array');
  if (bytes.length < 4) return invalid(`file is ${bytes.length} bytes, shorter than the 4-byte header`);
  if (bytes[0] !== 0 || bytes[1] !== 0)
    return invalid(
      `bad magic: first two bytes are 0x${hex(bytes[0]!)} 0x${hex(bytes[1]!)}, expected 0x00 0x00 (not an IDX file, ` +
        `or still gzip-compressed?)`,
    );
  const type = bytes[2]!;
  if (type !== IDX_UNSIGNED_BYTE)
    return invalid(
      `type code 0x${hex(type)} (${TYPE_NAMES[type] ?? 'unknown'}) is not supported; only 0x08 unsigned byte is`,
    );
  const rank = bytes[3]!;
  if (rank === 0) return invalid('rank 0 (no dimensions)');
  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes)
    return invalid(
      `header declares rank ${rank} (${headerBytes} header bytes) but the file has only ${bytes.length} bytes`,
    );
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  let count = 1;
  for (let i = 0; i < rank; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    if (d === 0) return invalid(`dimension ${i} is 0`);
    dims.push(d);
    count *= d;
  }
  const available = bytes.length - headerBytes;
  if (available < count)
    return invalid(`truncated: dims [${dims.join(',')}] need ${count} data bytes, file has ${available}`);
  if (available > count)
    return invalid(
      `over-long: dims [${dims.join(',')}] need ${count} data bytes, ` +
        `file has ${available} (${available - count} extra)`,
    );
  return { dims, data: bytes.subarray(headerBytes) };
}

/**
 * Encode dims + unsigned bytes as an IDX file (used for the dataset cache and tests). Throws RangeError on a size
 * mismatch.
 */
export function writeIdx(dims: readonly number[], data: Uint8Array): Uint8Array {
  if (dims.length < 1 || dims.length > 255)
    throw new RangeError(`writeIdx: dims must have 1..255 entries, got ${dims.length}`);
  const count = dims.reduce((a, b) => a * b, 1);
  if (count !== data.length)
    throw new RangeError(`writeIdx: dims [${dims.join(',')}] need ${count} bytes, data has ${data.length}`);
  const out = new Uint8Array(4 + 4 * dims.length + count);
  out[2] = IDX_UNSIGNED_BYTE;
  out[3] = dims.length;
  const view = new DataView(out.buffer);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}

function hex(b: number): string {
  return b.toString(16).padStart(2, '0');
}
