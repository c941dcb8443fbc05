/**
 * Child-process entry of one served session (forked by core/server/workers.ts with an
 * 'advanced' IPC channel): the whole SEAL side of a session (keys, evaluator, memory
 * pools) lives in this process, and everything it allocated goes when it exits.
 *
 * Why a process per session: WebAssembly memory grows but never shrinks, so a long-lived
 * process that ran its sessions on one SEAL instance kept its peak (issue 13: RSS
 * 104 → 359 MiB after fuzzing). A worker thread per session fixed the WebAssembly part but
 * not the rest: a thread's module loading, parsing and compiling allocate through glibc
 * malloc, whose arenas the whole process shares (two with `ppnn serve`'s tuning, see
 * core/server/memory.ts) and never hands back below a live chunk; the server's idle RSS
 * still rose 41 % over 2,000 fuzzed sessions, the growth in the main arena ([heap] +28 MiB
 * after 400). A process's exit returns all of it, by construction; a session that aborts
 * (out of memory in SEAL, a bug) also takes only itself down.
 *
 * A process starts warm (workers.ts keeps one spare): it loads its modules, node-seal and
 * the model, merges the network, then waits for its session, so a client's hello is
 * answered without the ~1 s of start-up a cold one needs.
 */
import { toPpnnError } from '../errors.ts';
import { loadSeal } from '../he/index.ts';
import { loadModel } from '../model/load.ts';
import { ckksServerProviders } from '../protocol/ckks-provider.ts';
import { schemeById, serveSession } from '../schemes/index.ts';
import { ipcTransport, type IpcChannel } from '../transport/ipc.ts';

/** Given at process start (as JSON in argv[2]): what every session of this server shares. */
export interface SessionWorkerInit {
  /** built-in model name or model file (loaded here; weights never leave the server) */
  model: string;
}

/** Sent to a warm process to start its (only) session; its frames follow on the same channel. */
export interface SessionStart {
  type: 'start';
  /** per-step idle deadline: the longest the session waits for the client's next message */
  idleMs: number;
  maxBatch: number;
  maxFrameBytes: number;
  shareBits?: number;
  /** HE worker threads of this session (0 or 1: inline) */
  workers?: number;
}

export type SessionWorkerEvent =
  | { type: 'ready' }
  | { type: 'done'; scheme: string; images: number; preprocessingMs: number; onlineMs: number }
  | { type: 'error'; error: { code: string; message: string } };

const channel = process as unknown as IpcChannel;
const post = (ev: SessionWorkerEvent): Promise<void> =>
  new Promise((resolve) => (process.send ? process.send(ev, () => resolve()) : resolve()));

async function main(): Promise<void> {
  if (!process.send) throw new Error('session-worker.ts runs as a forked child process (an IPC channel)');
  const init = JSON.parse(process.argv[2] ?? '{}') as SessionWorkerInit;
  const [model] = await Promise.all([loadModel(init.model), loadSeal()]);
  // merge now, not at hello: the interactive schemes cache their network per model
  for (const id of ['merged', 'unmerged']) {
    const s = schemeById(id);
    if (s.kind === 'interactive') s.network(model);
  }
  const start = await new Promise<SessionStart>((resolve) => {
    const onStart = (m: unknown): void => {
      if ((m as { type?: unknown } | null)?.type !== 'start') return;
      process.off('message', onStart);
      resolve(m as SessionStart);
    };
    process.on('message', onStart);
    void post({ type: 'ready' });
  });
  const t = ipcTransport(channel, { maxFrameBytes: start.maxFrameBytes });
  try {
    const s = await serveSession(t, {
      model,
      receiveTimeoutMs: start.idleMs,
      maxBatch: start.maxBatch,
      ...(start.shareBits !== undefined ? { shareBits: start.shareBits } : {}),
      ...((start.workers ?? 0) > 1 ? { providers: ckksServerProviders({ workers: start.workers! }) } : {}),
    });
    await post({
      type: 'done',
      scheme: s.scheme,
      images: s.images,
      preprocessingMs: s.preprocessingMs,
      onlineMs: s.onlineMs,
    });
  } finally {
    t.close();
  }
}

// the IPC channel keeps the process alive: leave it once the last event is out (the
// parent also kills a finished session's process; this is the orderly way out)
main()
  .catch((e) => post({ type: 'error', error: toPpnnError(e).toJSON() }))
  .finally(() => process.disconnect?.());
