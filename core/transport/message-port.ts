/**
 * Transport over a Node worker_threads MessagePort (the in-process runtime runs client
 * and server roles in separate workers). Each frame's ArrayBuffer is transferred, not
 * cloned, so a large ciphertext crosses threads without a copy.
 *
 * A MessagePort's 'close' event carries no reason, so a closing side first posts a small
 * close notice (a plain object, never confused with a frame, which is always binary).
 */
import type { MessagePort } from 'node:worker_threads';
import { PpnnError } from '../errors.ts';
import { FramedTransport } from './framed.ts';
import type { FrameLimits } from './frame.ts';
import type { Transport } from './transport.ts';

interface CloseNotice {
  ppnnClose: true;
  reason?: string;
}

function isCloseNotice(data: unknown): data is CloseNotice {
  return typeof data === 'object' && data !== null && (data as { ppnnClose?: unknown }).ppnnClose === true;
}

function isArrayBuffer(data: unknown): data is ArrayBuffer {
  return data instanceof ArrayBuffer || Object.prototype.toString.call(data) === '[object ArrayBuffer]';
}

/**
 * Wrap one end of a MessageChannel (or a worker's parentPort-style port). Returns the
 * Transport; it owns the port from now on (close() closes the port, and a listening
 * port keeps the event loop alive until then). Throws TypeError when `port` is not a
 * Node MessagePort, RangeError for invalid limits.
 */
export function messagePortTransport(port: MessagePort, limits?: FrameLimits): Transport {
  if (
    typeof port !== 'object' ||
    port === null ||
    typeof port.postMessage !== 'function' ||
    typeof port.on !== 'function'
  ) {
    throw new TypeError("port must be a MessagePort from 'node:worker_threads'");
  }
  const transport = new FramedTransport(
    {
      write(frame) {
        // encodeFrame returns a view over its whole, private ArrayBuffer: safe to transfer.
        const buffer = frame.buffer as ArrayBuffer;
        port.postMessage(buffer, [buffer]);
      },
      close(reason) {
        try {
          const notice: CloseNotice = reason === undefined ? { ppnnClose: true } : { ppnnClose: true, reason };
          port.postMessage(notice);
        } finally {
          port.close();
        }
      },
    },
    limits,
  );
  port.on('message', (data: unknown) => {
    if (isArrayBuffer(data)) transport.deliverFrame(new Uint8Array(data));
    else if (data instanceof Uint8Array) transport.deliverFrame(data);
    else if (isCloseNotice(data)) transport.peerClosed(typeof data.reason === 'string' ? data.reason : undefined);
    else transport.fail(new PpnnError('FRAME_INVALID', 'invalid frame: message port payload is not binary'));
  });
  port.on('messageerror', () =>
    transport.fail(new PpnnError('FRAME_INVALID', 'invalid frame: message could not be deserialised')),
  );
  port.on('close', () => transport.peerClosed('message port closed'));
  return transport;
}
