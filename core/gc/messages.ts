/**
 * Message tags of the OT protocols, each with a typed decoder that checks
 * every header field and blob size before anything is read (a wrong tag, a count that
 * does not match the blobs, or a size off by one byte is PROTOCOL_VIOLATION).
 *
 *   gc.ot.base     S→C  base OT: r0_j, r1_j (64 B each, j < 128)   { count }
 *   gc.ot.reply    C→S  base OT: Y (32 B)                         { count }
 *   gc.ot.ext      C→S  IKNP columns u_j                          { m }
 *   gc.ot.choice   C→S  Beaver derandomisation d = b ⊕ r (bits)   { m }
 *   gc.ot.msgs     S→C  e0, e1 (16 B per OT each)                 { m }
 *
 * The activation layer's own messages (gc.corr, gc.labels) are in core/gc/activation.ts;
 * its offline material rides in the roles' pre.masks / pre.shares.
 */
import { PpnnError } from '../errors.ts';
import type { Message } from '../transport/transport.ts';

export const GC_TAG = {
  otBase: 'gc.ot.base',
  otReply: 'gc.ot.reply',
  otExt: 'gc.ot.ext',
  otChoice: 'gc.ot.choice',
  otMsgs: 'gc.ot.msgs',
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
