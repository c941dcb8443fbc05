/**
 * In-process transport pair for tests and single-process runs. Frames are still encoded
 * and decoded, so byte counts and validation match the socket transports; delivery is
 * deferred to a microtask so a sender never re-enters its peer's receive synchronously
 * (the same ordering guarantees a real wire gives: frames, then the close, in order).
 */
import { FramedTransport } from './framed.ts';
import type { FrameLimits } from './frame.ts';
import type { Transport } from './transport.ts';

/**
 * Returns two connected transports; what one sends the other receives. Closing one
 * closes the other (its receives reject with PEER_DISCONNECTED after the queue drains).
 * Throws RangeError for invalid limits.
 */
export function memoryPair(limits?: FrameLimits): [Transport, Transport] {
  const left = new FramedTransport(undefined, limits);
  const right = new FramedTransport(undefined, limits);
  const wire = (from: FramedTransport, to: FramedTransport): void => {
    from.attach({
      write: (frame) => queueMicrotask(() => to.deliverFrame(frame)),
      close: (reason) => queueMicrotask(() => to.peerClosed(reason)),
    });
  };
  wire(left, right);
  wire(right, left);
  return [left, right];
}
