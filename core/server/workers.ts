/**
 * Warm session processes: one (or a few) spare child process(es) already past module
 * loading, node-seal and the merging stage, so a session starts in milliseconds. Every
 * process serves exactly one session and exits (see core/server/session-worker.ts for
 * why); taking a spare starts its replacement in the background. Spares cost one idle
 * Node process with its SEAL instance each (~60 MiB): part of the server's idle memory,
 * which `/metrics` reports with the session processes included (ppnn_session_rss_bytes).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PpnnError, errorFromJSON } from '../errors.ts';
import type { IpcChannel } from '../transport/ipc.ts';
import type { SessionStart, SessionWorkerEvent, SessionWorkerInit } from './session-worker.ts';

const WORKER_FILE = fileURLToPath(new URL('./session-worker.ts', import.meta.url));

/** One session's process, as the relay drives it. */
export class SessionProcess {
  readonly #child: ChildProcess;
  readonly exited: Promise<void>;
  #gone = false;

  constructor(init: SessionWorkerInit) {
    // no execArgv of ours (a test runner's loader flags, --expose-gc): the entry is plain
    // TypeScript for Node's type stripping; stdout stays the server's (it prints its URL)
    this.#child = fork(WORKER_FILE, [JSON.stringify(init)], {
      serialization: 'advanced',
      execArgv: [],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    // a process that cannot start (or be signalled) reports 'error', maybe with no 'exit':
    // either ends it here; the relay and warm-up see it as an exit (INTERNAL)
    this.exited = new Promise((resolve) => {
      this.#child.once('exit', () => resolve());
      this.#child.on('error', () => resolve()); // every 'error' handled: a second one must not crash the server
    });
    void this.exited.then(() => (this.#gone = true));
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** The IPC channel: the session's frames (core/transport/ipc.ts) and its events. */
  get channel(): IpcChannel {
    return this.#child as unknown as IpcChannel;
  }

  start(start: SessionStart): void {
    this.#child.send(start);
  }

  on(event: 'message', fn: (ev: SessionWorkerEvent) => void): void;
  on(event: 'error', fn: (e: Error) => void): void;
  on(event: 'exit', fn: (code: number | null) => void): void;
  on(event: 'message' | 'error' | 'exit', fn: (x: never) => void): void {
    this.#child.on(event, fn as (...a: unknown[]) => void);
  }

  once(event: 'message', fn: (ev: SessionWorkerEvent) => void): void;
  once(event: 'exit', fn: (code: number | null) => void): void;
  once(event: 'message' | 'exit', fn: (x: never) => void): void {
    this.#child.once(event, fn as (...a: unknown[]) => void);
  }

  off(event: 'message' | 'exit', fn: (x: never) => void): void {
    this.#child.off(event, fn as (...a: unknown[]) => void);
  }

  /** Keep the server's event loop alive for this process (a running session) or not (a spare). */
  ref(): void {
    this.#child.ref();
    this.#child.channel?.ref();
  }

  unref(): void {
    this.#child.unref();
    this.#child.channel?.unref();
  }

  /** Kill the process (SIGKILL: nothing in it is worth an orderly end) and wait for its exit. */
  terminate(): Promise<void> {
    if (!this.#gone) this.#child.kill('SIGKILL');
    return this.exited;
  }
}

interface Spare {
  worker: SessionProcess;
  ready: Promise<void>;
}

/** A small stock of warm session processes. */
export class WarmWorkers {
  readonly #init: SessionWorkerInit;
  readonly #spares: Spare[] = [];
  /** every live process this stock started (spares and running sessions) */
  readonly #pids = new Set<number>();
  readonly #target: number;
  #closed = false;

  /** Throws RangeError for a negative spare count. */
  constructor(init: SessionWorkerInit, spares = 1) {
    if (!Number.isInteger(spares) || spares < 0) throw new RangeError(`spares must be an integer >= 0, got ${spares}`);
    this.#init = init;
    this.#target = spares;
    this.#refill();
  }

  /** A warm process of its own for one session. Rejects with the process's coded error when it cannot start. */
  async take(): Promise<SessionProcess> {
    if (this.#closed) throw new PpnnError('CANCELLED', 'the server is shutting down');
    const spare = this.#spares.shift() ?? this.#spawn();
    this.#refill();
    await spare.ready;
    return spare.worker;
  }

  /** Terminate the spares (running sessions keep their processes). */
  async close(): Promise<void> {
    this.#closed = true;
    // ref first: an unref'd spare's exit would not keep the loop alive until it is seen
    await Promise.all(
      this.#spares.splice(0).map((s) => {
        s.worker.ref();
        return s.worker.terminate();
      }),
    );
  }

  /**
   * Resident memory of the live session processes (VmRSS from /proc; 0 where there is no
   * /proc): with the server's own RSS, the memory a session costs while it runs.
   */
  rssBytes(): number {
    let sum = 0;
    for (const pid of this.#pids) {
      try {
        sum += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
      } catch {
        // exited between the set and the read, or no /proc: counts 0
      }
    }
    return sum;
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
    const worker = new SessionProcess(this.#init);
    const pid = worker.pid;
    if (pid !== undefined) {
      this.#pids.add(pid);
      void worker.exited.then(() => this.#pids.delete(pid));
    }
    const ready = new Promise<void>((resolve, reject) => {
      const onMessage = (ev: SessionWorkerEvent): void => {
        worker.off('exit', onExit);
        if (ev.type === 'ready') resolve();
        else
          reject(
            ev.type === 'error'
              ? errorFromJSON(ev.error)
              : new PpnnError('INTERNAL', 'session process: unexpected first event'),
          );
      };
      const onExit = (code: number | null): void =>
        reject(new PpnnError('INTERNAL', `session process exited with code ${code} while warming up`));
      worker.once('message', onMessage);
      worker.once('exit', onExit);
      // a process that failed to start may report only 'error' (no 'exit'): do not wait forever
      void worker.exited.then(() => reject(new PpnnError('INTERNAL', 'session process ended while warming up')));
    });
    ready.catch(() => {}); // observed by take() or refill
    return { worker, ready };
  }
}
