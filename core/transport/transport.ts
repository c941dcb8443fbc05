/**
 * The one transport interface every protocol talks to (CrypTen habit): protocol code
 * never knows whether its peer is in the same process, in a worker or across a socket.
 *
 * Every implementation encodes real frames (core/transport/frame.ts), so byte counts and
 * frame validation are the same in unit tests as on the wire.
 */
import { PpnnError, errorFromJSON, toPpnnError } from '../errors.ts';
import type { Message } from './frame.ts';

export type { Message } from './frame.ts';

/** Traffic counters; bytes are encoded frame bytes, i.e. what crosses the wire. */
export interface TransportStats {
  bytesSent: number;
  bytesReceived: number;
  messagesSent: number;
  messagesReceived: number;
}

export interface ReceiveOptions {
  /** Reject with PpnnError('TIMEOUT') if no message arrives within this many ms. */
  timeoutMs?: number;
  /** Reject with PpnnError('CANCELLED') when aborted. */
  signal?: AbortSignal;
}

/**
 * A bidirectional, ordered message channel to one peer.
 *
 * - `send` encodes and queues a frame; it throws PEER_DISCONNECTED when closed,
 *   FRAME_INVALID when the frame exceeds this transport's limit, TypeError for a
 *   malformed message.
 * - `receive` resolves with the next message; messages that arrived earlier are queued
 *   in order and still delivered after the peer has closed. Once the queue is empty on
 *   a closed transport it rejects with PEER_DISCONNECTED — or with the error that closed
 *   it (e.g. FRAME_INVALID when the peer sent a malformed or oversized frame).
 * - `close` is idempotent; pending receives reject with PEER_DISCONNECTED.
 * - `onClose` callbacks run once, with the local or peer's reason (immediately, on a
 *   microtask, if already closed).
 */
export interface Transport {
  send(msg: Message): void;
  receive(opts?: ReceiveOptions): Promise<Message>;
  close(reason?: string): void;
  readonly closed: boolean;
  readonly stats: TransportStats;
  onClose(cb: (reason?: string) => void): void;
}

/** Tag reserved for a peer's error report; its header is `PpnnError.toJSON()`. */
export const ERROR_TAG = 'error';

/**
 * Receive one message and check its tag (DELPHI habit: a wrong tag is a protocol
 * violation, never misread bytes). Returns the message. Throws the peer's own error
 * (rebuilt with errorFromJSON) when it sent an 'error' message, and
 * PpnnError('PROTOCOL_VIOLATION') when the tag is not one of `expected`; receive
 * errors (PEER_DISCONNECTED, TIMEOUT, CANCELLED, FRAME_INVALID) pass through.
 */
export async function expectMessage(
  transport: Transport,
  expected: string | readonly string[],
  opts?: ReceiveOptions,
): Promise<Message> {
  const expectedTags = typeof expected === 'string' ? [expected] : expected;
  if (!Array.isArray(expectedTags) || expectedTags.length === 0 || expectedTags.some((t) => typeof t !== 'string')) {
    throw new TypeError('expected must be a tag string or a non-empty array of tag strings');
  }
  const msg = await transport.receive(opts);
  if (msg.tag === ERROR_TAG) throw errorFromJSON(msg.header);
  if (!expectedTags.includes(msg.tag)) {
    const wanted = expectedTags.map((t) => `'${t}'`).join(' or ');
    throw new PpnnError('PROTOCOL_VIOLATION', `expected ${wanted}, got '${msg.tag}'`, {
      expected: [...expectedTags],
      got: msg.tag,
    });
  }
  return msg;
}

/**
 * Report `err` to the peer as `{ tag: 'error', header: err.toJSON() }` (non-project
 * errors become INTERNAL). Best effort: returns false, without throwing, when the
 * transport is already closed or the send fails.
 */
export function sendError(transport: Transport, err: unknown): boolean {
  if (transport.closed) return false;
  try {
    transport.send({ tag: ERROR_TAG, header: toPpnnError(err).toJSON(), blobs: [] });
    return true;
  } catch {
    return false;
  }
}
