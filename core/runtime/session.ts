/**
 * runSession: one secure-inference run, as the CLI (`ppnn infer`) and the app start it.
 * The main thread loads the model for the merging stage and the plaintext reference,
 * starts the roles in worker threads (or only the client, against a remote server),
 * relays progress events and assembles the InferenceReport.
 */
import { MessageChannel, Worker, type MessagePort, type TransferListItem } from 'node:worker_threads';
import { loadDataset } from '../data/datasets.ts';
import { PpnnError, errorFromJSON } from '../errors.ts';
import { forward } from '../model/forward.ts';
import { loadModel } from '../model/load.ts';
import { architectureOf } from '../model/json.ts';
import { shapeSize } from '../model/types.ts';
import { summarizeHe } from '../protocol/ckks-provider.ts';
import type { ClientSessionResult, ServerSessionSummary, StageTally } from '../protocol/roles.ts';
import { schemeById } from '../schemes/index.ts';
import { ringWrapTable, type RingProposal } from '../schemes/ring.ts';
import type { Architecture, Model } from '../model/types.ts';
import type { InferenceReport, RingSummary, SecuritySummary, StageMetrics } from '../report/types.ts';
import { median } from '../report/median.ts';
import type { RunHandlers, RunRequest } from './api.ts';
import { checkDatasetFits, modelInput } from '../model/input.ts';
import type { MergeReport } from '../model/merge.ts';
import { SecureVsPlain } from '../report/score.ts';
import type { ClientDone, RoleWorkerData, RoleWorkerEvent } from './role-worker.ts';

const WORKER_URL = new URL('./role-worker.ts', import.meta.url);

function stage(t: StageTally, clientMs: number, serverMs: number): StageMetrics {
  return {
    wallMs: t.wallMs,
    clientMs,
    serverMs,
    bytesClientToServer: t.bytesClientToServer,
    bytesServerToClient: t.bytesServerToClient,
    messages: t.messages,
    rounds: t.rounds,
  };
}

/** Start a role worker; resolves with its 'done' result, rejects with its coded error. */
function startRole<T>(
  data: RoleWorkerData,
  transfer: TransferListItem[],
  onEvent: (ev: RoleWorkerEvent) => void,
  signal?: AbortSignal,
): { done: Promise<T>; worker: Worker } {
  const worker = new Worker(WORKER_URL, { workerData: data, transferList: transfer });
  const done = new Promise<T>((resolve, reject) => {
    let settled = false;
    const abort = (): void => {
      settled = true;
      void worker.terminate();
      reject(new PpnnError('CANCELLED', 'session cancelled'));
    };
    signal?.addEventListener('abort', abort, { once: true });
    worker.on('message', (ev: RoleWorkerEvent) => {
      if (ev.type === 'done') {
        settled = true;
        resolve(ev.result as T);
      } else if (ev.type === 'error') {
        settled = true;
        reject(errorFromJSON(ev.error));
      } else onEvent(ev);
    });
    worker.on('error', (e) => {
      if (!settled) {
        settled = true;
        reject(e);
      }
    });
    worker.on('exit', (code) => {
      signal?.removeEventListener('abort', abort);
      if (!settled) reject(new PpnnError('INTERNAL', `${data.role} worker exited with code ${code} before finishing`));
    });
  });
  return { done, worker };
}

function ringSummaryOf(arch: Architecture, p: RingProposal): RingSummary {
  const b = p.bfv;
  return {
    plainModulus: b.plainModulus,
    polyModulusDegree: b.polyModulusDegree,
    coeffModulusBits: [...b.coeffModulusBits],
    floodBits: b.floodBits,
    f: p.scales.f,
    ...(p.scales.g !== undefined ? { g: p.scales.g } : {}),
    weightScales: [...p.scales.weightScales],
    wrap: ringWrapTable(arch, p.scales),
  };
}

/** The run's security summary from its scheme family and the parameters the client accepted. */
function securityOf(family: string, client: Pick<ClientSessionResult, 'provider' | 'masks'>): SecuritySummary {
  if (family === 'ring') {
    const b = (client.provider.params as RingProposal).bfv;
    return { online: 'perfect', he: 'bfv', circuitPrivacyBits: b.circuitPrivacyBits, securityLevel: b.securityLevel };
  }
  const bits = Math.min(client.masks.inputBits, client.masks.shareBits);
  return {
    online: 'statistical',
    statisticalBits: bits,
    he: 'ckks',
    circuitPrivacyBits: client.masks.shareBits,
    securityLevel: 128,
  };
}

function ckksOf(p: unknown): InferenceReport['ckks'] {
  const params = (p as { params?: { polyModulusDegree: number; coeffModulusBits: number[]; scaleBits: number } } | null)
    ?.params;
  return params
    ? {
        polyModulusDegree: params.polyModulusDegree,
        coeffModulusBits: [...params.coeffModulusBits],
        scaleBits: params.scaleBits,
        slots: params.polyModulusDegree / 2,
      }
    : undefined;
}

/** The precision plan the server proposed with its CKKS parameters (core/protocol/precision.ts), if any. */
function precisionOf(p: unknown): Pick<InferenceReport, 'precision'> {
  const plan = (
    p as {
      precision?: InferenceReport['precision'] & { steps: { name: string; predictedLogitError: number }[] };
    } | null
  )?.precision;
  if (!plan) return {};
  const { targetError, predictedLogitError, meetsTarget, advice } = plan;
  const steps = plan.steps.map((s) => ({ name: s.name, predictedLogitError: s.predictedLogitError }));
  return { precision: { targetError, predictedLogitError, meetsTarget, ...(advice ? { advice } : {}), steps } };
}

/** A non-interactive scheme (e.g. cryptonets) in one worker: both roles' computations, bytes counted. */
async function runLocalSession(req: RunRequest, handlers: RunHandlers): Promise<InferenceReport> {
  if (req.server)
    throw new PpnnError(
      'ARGUMENT_INVALID',
      `${req.scheme} runs locally only (it has no interactive protocol to serve)`,
    );
  if (!req.model) throw new PpnnError('ARGUMENT_INVALID', `${req.scheme} needs a model`);
  const emit = handlers.onEvent ?? (() => {});
  const data: RoleWorkerData = {
    role: 'local',
    scheme: req.scheme,
    model: req.model,
    dataset: req.dataset,
    limit: req.limit,
    seed: req.seed ?? -1,
  };
  const w = startRole<InferenceReport>(
    data,
    [],
    (ev) => {
      if (ev.type === 'event') emit(ev.event);
    },
    handlers.signal,
  );
  return w.done;
}

/** Run `req` end to end. Throws PpnnError with a code (bad model/dataset, protocol failures, CANCELLED). */
export async function runSession(req: RunRequest, handlers: RunHandlers = {}): Promise<InferenceReport> {
  const scheme = schemeById(req.scheme);
  if (!Number.isInteger(req.limit) || req.limit < 1)
    throw new PpnnError('ARGUMENT_INVALID', `limit must be a positive integer, got ${req.limit}`);
  if (scheme.kind === 'local') return runLocalSession(req, handlers);
  if (!req.server && !req.model)
    throw new PpnnError('ARGUMENT_INVALID', 'a local run needs a model (only a remote run can do without one)');
  const emit = handlers.onEvent ?? (() => {});
  // remote runs: the model, when given, is only the plaintext reference; without it the client works from the
  // architecture the server sends and the plaintext figures are null
  const model = req.model ? await loadModel(req.model) : undefined;
  if (model) {
    const why = scheme.unsupported(architectureOf(model));
    if (why) throw new PpnnError('MODEL_UNSUPPORTED_LAYER', why);
  }
  const ds = await loadDataset(req.dataset, 'test');
  if (model) checkDatasetFits(model, ds);
  const count = Math.min(req.limit, ds.count);

  // merging stage, once: the server worker receives this network and does not merge again (a remote server
  // merged its own at start-up; a remote reference is merged here only to compare architectures)
  let merged: { model: Model; report: MergeReport } | undefined;
  let mergeMs = 0;
  if (model) {
    emit({ type: 'stage', stage: 'merging', state: 'start' });
    const m0 = performance.now();
    merged = scheme.network(model);
    mergeMs = performance.now() - m0;
    emit({ type: 'stage', stage: 'merging', state: 'end', wallMs: mergeMs });
  }

  // plaintext reference (the harness knows both sides; neither role sees it)
  const plain = model ? Array.from({ length: count }, (_, i) => forward(model, modelInput(model, ds, i))) : null;
  const imageSize = shapeSize(ds.shape);
  const images = ds.images.slice(0, count * imageSize);

  const score = new SecureVsPlain();
  // traffic so far, per stage (the UI draws bytes per stage and direction live)
  const preBytes = { c2s: 0, s2c: 0 },
    onl = { c2s: 0, s2c: 0 };
  let onlineStarted = false;
  const preStart = performance.now();
  emit({ type: 'stage', stage: 'preprocessing', state: 'start' });
  const onClientEvent = (ev: RoleWorkerEvent): void => {
    if (ev.type === 'preprocess-progress') {
      const p = ev.progress;
      // ETA from the time per offline step so far (steps differ in cost; a first estimate)
      const stepsTotal = Math.ceil(count / Math.max(1, p.count)) * p.total;
      const stepsDone = Math.floor(p.batchStart / Math.max(1, p.count)) * p.total + p.done;
      const elapsed = performance.now() - preStart;
      const etaMs = stepsDone > 0 ? (elapsed / stepsDone) * (stepsTotal - stepsDone) : undefined;
      emit({
        type: 'layer-progress',
        stage: 'preprocessing',
        layer: p.layer,
        index: p.done - 1,
        total: p.total,
        imagesInBatch: p.count,
        ...(etaMs !== undefined ? { etaMs } : {}),
      });
    } else if (ev.type === 'preprocessed') {
      preBytes.c2s += ev.tally.bytesClientToServer;
      preBytes.s2c += ev.tally.bytesServerToClient;
      ev.levels.forEach((l, i) =>
        emit({
          type: 'layer',
          stage: 'preprocessing',
          layer: l.layer,
          index: i,
          total: ev.levels.length,
          levels: l.levels,
        }),
      );
      emit({
        type: 'progress',
        stage: 'preprocessing',
        imagesDone: ev.start + ev.count,
        imagesTotal: count,
        bytesClientToServer: preBytes.c2s,
        bytesServerToClient: preBytes.s2c,
      });
    } else if (ev.type === 'image') {
      if (!onlineStarted) {
        onlineStarted = true;
        emit({ type: 'stage', stage: 'online', state: 'start' });
      }
      onl.c2s += ev.bytesClientToServer;
      onl.s2c += ev.bytesServerToClient;
      const r = score.add(ev.index, ds.labels[ev.index]!, ev.logits, plain?.[ev.index] ?? null, req.keepLogits);
      emit({
        type: 'image',
        result: r,
        runningAccuracy: score.runningAccuracy,
        runningAgreement: score.runningAgreement,
      });
      emit({
        type: 'progress',
        stage: 'online',
        imagesDone: score.results.length,
        imagesTotal: count,
        bytesClientToServer: onl.c2s,
        bytesServerToClient: onl.s2c,
      });
    }
  };

  const wall0 = performance.now();
  const seed = req.seed;
  const clientData = (port?: MessagePort): RoleWorkerData => ({
    role: 'client',
    scheme: scheme.id,
    images,
    imageSize,
    count,
    ...(port ? { port } : {}),
    ...(req.server ? { server: req.server } : {}),
    ...(seed !== undefined ? { seed } : {}),
    ...(req.prefetch ? { prefetch: req.prefetch } : {}),
    ...(req.inputBits !== undefined ? { inputBits: req.inputBits } : {}),
    ...(req.server && merged && req.model
      ? { reference: { name: req.model, architecture: architectureOf(merged.model) } }
      : {}),
    ...(req.server
      ? {
          remote: {
            ...(req.token ? { token: req.token } : {}),
            ...(req.ca ? { ca: req.ca } : {}),
            ...(req.pin ? { pin: req.pin } : {}),
          },
        }
      : {}),
  });
  let client: ClientDone, server: ServerSessionSummary | undefined;
  if (req.server) {
    const c = startRole<ClientDone>(clientData(), [], onClientEvent, handlers.signal);
    client = await c.done;
  } else {
    if (!merged) throw new PpnnError('INTERNAL', 'a local run has its merged network');
    const { port1, port2 } = new MessageChannel();
    const serverData: RoleWorkerData = {
      role: 'server',
      scheme: scheme.id,
      network: merged.model,
      mergeReport: merged.report,
      port: port1,
      ...(req.shareBits !== undefined ? { shareBits: req.shareBits } : {}),
      ...(req.workers !== undefined ? { workers: req.workers } : {}),
      ...(req.targetError !== undefined ? { targetError: req.targetError } : {}),
    };
    const s = startRole<ServerSessionSummary>(serverData, [port1], () => {}, handlers.signal);
    const c = startRole<ClientDone>(clientData(port2), [port2], onClientEvent, handlers.signal);
    try {
      [client, server] = await Promise.all([c.done, s.done]);
    } catch (e) {
      void c.worker.terminate();
      void s.worker.terminate();
      throw e;
    }
  }
  const wallMs = performance.now() - wall0;
  emit({
    type: 'stage',
    stage: 'preprocessing',
    state: 'end',
    wallMs: client.preprocessing.wallMs + client.setup.wallMs,
  });
  emit({ type: 'stage', stage: 'online', state: 'end', wallMs: client.online.wallMs });

  const he = summarizeHe(client.stats, server?.stats);
  const ring =
    scheme.family === 'ring' ? ringSummaryOf(client.architecture, client.provider.params as RingProposal) : undefined;
  if (ring)
    emit({
      type: 'log',
      message:
        `ring p = ${ring.plainModulus}, f = ${ring.f}; largest |output| without wrap-around: ` +
        `${ring.wrap.map((w) => `${w.step} ${w.maxAbs.toPrecision(3)} (bound ${w.bound.toPrecision(3)})`).join(', ')}`,
    });
  const pre = client.preprocessing,
    on = client.online;
  const results = [...score.results].sort((a, b) => a.index - b.index);
  return {
    formatVersion: 1,
    scheme: scheme.id,
    model: model?.name ?? client.architecture.name,
    dataset: ds.name,
    images: count,
    ...score.summary(count),
    stages: {
      merging: {
        wallMs: mergeMs,
        clientMs: 0,
        serverMs: mergeMs,
        bytesClientToServer: 0,
        bytesServerToClient: 0,
        messages: 0,
        rounds: 0,
      },
      // key setup is a one-off per session: its own stage, so per-image and whole-run preprocessing agree
      setup: stage(client.setup, client.setup.wallMs - client.setup.serverMs, client.setup.serverMs),
      preprocessing: {
        ...stage(pre, pre.wallMs - pre.serverMs, server?.preprocessingMs ?? pre.serverMs),
        he: he.counts,
        levels: he.levels,
      },
      online: stage(on, on.wallMs - on.serverMs, server?.onlineMs ?? on.serverMs),
    },
    perImage: {
      onlineMs: median(client.perImage.onlineMs),
      onlineBytes: median(client.perImage.onlineBytes),
      preprocessingMs: median(client.perImage.preprocessingMs),
      preprocessingBytes: median(client.perImage.preprocessingBytes),
    },
    latency: { ...client.latency, prefetch: req.prefetch ?? 0 },
    ckks: ckksOf(client.provider.params),
    ...(ring
      ? { ring }
      : {
          masks: {
            inputHidingBits: client.masks.inputBits,
            shareHidingBits: client.masks.shareBits,
            notes: 'statistical hiding per value, see docs/PROTOCOL.md',
          },
        }),
    security: securityOf(scheme.family, client),
    ...precisionOf(client.provider.params),
    ...(req.server ? { server: req.server } : {}),
    seed: seed ?? -1,
    results,
    ...(merged
      ? { mergeSummary: { before: merged.report.before.linearMaps, after: merged.report.after.linearMaps } }
      : {}),
    wallMs,
  };
}
