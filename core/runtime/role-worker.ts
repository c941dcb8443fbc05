/**
 * Worker-thread entry for one protocol role. The local simulation runs the server and the
 * client each in its own thread, joined by a MessagePort transport that counts every byte;
 * the main thread only orchestrates and relays progress. The same file runs a client
 * against a remote `ppnn serve` (ws://) when `server` is given.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { toPpnnError } from '../errors.ts';
import { loadModel } from '../model/load.ts';
import type { Architecture } from '../model/types.ts';
import { ckksClientProviders, ckksServerProviders, summarizeHe } from '../protocol/ckks-provider.ts';
import type { LayerLevelTrace, ProgressEvent } from '../report/types.ts';
import { runClientSession } from '../protocol/client.ts';
import { cryptoMasks, seededMasks } from '../protocol/random.ts';
import { serveSession, type ProtocolScheme } from '../protocol/server.ts';
import { messagePortTransport } from '../transport/message-port.ts';
import { wsConnect } from '../transport/websocket.ts';
import type { Transport } from '../transport/transport.ts';

export type RoleWorkerData =
  | { role: 'cryptonets'; model: string; dataset: string; limit: number; seed: number }
  | { role: 'server'; model: string; port: MessagePort; shareBits?: number }
  | { role: 'client'; scheme: ProtocolScheme; port?: MessagePort; server?: string; images: Uint8Array; imageSize: number; count: number; batchSize?: number; inputBits?: number; seed?: number };

export type RoleWorkerEvent =
  | { type: 'preprocessed'; start: number; count: number; tally: unknown; levels: LayerLevelTrace[] }
  | { type: 'image'; index: number; logits: number[]; onlineMs: number; bytesClientToServer: number; bytesServerToClient: number }
  | { type: 'event'; event: ProgressEvent }
  | { type: 'done'; result: unknown }
  | { type: 'error'; error: { code: string; message: string } };

const post = (ev: RoleWorkerEvent): void => parentPort!.postMessage(ev);

function inputsFor(d: Extract<RoleWorkerData, { role: 'client' }>, arch: Architecture): Float64Array[] {
  const norm = arch.meta.inputNormalization ?? { mean: 0, std: 1 };
  return Array.from({ length: d.count }, (_, i) => {
    const px = d.images.subarray(i * d.imageSize, (i + 1) * d.imageSize);
    return Float64Array.from(px, (p) => (p / 255 - norm.mean) / norm.std);
  });
}

async function main(): Promise<void> {
  const d = workerData as RoleWorkerData;
  if (d.role === 'cryptonets') {
    // pure HE: no peer; run off the main thread so a UI host stays responsive
    const { runCryptoNetsReport } = await import('../baselines/cryptonets-report.ts');
    const report = await runCryptoNetsReport({ model: d.model, dataset: d.dataset, limit: d.limit, seed: d.seed }, { onEvent: (event) => post({ type: 'event', event }) });
    post({ type: 'done', result: report });
    return;
  }
  if (d.role === 'server') {
    const model = await loadModel(d.model);
    const t = messagePortTransport(d.port);
    const summary = await serveSession(t, { model, providers: ckksServerProviders(), ...(d.shareBits !== undefined ? { shareBits: d.shareBits } : {}) });
    post({ type: 'done', result: summary });
    t.close();
    return;
  }
  const t: Transport = d.server ? await wsConnect(d.server) : messagePortTransport(d.port!);
  const result = await runClientSession(t, (arch) => inputsFor(d, arch), {
    scheme: d.scheme,
    providers: ckksClientProviders(),
    random: d.seed !== undefined ? seededMasks(d.seed) : cryptoMasks,
    ...(d.batchSize ? { batchSize: d.batchSize } : {}),
    ...(d.inputBits !== undefined ? { inputBits: d.inputBits } : {}),
    onPreprocessed: (start, count, tally, stats) => post({ type: 'preprocessed', start, count, tally, levels: summarizeHe(stats, undefined).levels }),
    onImage: (index, logits, tally) => post({ type: 'image', index, logits: Array.from(logits), onlineMs: tally.wallMs, bytesClientToServer: tally.bytesClientToServer, bytesServerToClient: tally.bytesServerToClient }),
  });
  const { logits: _l, ...rest } = result;
  post({ type: 'done', result: rest });
  t.close();
}

main().catch((e) => post({ type: 'error', error: toPpnnError(e).toJSON() }));
