/**
 * Worker-thread entry for one protocol role. The local simulation runs the server and the
 * client each in its own thread, joined by a MessagePort transport that counts every byte;
 * the main thread only orchestrates and relays progress. The same file runs a client
 * against a remote `ppnn serve` (ws://) when `server` is given, and a non-interactive
 * scheme (CryptoNets) as the 'local' role.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { normalizePixels } from '../data/datasets.ts';
import { toPpnnError } from '../errors.ts';
import { checkSameArchitecture } from './checks.ts';
import type { MergeReport } from '../model/merge.ts';
import type { Architecture, Model } from '../model/types.ts';
import { ckksServerProviders, summarizeHe } from '../protocol/ckks-provider.ts';
import { cryptoMasks, seededMasks } from '../protocol/random.ts';
import type { ClientSessionResult, PreprocessProgress, ServerSessionSummary, StageTally } from '../protocol/roles.ts';
import type { InferenceReport, LayerLevelTrace, ProgressEvent } from '../report/types.ts';
import { runClientSession, schemeById, serveSession } from '../schemes/index.ts';
import { primeNetwork } from '../schemes/network.ts';
import { messagePortTransport } from '../transport/message-port.ts';
import { sendError, type Transport } from '../transport/transport.ts';
import { wsConnect } from '../transport/websocket.ts';

export type RoleWorkerData =
  | { role: 'local'; scheme: string; model: string; dataset: string; limit: number; seed: number }
  /** `network` is already the scheme's network (merged on the main thread): it is not merged again */
  | {
      role: 'server';
      scheme: string;
      network: Model;
      mergeReport: MergeReport;
      port: MessagePort;
      shareBits?: number;
      workers?: number;
      targetError?: number;
    }
  | {
      role: 'client';
      scheme: string;
      port?: MessagePort;
      server?: string;
      images: Uint8Array;
      imageSize: number;
      count: number;
      batchSize?: number;
      prefetch?: number;
      inputBits?: number;
      seed?: number;
      remote?: RemoteOptions;
      /** remote runs with a local reference model: its (merged) architecture, checked before set-up */
      reference?: { name: string; architecture: Architecture };
    };

/** How a remote client authenticates itself and checks the server (see wsConnect). */
export interface RemoteOptions {
  token?: string;
  ca?: string;
  pin?: string;
}

/** The client result as it crosses to the main thread (logits went out one by one as 'image' events). */
export type ClientDone = Omit<ClientSessionResult, 'logits'>;

export type RoleWorkerEvent =
  | { type: 'preprocessed'; start: number; count: number; tally: StageTally; levels: LayerLevelTrace[] }
  | { type: 'preprocess-progress'; progress: PreprocessProgress }
  | {
      type: 'image';
      index: number;
      logits: number[];
      onlineMs: number;
      bytesClientToServer: number;
      bytesServerToClient: number;
    }
  | { type: 'event'; event: ProgressEvent }
  | { type: 'done'; result: ClientDone | ServerSessionSummary | InferenceReport }
  | { type: 'error'; error: { code: string; message: string } };

const post = (ev: RoleWorkerEvent): void => parentPort!.postMessage(ev);

function inputsFor(d: Extract<RoleWorkerData, { role: 'client' }>, arch: Architecture): Float64Array[] {
  // the reference is checked on the arch message, before keys are made or any image is sent
  if (d.reference) checkSameArchitecture(arch, d.reference.architecture, d.reference.name);
  return Array.from({ length: d.count }, (_, i) =>
    normalizePixels(d.images.subarray(i * d.imageSize, (i + 1) * d.imageSize), arch.meta.inputNormalization),
  );
}

async function main(): Promise<void> {
  const d = workerData as RoleWorkerData;
  if (d.role === 'local') {
    // non-interactive: no peer; run off the main thread so a UI host stays responsive
    const scheme = schemeById(d.scheme);
    if (scheme.kind !== 'local') throw new Error(`${d.scheme} is not a local scheme`);
    const report = await scheme.runLocal(
      { model: d.model, dataset: d.dataset, limit: d.limit, seed: d.seed },
      { onEvent: (event) => post({ type: 'event', event }) },
    );
    post({ type: 'done', result: report });
    return;
  }
  if (d.role === 'server') {
    primeNetwork(d.network, d.scheme, { report: d.mergeReport });
    const t = messagePortTransport(d.port);
    const targetError = d.targetError !== undefined ? { targetError: d.targetError } : {};
    const summary = await serveSession(t, {
      model: d.network,
      schemes: [d.scheme],
      ...(d.shareBits !== undefined ? { shareBits: d.shareBits } : {}),
      ...targetError,
      ...((d.workers ?? 0) > 1 ? { providers: ckksServerProviders({ workers: d.workers!, ...targetError }) } : {}),
    });
    post({ type: 'done', result: summary });
    t.close();
    return;
  }
  const t: Transport = d.server ? await wsConnect(d.server, { ...d.remote }) : messagePortTransport(d.port!);
  const session = runClientSession(t, (arch) => inputsFor(d, arch), {
    scheme: d.scheme,
    random: d.seed !== undefined ? seededMasks(d.seed) : cryptoMasks,
    ...(d.batchSize ? { batchSize: d.batchSize } : {}),
    ...(d.prefetch ? { prefetch: d.prefetch } : {}),
    ...(d.inputBits !== undefined ? { inputBits: d.inputBits } : {}),
    onPreprocessProgress: (progress) => post({ type: 'preprocess-progress', progress }),
    onPreprocessed: (start, count, tally, stats) =>
      post({ type: 'preprocessed', start, count, tally, levels: summarizeHe(stats, null).levels }),
    onImage: (index, logits, tally) =>
      post({
        type: 'image',
        index,
        logits: Array.from(logits),
        onlineMs: tally.wallMs,
        bytesClientToServer: tally.bytesClientToServer,
        bytesServerToClient: tally.bytesServerToClient,
      }),
  });
  // a client-side refusal (ARCH_MISMATCH, SHAPE_MISMATCH) is told to the server and the socket closed,
  // so the server frees its slot now instead of at its idle deadline
  const result = await session.catch((e: unknown) => {
    sendError(t, e);
    t.close('client error');
    throw e;
  });
  const { logits: _l, ...rest } = result;
  post({ type: 'done', result: rest });
  t.close();
}

main().catch((e) => post({ type: 'error', error: toPpnnError(e).toJSON() }));
