/**
 * The shared half of every transport: encoding, counting, the receive queue, timeouts,
 * cancellation and close bookkeeping. A concrete transport only supplies a
 * `FrameChannel` (how to put one frame on its wire and how to tear the wire down) and
 * feeds incoming frames and the peer's close into `deliverFrame` / `peerClosed`.
 * Keeping this in one place is what makes every implementation behave the same.
 */
import { PpnnError, toPpnnError } from '../errors.ts';
import { decodeFrame, encodeFrame, resolveFrameLimits, type FrameLimits, type Message } from './frame.ts';
import { sendError, type ReceiveOptions, type Transport, type TransportStats } from './transport.ts';

/** What a concrete transport provides to FramedTransport. */
export interface FrameChannel {
  /** Put one encoded frame on the wire; the channel may take ownership (transfer) of it. */
  write(frame: Uint8Array): void;
  /** Tear down the wire. `error` is set when closing because of a local failure. */
  close(reason: string | undefined, error: PpnnError | undefined): void;
}

interface PendingReceive {
  resolve(msg: Message): void;
  reject(err: Error): void;
  cleanup(): void;
}

/** Generic Transport over a FrameChannel; see Transport for the contract. */
export class FramedTransport implements Transport {
  readonly stats: TransportStats = { bytesSent: 0, bytesReceived: 0, messagesSent: 0, messagesReceived: 0 };
  readonly #limits: Required<FrameLimits>;
  #channel: FrameChannel | undefined;
  readonly #queue: Message[] = [];
  readonly #pending = new Set<PendingReceive>(); // a Set keeps insertion (FIFO) order
  readonly #closeCallbacks: Array<(reason?: string) => void> = [];
  #closed = false;
  #closedByPeer = false;
  #closeReason: string | undefined;
  #closeError: PpnnError | undefined;

  /** Throws RangeError for invalid limits. `channel` may be attached later (see attach). */
  constructor(channel: FrameChannel | undefined, limits?: FrameLimits) {
    this.#limits = resolveFrameLimits(limits);
    this.#channel = channel;
  }

  /** Attach the channel when it can only be built after the transport (circular wiring). */
  attach(channel: FrameChannel): void {
    this.#channel = channel;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The largest frame this transport sends or accepts. */
  get maxFrameBytes(): number {
    return this.#limits.maxFrameBytes;
  }

  send(msg: Message): void {
    if (this.#closed) throw this.#closedError();
    const frame = encodeFrame(msg, this.#limits);
    const frameBytes = frame.byteLength; // read before write: a transfer detaches the buffer
    if (!this.#channel) throw new PpnnError('INTERNAL', 'transport has no channel attached');
    this.#channel.write(frame);
    this.stats.bytesSent += frameBytes;
    this.stats.messagesSent += 1;
  }

  receive(opts: ReceiveOptions = {}): Promise<Message> {
    const { timeoutMs, signal } = opts ?? {};
    if (
      timeoutMs !== undefined &&
      (typeof timeoutMs !== 'number' || !(timeoutMs >= 0) || !Number.isFinite(timeoutMs))
    ) {
      return Promise.reject(new RangeError(`opts.timeoutMs must be a finite number >= 0, got ${String(timeoutMs)}`));
    }
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      return Promise.reject(new TypeError('opts.signal must be an AbortSignal'));
    }
    if (signal?.aborted) return Promise.reject(cancelledError());
    const queued = this.#queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.#closed) return Promise.reject(this.#closedError());
    return new Promise<Message>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const onAbort = (): void => {
        pending.cleanup();
        reject(cancelledError());
      };
      const pending: PendingReceive = {
        resolve,
        reject,
        cleanup: () => {
          if (timer !== undefined) clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          this.#pending.delete(pending);
        },
      };
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          pending.cleanup();
          reject(new PpnnError('TIMEOUT', `no message from the peer within ${timeoutMs} ms`, { timeoutMs }));
        }, timeoutMs);
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#pending.add(pending);
    });
  }

  close(reason?: string): void {
    if (this.#closed) return;
    this.#queue.length = 0; // a local close means nobody will read what is left
    this.#shutdown(reason, undefined, false);
  }

  onClose(cb: (reason?: string) => void): void {
    if (typeof cb !== 'function') throw new TypeError('cb must be a function');
    if (this.#closed) queueMicrotask(() => cb(this.#closeReason));
    else this.#closeCallbacks.push(cb);
  }

  /** Implementation hook: one frame arrived from the peer (bad frames fail the transport). */
  deliverFrame(frame: Uint8Array): void {
    if (this.#closed) return;
    this.stats.bytesReceived += frame.byteLength;
    let msg: Message;
    try {
      msg = decodeFrame(frame, this.#limits);
    } catch (e) {
      this.fail(toPpnnError(e));
      return;
    }
    this.stats.messagesReceived += 1;
    const first = this.#pending.values().next();
    if (first.done) {
      this.#queue.push(msg);
    } else {
      first.value.cleanup();
      first.value.resolve(msg);
    }
  }

  /**
   * Implementation hook: a local failure (malformed frame, broken channel). Tells the
   * peer with an 'error' message when still possible, then closes; pending and later
   * receives reject with `err` once the already-queued messages are consumed.
   */
  fail(err: PpnnError): void {
    if (this.#closed) return;
    sendError(this, err);
    this.#shutdown(err.message, err, false);
  }

  /** Implementation hook: the peer closed (or the wire broke); `error` overrides PEER_DISCONNECTED. */
  peerClosed(reason?: string, error?: PpnnError): void {
    if (this.#closed) return;
    this.#shutdown(reason, error, true);
  }

  #shutdown(reason: string | undefined, error: PpnnError | undefined, byPeer: boolean): void {
    this.#closed = true;
    this.#closedByPeer = byPeer;
    this.#closeReason = reason;
    this.#closeError = error;
    if (!byPeer) {
      try {
        this.#channel?.close(reason, error);
      } catch {
        // the wire is already gone; nothing more to tear down
      }
    }
    for (const pending of [...this.#pending]) {
      pending.cleanup();
      pending.reject(this.#closedError());
    }
    for (const cb of this.#closeCallbacks.splice(0)) {
      try {
        cb(reason);
      } catch {
        // a listener's bug must not stop the others from hearing about the close
      }
    }
  }

  #closedError(): PpnnError {
    const e = this.#closeError;
    if (e) return new PpnnError(e.code, e.message, e.details);
    const who = this.#closedByPeer ? 'the peer closed the connection' : 'the transport was closed locally';
    return new PpnnError('PEER_DISCONNECTED', this.#closeReason ? `${who}: ${this.#closeReason}` : who);
  }
}

function cancelledError(): PpnnError {
  return new PpnnError('CANCELLED', 'receive was cancelled');
}
