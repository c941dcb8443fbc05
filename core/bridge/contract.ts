/**
 * The one contract between the UI (renderer) and the core, served two ways: Electron IPC
 * (electron/preload.ts exposes one method per channel) and the local web host
 * (core/bridge/web-host.ts, JSON over WebSocket). Main, preload, web host and renderer all
 * import these types, so a channel cannot drift between them.
 *
 * Only plain JSON data crosses: bytes travel as base64 strings because the WebSocket path
 * is JSON, and typed arrays would silently become objects there. This file has no runtime
 * imports so the sandboxed preload and the browser bundle can include it as is.
 */
import type { RunRequest } from '../runtime/api.ts';
import type { ErrorCode } from '../errors.ts';
import type { LinearCost, MergeDecision, NetworkCounts } from '../model/merge.ts';
import type { InferenceReport, ProgressEvent, SchemeId } from '../report/types.ts';
import type { SchemePlan } from '../runtime/predict.ts';

export type { SchemePlan, StagePrediction } from '../runtime/predict.ts';

/** Every handler answers with this; failures carry a stable PpnnError code. */
export type BridgeResult<T> = { ok: true; value: T } | { ok: false; error: BridgeError };
export interface BridgeError {
  code: ErrorCode;
  message: string;
}

export interface LayerRow {
  name: string;
  kind: string;
  output: number[];
}

export interface ModelSummary {
  /** what session:start takes as `model`: a built-in name or a file the core stored */
  ref: string;
  name: string;
  source: 'builtin' | 'file';
  inputShape: number[];
  dataset?: string;
  labels?: string[];
  /** accuracy recorded when the model was trained */
  trainedAccuracy?: { value: number; dataset: string; split: string; images: number };
  before: { layers: LayerRow[]; counts: NetworkCounts };
  after: { layers: LayerRow[]; counts: NetworkCounts };
  decisions: MergeDecision[];
  saved: LinearCost;
  mergeMs: number;
  /** which schemes can run this model, and why not (checked at load, before any run) */
  schemes: { id: string; label: string; ok: boolean; reason?: string }[];
}

export interface DatasetSummary {
  /** what session:start takes as `dataset`: a built-in name or IDX files the core stored */
  ref: string;
  name: string;
  split: 'train' | 'test';
  count: number;
  /** CHW of one image */
  shape: [number, number, number];
  labelNames: string[];
}

export interface DatasetSample {
  index: number;
  label: number;
  /** H×W raw pixels 0..255, base64 */
  pixels: string;
}

/** The engine's RunRequest as the UI sends it (model/dataset are ModelSummary/DatasetSummary refs). */
/**
 * How the app reaches a remote `ppnn serve`: the token as a value or as a file the core reads
 * (never echoed, logged or put in a report), the server's CA as a PEM file, or a pinned
 * certificate fingerprint 'sha256:HEX' (wss:// only).
 */
export interface RemoteAccess {
  token?: string;
  tokenFile?: string;
  caFile?: string;
  pin?: string;
}

/** `model` is optional with `server`: it is then only the plaintext reference (see RunRequest). */
export type SessionStartRequest = Pick<RunRequest, 'model' | 'dataset' | 'limit' | 'scheme' | 'server' | 'seed'> &
  RemoteAccess;

export type ReportFormat = 'json' | 'csv' | 'html';

export interface ExportedReport {
  fileName: string;
  mime: string;
  text: string;
}

/** Request channels: payload the UI sends, value the core answers. */
export interface BridgeRequests {
  'model:list': {
    payload: Record<string, never>;
    value: { models: string[]; datasets: string[]; schemes: SchemeId[] };
  };
  'model:load': {
    payload: { source: 'builtin'; name: string } | { source: 'file'; name: string; /** base64 */ bytes: string };
    value: ModelSummary;
  };
  /** `ppnn plan` for a loaded model: every scheme's support and predicted time / bytes / logit error per stage */
  'model:plan': {
    payload: { ref: string; scheme?: SchemeId; batch?: number; targetError?: number };
    value: { model: string; plans: SchemePlan[] };
  };
  'dataset:load': {
    payload:
      | { source: 'builtin'; name: string; split?: 'train' | 'test' }
      | { source: 'files'; name: string; /** base64 IDX */ images: string; /** base64 IDX */ labels: string };
    value: DatasetSummary;
  };
  'dataset:samples': {
    payload: { ref: string; split?: 'train' | 'test'; offset: number; count: number };
    value: DatasetSample[];
  };
  'session:start': { payload: SessionStartRequest; value: { sessionId: string } };
  'session:cancel': { payload: { sessionId: string }; value: { cancelled: boolean } };
  /** TLS verified and the token proved, without starting a session (core/transport/websocket.ts wsProbe) */
  'server:connect': {
    payload: { url: string } & RemoteAccess;
    value: { url: string; reachable: true; authenticated: boolean; ms: number };
  };
  'report:export': { payload: { reports: InferenceReport[]; format: ReportFormat }; value: ExportedReport };
  'report:import': { payload: { fileName: string; text: string }; value: InferenceReport[] };
  /** Electron only: the HTML report printed to PDF via webContents.printToPDF and saved through a dialog */
  'report:pdf': { payload: { reports: InferenceReport[] }; value: { saved: boolean; path?: string } };
}

/** Events the core pushes to the UI. */
export interface BridgeEvents {
  'session:event': { sessionId: string; event: ProgressEvent };
  'session:done': { sessionId: string; report: InferenceReport };
  'session:error': { sessionId: string; error: BridgeError };
  /** Electron only: a model picked through the File menu's open dialog was loaded */
  'model:opened': { result: BridgeResult<ModelSummary> };
}

export type RequestChannel = keyof BridgeRequests;
export type EventChannel = keyof BridgeEvents;
export type PayloadOf<C extends RequestChannel> = BridgeRequests[C]['payload'];
export type ValueOf<C extends RequestChannel> = BridgeRequests[C]['value'];

export const REQUEST_CHANNELS: readonly RequestChannel[] = [
  'model:list',
  'model:load',
  'model:plan',
  'dataset:load',
  'dataset:samples',
  'session:start',
  'session:cancel',
  'server:connect',
  'report:export',
  'report:import',
  'report:pdf',
];
export const EVENT_CHANNELS: readonly EventChannel[] = [
  'session:event',
  'session:done',
  'session:error',
  'model:opened',
];

/** 'model:load' → 'modelLoad' (type level). */
export type MethodName<C extends string> = C extends `${infer A}:${infer B}` ? `${A}${Capitalize<B>}` : never;
/** 'session:event' → 'onSessionEvent' (type level). */
export type ListenerName<E extends string> = `on${Capitalize<MethodName<E>>}`;

/** 'model:load' → 'modelLoad'. */
export function methodName<C extends string>(channel: C): MethodName<C> {
  const [a, b = ''] = channel.split(':');
  return `${a}${b.charAt(0).toUpperCase()}${b.slice(1)}` as MethodName<C>;
}

/** 'session:done' → 'onSessionDone'. */
export function listenerName<E extends string>(event: E): ListenerName<E> {
  const m = methodName(event) as string;
  return `on${m.charAt(0).toUpperCase()}${m.slice(1)}` as ListenerName<E>;
}

/**
 * What the renderer sees as `window.ppnn` (Electron) or the WebSocket client (browser):
 * one method per request channel, one subscribe method per event (returns unsubscribe).
 */
export type PpnnApi = {
  [C in RequestChannel as MethodName<C>]: (payload: PayloadOf<C>) => Promise<BridgeResult<ValueOf<C>>>;
} & {
  [E in EventChannel as ListenerName<E>]: (listener: (payload: BridgeEvents[E]) => void) => () => void;
} & {
  /** 'electron' when PDF export and native dialogs exist */
  readonly host: 'electron' | 'browser';
};

/** The node-side implementation both hosts route to (core/bridge/handlers.ts). */
export type BridgeHandlers = { [C in RequestChannel]: (payload: PayloadOf<C>) => Promise<BridgeResult<ValueOf<C>>> };
export type EmitEvent = <E extends EventChannel>(event: E, payload: BridgeEvents[E]) => void;
