/**
 * Message tags of the garbled-circuit protocols, each with a typed decoder that checks
 * every header field and blob size before anything is read (a wrong tag, a count that
 * does not match the blobs, or a size off by one byte is PROTOCOL_VIOLATION).
 *
 *   gc.ot.base     C→S  base OT: S (32 B)                        { count }
 *   gc.ot.reply    S→C  base OT: R_1..R_128 (32 B each)          { count }
 *   gc.ot.ext      C→S  IKNP columns u_j                          { m }
 *   gc.ot.choice   C→S  Beaver derandomisation d = b ⊕ r (bits)   { m }
 *   gc.ot.msgs     S→C  e0, e1 (16 B per OT each)                 { m }
 *   gc.tables      S→C  garbled tables, output decoding bits, labels of the server's mask { count, andGates }
 *   gc.labels      S→C  online: labels of the server's share bits { count, bits }
 */
import { PpnnError } from '../errors.ts';
import type { Message } from '../transport/transport.ts';

export const GC_TAG = {
  otBase: 'gc.ot.base',
  otReply: 'gc.ot.reply',
  otExt: 'gc.ot.ext',
  otChoice: 'gc.ot.choice',
  otMsgs: 'gc.ot.msgs',
  tables: 'gc.tables',
  labels: 'gc.labels',
} as const;

function violation(tag: string, what: string): PpnnError {
  return new PpnnError('PROTOCOL_VIOLATION', `${tag}: ${what}`);
}

/** A non-negative integer header field ≤ max, else PROTOCOL_VIOLATION. */
export function headerCount(msg: Message, field: string, max: number): number {
  const v = (msg.header as Record<string, unknown> | null)?.[field];
  if (!Number.isSafeInteger(v) || (v as number) < 0 || (v as number) > max) {
    throw violation(msg.tag, `header.${field} must be an integer in [0, ${max}]`);
  }
  return v as number;
}

/** Check the message has exactly `sizes.length` blobs of these byte sizes. Returns the blobs. */
export function blobsOfSize(msg: Message, sizes: readonly number[]): Uint8Array[] {
  if (msg.blobs.length !== sizes.length)
    throw violation(msg.tag, `expected ${sizes.length} blobs, got ${msg.blobs.length}`);
  sizes.forEach((n, i) => {
    if (msg.blobs[i]!.length !== n)
      throw violation(msg.tag, `blob ${i} must be ${n} bytes, got ${msg.blobs[i]!.length}`);
  });
  return msg.blobs;
}

/** Check a count the receiver expects against the one the peer announced. */
export function expectCount(msg: Message, field: string, expected: number): void {
  const got = headerCount(msg, field, Number.MAX_SAFE_INTEGER);
  if (got !== expected) throw violation(msg.tag, `header.${field} is ${got}, this side expects ${expected}`);
}
