/**
 * Worker-thread entry of one served session: the whole SEAL side of a session (keys,
 * evaluator, memory pools) lives in this thread's own WebAssembly instance.
 *
 * Why a thread per session: WebAssembly memory grows but never shrinks, so a long-lived
 * process that ran its sessions on one SEAL instance kept its peak (issue 13: RSS
 * 104 → 359 MiB after fuzzing, 127 → 388 MiB after killed sessions, never returned).
 * When this thread exits its whole linear memory goes with it, whatever the session did.
 *
 * A thread starts warm (core/server/workers.ts keeps one spare): it loads its modules,
 * node-seal and the model, merges the network, then waits for its session, so a client's
 * hello is answered without the ~1 s of module loading a cold thread needs.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { toPpnnError } from '../errors.ts';
import { loadSeal } from '../he/index.ts';
import { loadModel } from '../model/load.ts';
import { ckksServerProviders } from '../protocol/ckks-provider.ts';
import { schemeById, serveSession } from '../schemes/index.ts';
import { messagePortTransport } from '../transport/message-port.ts';

/** Given at thread start: what every session of this server shares. */
export interface SessionWorkerInit {
  /** built-in model name or model file (loaded here; weights never leave the server) */
  model: string;
}

/** Posted to a warm thread to start its (only) session. */
export interface SessionStart {
  type: 'start';
  port: MessagePort;
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

const post = (ev: SessionWorkerEvent): void => parentPort!.postMessage(ev);

async function main(): Promise<void> {
  const init = workerData as SessionWorkerInit;
  const [model] = await Promise.all([loadModel(init.model), loadSeal()]);
  // merge now, not at hello: the interactive schemes cache their network per model
  for (const id of ['merged', 'unmerged']) {
    const s = schemeById(id);
    if (s.kind === 'interactive') s.network(model);
  }
  const start = await new Promise<SessionStart>((resolve) => {
    parentPort!.once('message', (m: SessionStart) => resolve(m));
    post({ type: 'ready' });
  });
  const t = messagePortTransport(start.port, { maxFrameBytes: start.maxFrameBytes });
  try {
    const s = await serveSession(t, {
      model,
      receiveTimeoutMs: start.idleMs,
      maxBatch: start.maxBatch,
      ...(start.shareBits !== undefined ? { shareBits: start.shareBits } : {}),
      ...((start.workers ?? 0) > 1 ? { providers: ckksServerProviders({ workers: start.workers! }) } : {}),
    });
    post({
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

main().catch((e) => post({ type: 'error', error: toPpnnError(e).toJSON() }));
