/**
 * Worker-thread entry of one served session: the whole SEAL side of a session (keys,
 * evaluator, memory pools) lives in this thread's own WebAssembly instance.
 *
 * Why a thread per session: WebAssembly memory grows but never shrinks, so a long-lived
 * process that ran its sessions on one SEAL instance kept its peak (issue 13: RSS
 * 104 → 359 MiB after fuzzing, 127 → 388 MiB after killed sessions, never returned).
 * When this thread exits its whole linear memory goes with it, whatever the session did;
 * the cost is a ~0.1 s start (node-seal load), small next to a session's key set-up.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { toPpnnError } from '../errors.ts';
import { loadModel } from '../model/load.ts';
import { ckksServerProviders } from '../protocol/ckks-provider.ts';
import { serveSession } from '../schemes/index.ts';
import { messagePortTransport } from '../transport/message-port.ts';

export interface SessionWorkerData {
  /** built-in model name or model file (loaded here; weights never leave the server) */
  model: string;
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
  | { type: 'done'; scheme: string; images: number; preprocessingMs: number; onlineMs: number }
  | { type: 'error'; error: { code: string; message: string } };

async function main(): Promise<void> {
  const d = workerData as SessionWorkerData;
  const t = messagePortTransport(d.port, { maxFrameBytes: d.maxFrameBytes });
  try {
    const model = await loadModel(d.model);
    const s = await serveSession(t, {
      model, receiveTimeoutMs: d.idleMs, maxBatch: d.maxBatch,
      ...(d.shareBits !== undefined ? { shareBits: d.shareBits } : {}),
      ...((d.workers ?? 0) > 1 ? { providers: ckksServerProviders({ workers: d.workers! }) } : {}),
    });
    const ev: SessionWorkerEvent = { type: 'done', scheme: s.scheme, images: s.images, preprocessingMs: s.preprocessingMs, onlineMs: s.onlineMs };
    parentPort!.postMessage(ev);
  } finally {
    t.close();
  }
}

main().catch((e) => parentPort!.postMessage({ type: 'error', error: toPpnnError(e).toJSON() } satisfies SessionWorkerEvent));
