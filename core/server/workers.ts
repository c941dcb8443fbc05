/**
 * Warm session threads: one (or a few) spare worker(s) already past module loading,
 * node-seal and the merging stage, so a session starts in milliseconds. Every thread
 * serves exactly one session and exits (see core/server/session-worker.ts for why); taking
 * a spare starts its replacement in the background. Spares cost one idle SEAL instance
 * each, which is part of the server's idle memory figure.
 */
import { Worker } from 'node:worker_threads';
import { PpnnError, errorFromJSON } from '../errors.ts';
import type { SessionWorkerEvent, SessionWorkerInit } from './session-worker.ts';

const WORKER_URL = new URL('./session-worker.ts', import.meta.url);

interface Spare {
  worker: Worker;
  ready: Promise<void>;
}

/** A small stock of warm session threads. */
export class WarmWorkers {
  readonly #init: SessionWorkerInit;
  readonly #spares: Spare[] = [];
  readonly #target: number;
  #closed = false;

  /** Throws RangeError for a negative spare count. */
  constructor(init: SessionWorkerInit, spares = 1) {
    if (!Number.isInteger(spares) || spares < 0) throw new RangeError(`spares must be an integer >= 0, got ${spares}`);
    this.#init = init;
    this.#target = spares;
    this.#refill();
  }

  /** A warm thread of its own for one session. Rejects with the thread's coded error when it cannot start. */
  async take(): Promise<Worker> {
    if (this.#closed) throw new PpnnError('CANCELLED', 'the server is shutting down');
    const spare = this.#spares.shift() ?? this.#spawn();
    this.#refill();
    await spare.ready;
    return spare.worker;
  }

  /** Terminate the spares (running sessions keep their threads). */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(this.#spares.splice(0).map((s) => s.worker.terminate()));
  }

  #refill(): void {
    while (!this.#closed && this.#spares.length < this.#target) {
      const spare = this.#spawn();
      // a spare that fails to warm up is dropped; take() then starts a fresh one
      spare.ready.catch(() => {
        const i = this.#spares.indexOf(spare);
        if (i >= 0) this.#spares.splice(i, 1);
      });
      spare.worker.unref();
      this.#spares.push(spare);
    }
  }

  #spawn(): Spare {
    const worker = new Worker(WORKER_URL, { workerData: this.#init });
    const ready = new Promise<void>((resolve, reject) => {
      const onMessage = (ev: SessionWorkerEvent): void => {
        worker.off('exit', onExit);
        if (ev.type === 'ready') resolve();
        else
          reject(
            ev.type === 'error'
              ? errorFromJSON(ev.error)
              : new PpnnError('INTERNAL', 'session thread: unexpected first event'),
          );
      };
      const onExit = (code: number): void =>
        reject(new PpnnError('INTERNAL', `session thread exited with code ${code} while warming up`));
      worker.once('message', onMessage);
      worker.once('exit', onExit);
    });
    ready.catch(() => {}); // observed by take() or refill
    return { worker, ready };
  }
}
