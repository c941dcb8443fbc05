/**
 * Binary message framing shared by every transport.
 *
 * A message is a protocol-step tag, a small JSON header and any number of binary blobs
 * (serialized ciphertexts, Float64Array bytes). Blobs travel as raw bytes — base64 in
 * JSON would cost a third more on the wire and a copy through a string on each side.
 *
 * Frame layout, version 1 (integers unsigned little-endian):
 *
 *   offset 0   u8[2]  magic 'P' 'N' (0x50 0x4e)
 *          2   u8     format version (1)
 *          3   u8     tag length T (1..255)
 *          4   u8[T]  tag, UTF-8
 *              u32    header length H
 *              u8[H]  header, UTF-8 JSON
 *              u32    blob count B
 *              u32[B] blob lengths
 *              ...    blob bytes, concatenated in order
 *
 * The decoder trusts nothing: every length is checked against the bytes actually
 * present before it is used, the total must match exactly (no trailing bytes), and any
 * failure is a PpnnError('FRAME_INVALID') so one bad peer cannot crash a server.
 */
import { PpnnError } from '../errors.ts';

/** One transport message (see the frame layout above). */
export interface Message {
  /** Protocol step, e.g. 'offline/client-keys'; 'error' is reserved for peer errors. */
  tag: string;
  /** JSON-able value; `undefined` is sent as `null`. */
  header: unknown;
  /** Raw binary payloads; each decoded blob owns its own ArrayBuffer. */
  blobs: Uint8Array[];
}

/** Limits a decoder (and the sender's own encoder) enforces. */
export interface FrameLimits {
  /** Largest accepted frame in bytes (whole encoded frame). */
  maxFrameBytes?: number;
  /** Largest accepted number of blobs in one message. */
  maxBlobs?: number;
}

export const FRAME_MAGIC_0 = 0x50; // 'P'
export const FRAME_MAGIC_1 = 0x4e; // 'N'
export const FRAME_VERSION = 1;
/** 256 MiB: a few hundred large CKKS ciphertexts fit; a runaway peer does not. */
export const DEFAULT_MAX_FRAME_BYTES = 256 * 1024 * 1024;
export const DEFAULT_MAX_BLOBS = 65536;
export const MAX_TAG_BYTES = 255;
const FIXED_PREFIX_BYTES = 4; // magic(2) + version(1) + tag length(1)

const utf8Encoder = new TextEncoder();
// fatal: malformed UTF-8 must be rejected, not silently replaced with U+FFFD.
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Resolve and validate frame limits; throws RangeError naming the bad option. */
export function resolveFrameLimits(limits: FrameLimits = {}): Required<FrameLimits> {
  const maxFrameBytes = limits.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  const maxBlobs = limits.maxBlobs ?? DEFAULT_MAX_BLOBS;
  // Lengths are u32 on the wire, and a frame is one allocation, so cap at 2^32-1.
  if (!Number.isSafeInteger(maxFrameBytes) || maxFrameBytes < 16 || maxFrameBytes > 0xffffffff) {
    throw new RangeError(`maxFrameBytes must be an integer in [16, 2^32-1], got ${String(maxFrameBytes)}`);
  }
  if (!Number.isSafeInteger(maxBlobs) || maxBlobs < 0 || maxBlobs > 0xffffffff) {
    throw new RangeError(`maxBlobs must be a non-negative integer, got ${String(maxBlobs)}`);
  }
  return { maxFrameBytes, maxBlobs };
}

function frameInvalid(reason: string): PpnnError {
  return new PpnnError('FRAME_INVALID', `invalid frame: ${reason}`);
}

/**
 * Encode a message into one frame (a fresh Uint8Array that owns its whole ArrayBuffer,
 * so it can be transferred). Throws TypeError for a malformed message (bad tag, header
 * that is not JSON-able, blob that is not a Uint8Array) and PpnnError('FRAME_INVALID')
 * when the frame would exceed `maxFrameBytes` or `maxBlobs`.
 */
export function encodeFrame(msg: Message, limits?: FrameLimits): Uint8Array {
  const { maxFrameBytes, maxBlobs } = resolveFrameLimits(limits);
  if (typeof msg !== 'object' || msg === null) throw new TypeError('msg must be an object { tag, header, blobs }');
  if (typeof msg.tag !== 'string' || msg.tag.length === 0) throw new TypeError('msg.tag must be a non-empty string');
  const tagBytes = utf8Encoder.encode(msg.tag);
  if (tagBytes.length > MAX_TAG_BYTES)
    throw new TypeError(`msg.tag must be at most ${MAX_TAG_BYTES} UTF-8 bytes, got ${tagBytes.length}`);
  let headerJson: string | undefined;
  try {
    headerJson = JSON.stringify(msg.header === undefined ? null : msg.header);
  } catch (e) {
    throw new TypeError(`msg.header must be JSON-serialisable: ${(e as Error).message}`);
  }
  if (headerJson === undefined) throw new TypeError('msg.header must be JSON-serialisable (got a function or symbol)');
  const headerBytes = utf8Encoder.encode(headerJson);
  const blobs = msg.blobs ?? [];
  if (!Array.isArray(blobs)) throw new TypeError('msg.blobs must be an array of Uint8Array');
  if (blobs.length > maxBlobs) throw frameInvalid(`${blobs.length} blobs exceed the limit of ${maxBlobs}`);
  let total = FIXED_PREFIX_BYTES + tagBytes.length + 4 + headerBytes.length + 4 + 4 * blobs.length;
  for (let i = 0; i < blobs.length; i++) {
    const blob = blobs[i];
    if (!(blob instanceof Uint8Array)) throw new TypeError(`msg.blobs[${i}] must be a Uint8Array`);
    total += blob.byteLength;
  }
  if (total > maxFrameBytes) throw frameInvalid(`frame of ${total} bytes exceeds the limit of ${maxFrameBytes}`);

  const frame = new Uint8Array(total);
  const view = new DataView(frame.buffer);
  frame[0] = FRAME_MAGIC_0;
  frame[1] = FRAME_MAGIC_1;
  frame[2] = FRAME_VERSION;
  frame[3] = tagBytes.length;
  let offset = FIXED_PREFIX_BYTES;
  frame.set(tagBytes, offset);
  offset += tagBytes.length;
  view.setUint32(offset, headerBytes.length, true);
  offset += 4;
  frame.set(headerBytes, offset);
  offset += headerBytes.length;
  view.setUint32(offset, blobs.length, true);
  offset += 4;
  for (const blob of blobs) {
    view.setUint32(offset, blob.byteLength, true);
    offset += 4;
  }
  for (const blob of blobs) {
    frame.set(blob, offset);
    offset += blob.byteLength;
  }
  return frame;
}

/**
 * Decode one frame. Returns the message; blobs are copies owning their own buffers, so
 * the caller may keep or transfer them independently of `frame`. Throws
 * PpnnError('FRAME_INVALID') for a bad magic/version, truncated or trailing bytes, an
 * over-long length, invalid UTF-8 or JSON, too many blobs, or a frame over the limit.
 */
export function decodeFrame(frame: Uint8Array, limits?: FrameLimits): Message {
  const { maxFrameBytes, maxBlobs } = resolveFrameLimits(limits);
  if (!(frame instanceof Uint8Array)) throw frameInvalid('payload is not binary');
  const size = frame.byteLength;
  if (size > maxFrameBytes) throw frameInvalid(`frame of ${size} bytes exceeds the limit of ${maxFrameBytes}`);
  if (size < FIXED_PREFIX_BYTES) throw frameInvalid(`truncated: ${size} bytes is shorter than the frame prefix`);
  if (frame[0] !== FRAME_MAGIC_0 || frame[1] !== FRAME_MAGIC_1) throw frameInvalid('bad magic (not a PPNN frame)');
  if (frame[2] !== FRAME_VERSION)
    throw frameInvalid(`unsupported frame version ${String(frame[2])} (expected ${FRAME_VERSION})`);
  const view = new DataView(frame.buffer, frame.byteOffset, size);
  let offset = FIXED_PREFIX_BYTES;
  // need(n): the next n bytes must exist; checked before every read.
  const need = (n: number, what: string): void => {
    if (n > size - offset) throw frameInvalid(`truncated: ${what} needs ${n} bytes, ${size - offset} left`);
  };

  const tagLength = frame[3] as number;
  if (tagLength === 0) throw frameInvalid('empty tag');
  need(tagLength, 'tag');
  const tag = decodeUtf8(frame.subarray(offset, offset + tagLength), 'tag');
  offset += tagLength;

  need(4, 'header length');
  const headerLength = view.getUint32(offset, true);
  offset += 4;
  need(headerLength, 'header');
  const headerText = decodeUtf8(frame.subarray(offset, offset + headerLength), 'header');
  offset += headerLength;
  let header: unknown;
  try {
    header = JSON.parse(headerText);
  } catch {
    throw frameInvalid('header is not valid JSON');
  }

  need(4, 'blob count');
  const blobCount = view.getUint32(offset, true);
  offset += 4;
  if (blobCount > maxBlobs) throw frameInvalid(`${blobCount} blobs exceed the limit of ${maxBlobs}`);
  need(4 * blobCount, 'blob length table');
  const blobLengths: number[] = new Array(blobCount);
  let blobBytes = 0;
  for (let i = 0; i < blobCount; i++) {
    const length = view.getUint32(offset, true);
    offset += 4;
    blobLengths[i] = length;
    blobBytes += length; // at most 2^32 * 2^32: still exact in a double
  }
  need(blobBytes, 'blob data');
  if (blobBytes !== size - offset)
    throw frameInvalid(`${size - offset - blobBytes} trailing bytes after the last blob`);
  const blobs: Uint8Array[] = new Array(blobCount);
  for (let i = 0; i < blobCount; i++) {
    const length = blobLengths[i] as number;
    // An explicit copy, not frame.slice(): on a Node Buffer (what ws delivers) slice()
    // returns a view that would pin, and alias, the whole received frame.
    const blob = new Uint8Array(length);
    blob.set(frame.subarray(offset, offset + length));
    blobs[i] = blob;
    offset += length;
  }
  return { tag, header, blobs };
}

function decodeUtf8(bytes: Uint8Array, what: string): string {
  try {
    return utf8Decoder.decode(bytes);
  } catch {
    throw frameInvalid(`${what} is not valid UTF-8`);
  }
}

// The wire format for float64 payloads is little-endian IEEE-754; on the (rare)
// big-endian host we go through a DataView instead of a byte copy.
const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Copy a Float64Array into a fresh little-endian byte array (8 bytes per value).
 * Works for any view, including one at a non-zero byteOffset. Throws TypeError for a
 * non-Float64Array argument.
 */
export function f64ToBytes(values: Float64Array): Uint8Array {
  if (!(values instanceof Float64Array)) throw new TypeError('values must be a Float64Array');
  if (HOST_IS_LITTLE_ENDIAN) return new Uint8Array(values.buffer, values.byteOffset, values.byteLength).slice();
  const out = new Uint8Array(values.byteLength);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat64(8 * i, values[i] as number, true);
  return out;
}

/**
 * Read little-endian float64 values out of `bytes` into a fresh Float64Array. The bytes
 * may sit at any offset (a blob inside a larger buffer is rarely 8-byte aligned), so
 * they are copied rather than viewed. Throws PpnnError('FRAME_INVALID') when the byte
 * length is not a multiple of 8 or does not hold exactly `expectedLength` values.
 */
export function bytesToF64(bytes: Uint8Array, expectedLength?: number): Float64Array {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('bytes must be a Uint8Array');
  if (expectedLength !== undefined && (!Number.isSafeInteger(expectedLength) || expectedLength < 0)) {
    throw new RangeError(`expectedLength must be a non-negative integer, got ${String(expectedLength)}`);
  }
  if (bytes.byteLength % 8 !== 0)
    throw frameInvalid(`float64 payload of ${bytes.byteLength} bytes is not a multiple of 8`);
  const count = bytes.byteLength / 8;
  if (expectedLength !== undefined && count !== expectedLength) {
    throw frameInvalid(`float64 payload holds ${count} values, expected ${expectedLength}`);
  }
  const out = new Float64Array(count);
  if (HOST_IS_LITTLE_ENDIAN) {
    new Uint8Array(out.buffer).set(bytes);
  } else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < count; i++) out[i] = view.getFloat64(8 * i, true);
  }
  return out;
}
