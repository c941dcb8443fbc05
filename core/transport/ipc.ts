/**
 * Transport over a Node IPC channel: a forked child process's `process` on one side, its
 * ChildProcess on the other (`ppnn serve` runs every session in a child process of its own,
 * see core/server/session-worker.ts). The channel must use `serialization: 'advanced'`, so a
 * frame crosses as bytes (structured clone), not as JSON.
 *
 * The channel also carries the session's control events ({ type: 'ready' | 'done' | ... }),
 * so this transport takes only what is addressed to it — `{ ppnnFrame }` and `{ ppnnClose }`
 * — and leaves every other message to the channel's other listeners.
 */
import { PpnnError } from '../errors.ts';
import { FramedTransport } from './framed.ts';
import type { FrameLimits } from './frame.ts';
import type { Transport } from './transport.ts';

/** What ChildProcess and a forked child's `process` have in common. */
export interface IpcChannel {
  send(message: unknown, callback?: (error: Error | null) => void): boolean;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  on(event: 'disconnect', listener: () => void): unknown;
  off(event: 'message', listener: (message: unknown) => void): unknown;
  off(event: 'disconnect', listener: () => void): unknown;
}

interface FrameMessage {
  ppnnFrame: Uint8Array;
}
interface CloseNotice {
  ppnnClose: true;
  reason?: string;
}

const isObject = (m: unknown): m is Record<string, unknown> => typeof m === 'object' && m !== null;

/**
 * Wrap `channel` (it stays open: closing the transport sends a close notice and stops
 * listening; the channel's owner ends the process). Throws TypeError when `channel` has no
 * send/on, RangeError for invalid limits.
 */
export function ipcTransport(channel: IpcChannel, limits?: FrameLimits): Transport {
  if (!isObject(channel) || typeof channel.send !== 'function' || typeof channel.on !== 'function')
    throw new TypeError('channel must be a forked process or its ChildProcess (an IPC channel)');
  const stop = (): void => {
    channel.off('message', onMessage);
    channel.off('disconnect', onDisconnect);
  };
  // a send on a channel the other side already left fails: that is its close, seen elsewhere
  const send = (m: FrameMessage | CloseNotice): void => void channel.send(m, () => {});
  const transport = new FramedTransport(
    {
      write(frame) {
        send({ ppnnFrame: frame });
      },
      close(reason) {
        try {
          send(reason === undefined ? { ppnnClose: true } : { ppnnClose: true, reason });
        } finally {
          stop();
        }
      },
    },
    limits,
  );
  function onMessage(m: unknown): void {
    if (!isObject(m)) return;
    if ('ppnnFrame' in m) {
      if (m.ppnnFrame instanceof Uint8Array) transport.deliverFrame(m.ppnnFrame);
      else transport.fail(new PpnnError('FRAME_INVALID', 'invalid frame: IPC frame payload is not binary'));
    } else if (m.ppnnClose === true) {
      stop();
      transport.peerClosed(typeof m.reason === 'string' ? m.reason : undefined);
    }
  }
  function onDisconnect(): void {
    stop();
    transport.peerClosed('IPC channel closed');
  }
  channel.on('message', onMessage);
  channel.on('disconnect', onDisconnect);
  return transport;
}
