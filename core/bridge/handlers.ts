/**
 * Node-side implementation of the bridge contract: every channel calls the real engine
 * and answers `{ ok, value } | { ok: false, error }`. Electron's main process and the web
 * host both route to one `createBridgeHandlers(emit)` per window / socket, so sessions and
 * uploaded files belong to the UI that started them and die with it (`dispose`).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, extname, join } from 'node:path';
import { BUILTIN_DATASETS, loadDataset, type Dataset } from '../data/datasets.ts';
import { PpnnError, toPpnnError } from '../errors.ts';
import { builtinModels, loadModel, modelFromBytes } from '../model/load.ts';
import { describeLayers, describeMergedLayers } from '../model/describe.ts';
import { modelSchemeSupport } from '../runtime/checks.ts';
import { mergeModel } from '../model/merge.ts';
import type { Model } from '../model/types.ts';
import type { RunSession } from '../runtime/api.ts';
import { schemeById, schemeIds } from '../schemes/index.ts';
import { parsePin, wsProbe } from '../transport/websocket.ts';
import type {
  BridgeHandlers,
  BridgeResult,
  DatasetSummary,
  EmitEvent,
  ModelSummary,
  PayloadOf,
  RemoteAccess,
} from './contract.ts';
import { reportsFromJSON, reportsToCSV, reportsToHTML, reportsToJSON } from './report-files.ts';

export interface BridgeHost {
  handlers: BridgeHandlers;
  /** cancel running sessions and delete uploaded files */
  dispose(): void;
}

/** Largest upload accepted (a model or an IDX file), after base64 decoding. */
const MAX_UPLOAD_BYTES = 64 * 1024 * 1024;
const MAX_SAMPLES = 400;

/** Wraps a handler body: thrown errors become `{ ok: false, error }` with a PpnnError code. */
async function answer<T>(body: () => T | Promise<T>): Promise<BridgeResult<T>> {
  try {
    return { ok: true, value: await body() };
  } catch (e) {
    const err = toPpnnError(e);
    const code = e instanceof TypeError || e instanceof RangeError ? 'ARGUMENT_INVALID' : err.code;
    return { ok: false, error: { code, message: err.message } };
  }
}

function decodeUpload(base64: unknown, what: string): Uint8Array {
  if (typeof base64 !== 'string' || base64.length === 0)
    throw new PpnnError('ARGUMENT_INVALID', `${what}: expected the file's bytes as base64`);
  if (base64.length * 0.75 > MAX_UPLOAD_BYTES)
    throw new PpnnError('ARGUMENT_INVALID', `${what}: file larger than ${MAX_UPLOAD_BYTES / 1048576} MiB`);
  return new Uint8Array(Buffer.from(base64, 'base64'));
}

function summarizeModel(model: Model, ref: string, source: 'builtin' | 'file'): ModelSummary {
  const t0 = performance.now();
  const { model: merged, report } = mergeModel(model);
  const mergeMs = performance.now() - t0;
  const acc = model.meta.accuracy;
  return {
    ref,
    name: model.name,
    source,
    inputShape: [...model.inputShape],
    ...(model.meta.dataset ? { dataset: model.meta.dataset } : {}),
    ...(model.meta.labels ? { labels: [...model.meta.labels] } : {}),
    ...(acc ? { trainedAccuracy: { ...acc } } : {}),
    before: { layers: describeLayers(model), counts: report.before },
    after: { layers: describeMergedLayers(model, merged, report.decisions), counts: report.after },
    schemes: modelSchemeSupport(model),
    decisions: report.decisions,
    saved: report.saved,
    mergeMs,
  };
}

function summarizeDataset(ds: Dataset, ref: string): DatasetSummary {
  return { ref, name: ds.name, split: ds.split, count: ds.count, shape: [...ds.shape], labelNames: [...ds.labelNames] };
}

/**
 * The engine's session runner, loaded on first use: worker pools and SEAL are heavy, and
 * a missing or broken runtime must become a readable error, not a crashed host.
 */
async function loadRunSession(): Promise<RunSession> {
  const spec = '../runtime/session.ts';
  let mod: { runSession?: RunSession };
  try {
    mod = (await import(spec)) as { runSession?: RunSession };
  } catch (e) {
    throw new PpnnError('INTERNAL', `the secure-inference runtime could not be loaded (${(e as Error).message})`);
  }
  if (typeof mod.runSession !== 'function')
    throw new PpnnError('INTERNAL', 'core/runtime/session.ts does not export runSession');
  return mod.runSession;
}

/** Resolves when a WebSocket handshake with `url` succeeds; PEER_DISCONNECTED / TIMEOUT otherwise. */
function readSecretFile(file: unknown, what: string): string {
  if (typeof file !== 'string' || file.length === 0)
    throw new PpnnError('ARGUMENT_INVALID', `${what}: expected a path`);
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    // the path is the user's own; the contents never go into a message
    throw new PpnnError(
      'FILE_NOT_FOUND',
      `cannot read the ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  }
}

/**
 * The remote fields of a request as wsConnect / runSession take them: token from its value or
 * file, CA from its PEM file, pin checked. Throws ARGUMENT_INVALID / FILE_NOT_FOUND (messages
 * never contain the token).
 */
function remoteAccess(url: string, p: RemoteAccess): { token?: string; ca?: string; pin?: string } {
  if (p.token && p.tokenFile) throw new PpnnError('ARGUMENT_INVALID', 'give the token or a token file, not both');
  if ((p.caFile || p.pin) && !/^wss:/i.test(url))
    throw new PpnnError('ARGUMENT_INVALID', 'a CA file or a pinned fingerprint needs a wss:// server');
  if (p.pin) {
    try {
      parsePin(p.pin);
    } catch {
      throw new PpnnError('ARGUMENT_INVALID', 'the pinned fingerprint must be sha256: followed by 64 hex digits');
    }
  }
  const token = (p.tokenFile ? readSecretFile(p.tokenFile, 'token file') : (p.token ?? '')).trim();
  return {
    ...(token ? { token } : {}),
    ...(p.caFile ? { ca: readSecretFile(p.caFile, 'CA file') } : {}),
    ...(p.pin ? { pin: p.pin.trim() } : {}),
  };
}

function checkServerUrl(url: unknown): string {
  if (typeof url !== 'string' || !/^wss?:\/\/[^\s/]+/.test(url))
    throw new PpnnError('ARGUMENT_INVALID', `server address must look like ws://host:port, got ${JSON.stringify(url)}`);
  return url;
}

/**
 * Handlers for one UI (window or socket). `emit` delivers session events to that UI only.
 */
export function createBridgeHandlers(emit: EmitEvent): BridgeHost {
  const sessions = new Map<string, AbortController>();
  let uploadDir: string | undefined;
  let nextSession = 1;
  const storeUpload = (name: string, bytes: Uint8Array): string => {
    uploadDir ??= mkdtempSync(join(tmpdir(), 'ppnn-studio-'));
    const path = join(uploadDir, `${Date.now().toString(36)}-${basename(name).replace(/[^\w.-]/g, '_')}`);
    writeFileSync(path, bytes);
    return path;
  };

  const handlers: BridgeHandlers = {
    'model:list': () =>
      answer(() => ({ models: builtinModels(), datasets: [...BUILTIN_DATASETS], schemes: schemeIds() })),

    'model:load': (p) =>
      answer(async () => {
        if (p?.source === 'builtin') return summarizeModel(await loadModel(String(p.name)), String(p.name), 'builtin');
        if (p?.source === 'file') {
          const ext = extname(String(p.name)).toLowerCase();
          if (ext !== '.json' && ext !== '.onnx')
            throw new PpnnError('MODEL_INVALID', `${p.name}: a model file must end in .json (PPNN model) or .onnx`);
          const bytes = decodeUpload(p.bytes, String(p.name));
          const model = await modelFromBytes(bytes, String(p.name));
          return summarizeModel(model, storeUpload(String(p.name), bytes), 'file');
        }
        throw new PpnnError('ARGUMENT_INVALID', "model:load needs source 'builtin' or 'file'");
      }),

    'model:plan': (p) =>
      answer(async () => {
        if (typeof p?.ref !== 'string' || p.ref.length === 0)
          throw new PpnnError('ARGUMENT_INVALID', 'model:plan: expected the ref of a loaded model');
        if (p.scheme !== undefined && !schemeIds().includes(p.scheme))
          throw new PpnnError('ARGUMENT_INVALID', `model:plan: unknown scheme '${String(p.scheme)}'`);
        if (p.batch !== undefined && !(Number.isInteger(p.batch) && p.batch >= 1 && p.batch <= 4096))
          throw new PpnnError('ARGUMENT_INVALID', 'model:plan: batch must be an integer in [1, 4096]');
        if (p.targetError !== undefined && !(p.targetError > 0 && Number.isFinite(p.targetError)))
          throw new PpnnError('ARGUMENT_INVALID', 'model:plan: targetError must be a positive number');
        const model = await loadModel(p.ref);
        // the same function `ppnn plan --json` prints, loaded on first use (it needs node-seal)
        const { planRun } = (await import('../runtime/predict.ts')) as typeof import('../runtime/predict.ts');
        const plans = await planRun(model, {
          ...(p.scheme ? { only: p.scheme } : {}),
          ...(p.batch !== undefined ? { batch: p.batch } : {}),
          ...(p.targetError !== undefined ? { targetError: p.targetError } : {}),
        });
        return { model: model.name, plans };
      }),

    'dataset:load': (p) =>
      answer(async () => {
        if (p?.source === 'builtin')
          return summarizeDataset(await loadDataset(String(p.name), p.split ?? 'test'), String(p.name));
        if (p?.source === 'files') {
          const images = storeUpload(`${p.name}-images.idx`, decodeUpload(p.images, 'images file'));
          const labels = storeUpload(`${p.name}-labels.idx`, decodeUpload(p.labels, 'labels file'));
          const ref = `${images}:${labels}`;
          return summarizeDataset(await loadDataset(ref, 'test'), ref);
        }
        throw new PpnnError('ARGUMENT_INVALID', "dataset:load needs source 'builtin' or 'files'");
      }),

    'dataset:samples': (p) =>
      answer(async () => {
        const ds = await loadDataset(String(p?.ref), p?.split ?? 'test');
        const offset = Math.max(0, Math.floor(Number(p?.offset) || 0));
        const count = Math.min(
          MAX_SAMPLES,
          Math.max(0, Math.floor(Number(p?.count) || 0)),
          Math.max(0, ds.count - offset),
        );
        const size = ds.shape[1] * ds.shape[2];
        return Array.from({ length: count }, (_, k) => {
          const index = offset + k;
          return {
            index,
            label: ds.labels[index]!,
            pixels: Buffer.from(ds.images.subarray(index * size, (index + 1) * size)).toString('base64'),
          };
        });
      }),

    'session:start': (p: PayloadOf<'session:start'>) =>
      answer(async () => {
        // a remote run needs no model (it is then only the plaintext reference)
        if (
          !p ||
          typeof p.dataset !== 'string' ||
          (typeof p.model !== 'string' && !(p.model === undefined && p.server))
        )
          throw new PpnnError('ARGUMENT_INVALID', 'session:start needs a loaded dataset, and a model unless remote');
        if (!Number.isInteger(p.limit) || p.limit < 1)
          throw new PpnnError('ARGUMENT_INVALID', `number of images must be a positive integer, got ${p.limit}`);
        schemeById(p.scheme);
        const server = p.server ? checkServerUrl(p.server) : undefined;
        const remote = server ? remoteAccess(server, p) : {};
        const runSession = await loadRunSession();
        const sessionId = `s${nextSession++}`;
        const abort = new AbortController();
        sessions.set(sessionId, abort);
        const req = {
          ...(p.model !== undefined ? { model: p.model } : {}),
          dataset: p.dataset,
          limit: p.limit,
          scheme: p.scheme,
          ...(server ? { server, ...remote } : {}),
          ...(p.seed !== undefined ? { seed: p.seed } : {}),
        };
        // Answer first, run after: the UI subscribes by sessionId and must not miss events.
        setImmediate(() => {
          runSession(req, { signal: abort.signal, onEvent: (event) => emit('session:event', { sessionId, event }) })
            .then((report) => emit('session:done', { sessionId, report }))
            .catch((e: unknown) => {
              const err = toPpnnError(e);
              emit('session:error', {
                sessionId,
                error: {
                  code: abort.signal.aborted ? 'CANCELLED' : err.code,
                  message: abort.signal.aborted ? 'run cancelled' : err.message,
                },
              });
            })
            .finally(() => sessions.delete(sessionId));
        });
        return { sessionId };
      }),

    'session:cancel': (p) =>
      answer(() => {
        const abort = sessions.get(String(p?.sessionId));
        abort?.abort(new PpnnError('CANCELLED', 'run cancelled'));
        return { cancelled: abort !== undefined };
      }),

    'server:connect': (p) =>
      answer(async () => {
        const url = checkServerUrl(p?.url);
        const remote = remoteAccess(url, p);
        const ms = await wsProbe(url, { ...remote, timeoutMs: 5000 });
        return { url, reachable: true as const, authenticated: remote.token !== undefined, ms };
      }),

    'report:export': (p) =>
      answer(() => {
        const reports = p?.reports;
        if (!Array.isArray(reports) || reports.length === 0)
          throw new PpnnError('ARGUMENT_INVALID', 'nothing to export: run a session or import a report first');
        if (p.format === 'json')
          return { fileName: 'report.json', mime: 'application/json', text: reportsToJSON(reports) };
        if (p.format === 'csv') return { fileName: 'report.csv', mime: 'text/csv', text: reportsToCSV(reports) };
        if (p.format === 'html') return { fileName: 'report.html', mime: 'text/html', text: reportsToHTML(reports) };
        throw new PpnnError('ARGUMENT_INVALID', `unknown report format '${String(p.format)}' (json, csv, html)`);
      }),

    'report:import': (p) => answer(() => reportsFromJSON(String(p?.text ?? ''), String(p?.fileName ?? 'report.json'))),

    'report:pdf': () =>
      answer(() => {
        throw new PpnnError(
          'ARGUMENT_INVALID',
          'PDF export is available in the desktop app; in the browser export HTML and print it',
        );
      }),
  };

  return {
    handlers,
    dispose() {
      for (const abort of sessions.values()) abort.abort(new PpnnError('CANCELLED', 'window closed'));
      sessions.clear();
      if (uploadDir) rmSync(uploadDir, { recursive: true, force: true });
      uploadDir = undefined;
    },
  };
}
