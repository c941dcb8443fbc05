/**
 * CryptoNets as a bench scheme: load model and data like runSession does, run the pure-HE
 * network on all images batched in the slots, and express the result as an
 * InferenceReport. CryptoNets has no preprocessing and no interaction: its whole cost is
 * one upload of Enc(x), the server's evaluation, and one download of Enc(logits); all of
 * it is reported in the online stage.
 */
import { loadDataset } from '../data/datasets.ts';
import { forward } from '../model/forward.ts';
import { loadModel } from '../model/load.ts';
import type { InferenceReport, ProgressEvent } from '../report/types.ts';
import { checkDatasetFits, modelInput } from '../model/input.ts';
import { SecureVsPlain } from '../report/score.ts';
import { runCryptoNets } from './cryptonets.ts';

export async function runCryptoNetsReport(
  req: { model: string; dataset: string; limit: number; seed: number },
  h: { onEvent?: (ev: ProgressEvent) => void; signal?: AbortSignal } = {},
): Promise<InferenceReport> {
  const emit = h.onEvent ?? (() => {});
  const model = await loadModel(req.model);
  const ds = await loadDataset(req.dataset, 'test');
  checkDatasetFits(model, ds);
  const count = Math.min(req.limit, ds.count);
  const inputs = Array.from({ length: count }, (_, i) => modelInput(model, ds, i));
  const plain = inputs.map((x) => forward(model, x));
  emit({ type: 'stage', stage: 'online', state: 'start' });
  const t0 = performance.now();
  const r = await runCryptoNets(model, inputs, {
    onProgress: (ev) =>
      emit({ type: 'layer', stage: 'online', layer: ev.layer, index: ev.index, total: ev.total, levels: [ev.level] }),
    ...(h.signal ? { signal: h.signal } : {}),
  });
  const wallMs = performance.now() - t0;
  const score = new SecureVsPlain();
  r.logits.forEach((y, i) => {
    const res = score.add(i, ds.labels[i]!, y, plain[i]!);
    emit({
      type: 'image',
      result: res,
      runningAccuracy: score.runningAccuracy,
      runningAgreement: score.runningAgreement,
    });
  });
  emit({ type: 'stage', stage: 'online', state: 'end', wallMs });
  const zero = {
    wallMs: 0,
    clientMs: 0,
    serverMs: 0,
    bytesClientToServer: 0,
    bytesServerToClient: 0,
    messages: 0,
    rounds: 0,
  };
  const bytes = r.bytesClientToServer + r.bytesServerToClient;
  return {
    formatVersion: 1,
    scheme: 'cryptonets',
    model: model.name,
    dataset: ds.name,
    images: count,
    ...score.summary(count),
    stages: {
      merging: zero,
      preprocessing: zero,
      online: {
        wallMs,
        clientMs: r.clientMs,
        serverMs: r.serverMs,
        bytesClientToServer: r.bytesClientToServer,
        bytesServerToClient: r.bytesServerToClient,
        messages: 2,
        rounds: 1,
        he: r.he,
        levels: r.levels,
      },
    },
    // one batch serves every image: amortised per-image figures
    perImage: { onlineMs: wallMs / count, onlineBytes: bytes / count, preprocessingMs: 0, preprocessingBytes: 0 },
    ckks: r.params,
    seed: req.seed,
    results: score.results,
  };
}
