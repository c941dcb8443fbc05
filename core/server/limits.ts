/**
 * Connection and session limits of the server, kept apart from the sockets so they can
 * be tested on their own.
 *
 * - HandshakeGuard: every connection that has not yet sent an authenticated hello is
 *   "pending"; it is destroyed at the handshake deadline, and when more than `maxPending`
 *   are open the oldest is evicted. Idle or slow (1 byte/s) clients therefore hold
 *   nothing for long and can never lock a real client out: the newest connection is the
 *   one that survives (issue 13: 16 idle sockets used to block every session for 10 min).
 * - Admission: slots for running sessions (a global limit derived from memory, and a
 *   per-address limit); a bounded FIFO queue waits for a slot, past it a coded BUSY with
 *   `retryAfterMs` (from the recent session durations) is the answer.
 */
import type { Socket } from 'node:net';
import { PpnnError } from '../errors.ts';

interface Pending {
  timer: ReturnType<typeof setTimeout>;
}

/** Deadline and eviction of connections that have not completed their handshake. */
export class HandshakeGuard {
  readonly #pending = new Map<Socket, Pending>(); // insertion order = age
  readonly #deadlineMs: number;
  readonly #maxPending: number;
  readonly #onCut: (socket: Socket, why: 'deadline' | 'evicted') => void;

  /** Throws RangeError for a non-positive deadline or pending limit. */
  constructor(
    deadlineMs: number,
    maxPending: number,
    onCut: (socket: Socket, why: 'deadline' | 'evicted') => void = () => {},
  ) {
    if (!(deadlineMs > 0)) throw new RangeError(`handshake deadline must be > 0 ms, got ${deadlineMs}`);
    if (!Number.isInteger(maxPending) || maxPending < 1)
      throw new RangeError(`maxPending must be a positive integer, got ${maxPending}`);
    this.#deadlineMs = deadlineMs;
    this.#maxPending = maxPending;
    this.#onCut = onCut;
  }

  get pending(): number {
    return this.#pending.size;
  }

  /** Track a new connection; may evict the oldest pending one. */
  add(socket: Socket): void {
    if (this.#pending.has(socket)) return;
    const timer = setTimeout(() => this.#cut(socket, 'deadline'), this.#deadlineMs);
    timer.unref();
    this.#pending.set(socket, { timer });
    socket.once('close', () => this.admitted(socket));
    while (this.#pending.size > this.#maxPending) {
      const oldest = this.#pending.keys().next().value as Socket;
      this.#cut(oldest, 'evicted');
    }
  }

  /** The connection completed its handshake (or closed): no deadline any more. */
  admitted(socket: Socket): void {
    const p = this.#pending.get(socket);
    if (!p) return;
    clearTimeout(p.timer);
    this.#pending.delete(socket);
  }

  /** True while `socket` is still within its handshake. */
  isPending(socket: Socket): boolean {
    return this.#pending.has(socket);
  }

  /** Cut every pending connection (shutdown). */
  cutAll(): void {
    for (const s of [...this.#pending.keys()]) this.#cut(s, 'evicted');
  }

  #cut(socket: Socket, why: 'deadline' | 'evicted'): void {
    this.admitted(socket);
    try {
      this.#onCut(socket, why);
    } finally {
      socket.destroy();
    }
  }
}

export interface AdmissionOptions {
  /** sessions running at once (derived from memory by the caller) */
  maxSessions: number;
  /** sessions running at once from one peer address */
  maxPerAddress: number;
  /** sessions that may wait for a slot; 0 = answer BUSY at once */
  maxQueue: number;
  /** longest wait in the queue before BUSY */
  queueTimeoutMs: number;
}

interface Waiter {
  address: string;
  resolve(release: () => void): void;
  reject(err: PpnnError): void;
  timer: ReturnType<typeof setTimeout>;
}

/** Session slots with a per-address cap and a bounded waiting queue. */
export class Admission {
  readonly opts: AdmissionOptions;
  #active = 0;
  readonly #perAddress = new Map<string, number>();
  readonly #queue: Waiter[] = [];
  /** moving average of session durations, for retry-after hints */
  #avgSessionMs = 5000;

  /** Throws RangeError for a bad option. */
  constructor(opts: AdmissionOptions) {
    for (const k of ['maxSessions', 'maxPerAddress'] as const) {
      if (!Number.isInteger(opts[k]) || opts[k] < 1)
        throw new RangeError(`${k} must be a positive integer, got ${opts[k]}`);
    }
    if (!Number.isInteger(opts.maxQueue) || opts.maxQueue < 0)
      throw new RangeError(`maxQueue must be an integer >= 0, got ${opts.maxQueue}`);
    this.opts = { ...opts };
  }

  get active(): number {
    return this.#active;
  }

  get queued(): number {
    return this.#queue.length;
  }

  /** Suggested wait before a refused client tries again, ms. */
  retryAfterMs(): number {
    return Math.round(Math.min(60_000, Math.max(1000, this.#avgSessionMs)));
  }

  /** Record a finished session's duration (feeds retryAfterMs). */
  observeSession(ms: number): void {
    this.#avgSessionMs = 0.8 * this.#avgSessionMs + 0.2 * ms;
  }

  /**
   * A slot for a session from `address`. Resolves with its release function (call once,
   * when the session ends); rejects with BUSY (details.retryAfterMs) when the address is
   * at its limit, the queue is full, the wait times out, or `signal` aborts it.
   */
  acquire(address: string, signal?: AbortSignal): Promise<() => void> {
    if ((this.#perAddress.get(address) ?? 0) >= this.opts.maxPerAddress) {
      return Promise.reject(this.#busy(`${this.opts.maxPerAddress} sessions from ${address} are already running`));
    }
    if (this.#active < this.opts.maxSessions && this.#queue.length === 0) return Promise.resolve(this.#take(address));
    if (this.#queue.length >= this.opts.maxQueue) {
      return Promise.reject(this.#busy(`all ${this.opts.maxSessions} session slots are in use and the queue is full`));
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        address,
        resolve,
        reject,
        timer: setTimeout(
          () => this.#drop(waiter, this.#busy(`no session slot came free within ${this.opts.queueTimeoutMs} ms`)),
          this.opts.queueTimeoutMs,
        ),
      };
      signal?.addEventListener(
        'abort',
        () => this.#drop(waiter, new PpnnError('CANCELLED', 'the client left the queue')),
        { once: true },
      );
      this.#queue.push(waiter);
    });
  }

  #busy(why: string): PpnnError {
    const retryAfterMs = this.retryAfterMs();
    return new PpnnError('BUSY', `server busy: ${why}; retry after ${(retryAfterMs / 1000).toFixed(0)} s`, {
      retryAfterMs,
    });
  }

  #drop(waiter: Waiter, err: PpnnError): void {
    const i = this.#queue.indexOf(waiter);
    if (i < 0) return;
    this.#queue.splice(i, 1);
    clearTimeout(waiter.timer);
    waiter.reject(err);
  }

  #take(address: string): () => void {
    this.#active++;
    this.#perAddress.set(address, (this.#perAddress.get(address) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#active--;
      const n = (this.#perAddress.get(address) ?? 1) - 1;
      if (n === 0) this.#perAddress.delete(address);
      else this.#perAddress.set(address, n);
      this.#next();
    };
  }

  #next(): void {
    while (this.#active < this.opts.maxSessions && this.#queue.length > 0) {
      const i = this.#queue.findIndex((w) => (this.#perAddress.get(w.address) ?? 0) < this.opts.maxPerAddress);
      if (i < 0) return;
      const [w] = this.#queue.splice(i, 1);
      clearTimeout(w!.timer);
      w!.resolve(this.#take(w!.address));
    }
  }
}
