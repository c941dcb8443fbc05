/**
 * Application state shared by the views (Svelte 5 runes). Everything that comes from the
 * core goes through `getBridge()`; failures land in a view's `error` field and are shown
 * by ErrorMessage, never swallowed.
 */
import type {
  BridgeError,
  BridgeResult,
  DatasetSample,
  DatasetSummary,
  ModelSummary,
  SessionStartRequest,
} from '../../../core/bridge/contract.ts';
import type { InferenceReport, ProgressEvent, SchemeId } from '../../../core/report/types.ts';
import { labelReports } from '../../../core/report/ratios.ts';
import { getBridge } from './bridge.ts';
import { applyEvent, finishRun, newRunRecord, type RunRecord } from './run-record.ts';

export type ViewName = 'model' | 'data' | 'run' | 'compare' | 'export';

class AppState {
  view = $state<ViewName>('model');
  builtinModels = $state<string[]>([]);
  builtinDatasets = $state<string[]>([]);
  schemes = $state<SchemeId[]>(['merged', 'unmerged', 'gazelle', 'cryptonets']);
  startupError = $state<BridgeError | null>(null);

  model = $state<ModelSummary | null>(null);
  modelError = $state<BridgeError | null>(null);
  modelBusy = $state(false);

  dataset = $state<DatasetSummary | null>(null);
  datasetError = $state<BridgeError | null>(null);
  datasetBusy = $state(false);
  samples = $state<DatasetSample[]>([]);

  /** time and byte axes of Run and Compare on a log scale (small stages stay visible beside big ones) */
  logScale = $state(true);

  runs = $state<RunRecord[]>([]);
  runError = $state<BridgeError | null>(null);
  imported = $state<InferenceReport[]>([]);

  /** The newest run (what the Run view shows). */
  get currentRun(): RunRecord | undefined {
    return this.runs[this.runs.length - 1];
  }

  /**
   * Finished runs' reports followed by imported ones: what Compare and Export offer, each
   * with a unique label (scheme · where · images, #2… on repeats).
   */
  get allReports(): InferenceReport[] {
    return labelReports([...this.runs.flatMap((r) => (r.report ? [r.report] : [])), ...this.imported]);
  }

  /** CKKS parameters of the newest report that has them. */
  get latestCkks(): InferenceReport | undefined {
    return [...this.allReports].reverse().find((r) => r.ckks);
  }
}

export const app = new AppState();

/** `value` of a bridge result; stores the error with `onError` and returns undefined on failure. */
export function unwrap<T>(result: BridgeResult<T>, onError: (e: BridgeError) => void): T | undefined {
  if (result.ok) return result.value;
  onError(result.error);
  return undefined;
}

/** Events can race the session:start answer; they wait here until the record exists. */
const early = new Map<string, ProgressEvent[]>();
/** The bridge whose events are subscribed (tests swap bridges between cases). */
let subscribedTo: unknown;

/** Subscribe once to session events and fetch the built-in lists. */
export async function initApp(): Promise<void> {
  const bridge = getBridge();
  if (subscribedTo !== bridge) {
    subscribedTo = bridge;
    bridge.onSessionEvent(({ sessionId, event }) => {
      const run = app.runs.find((r) => r.sessionId === sessionId);
      if (run) applyEvent(run, event);
      else early.set(sessionId, [...(early.get(sessionId) ?? []), event]);
    });
    bridge.onSessionDone(({ sessionId, report }) => {
      const run = app.runs.find((r) => r.sessionId === sessionId);
      if (run) finishRun(run, report);
    });
    bridge.onSessionError(({ sessionId, error }) => {
      const run = app.runs.find((r) => r.sessionId === sessionId);
      if (run) {
        // a cancel is the user's choice, not a failure: keep what finished and say so
        run.status = error.code === 'CANCELLED' ? 'cancelled' : 'error';
        if (error.code !== 'CANCELLED') run.error = error;
      }
    });
    bridge.onModelOpened(({ result }) => {
      app.view = 'model';
      app.modelError = null;
      const model = unwrap(result, (e) => {
        app.modelError = e;
      });
      if (model) app.model = model;
    });
  }
  const lists = unwrap(await bridge.modelList({}), (e) => {
    app.startupError = e;
  });
  if (lists) {
    app.builtinModels = lists.models;
    app.builtinDatasets = lists.datasets;
    app.schemes = lists.schemes;
  }
}

/** Start a run; its record appears in `app.runs` and fills from events. */
export async function startRun(request: SessionStartRequest): Promise<void> {
  app.runError = null;
  const started = unwrap(await getBridge().sessionStart(request), (e) => {
    app.runError = e;
  });
  if (!started) return;
  app.runs.push(newRunRecord(started.sessionId, request));
  const run = app.runs[app.runs.length - 1]!;
  for (const ev of early.get(started.sessionId) ?? []) applyEvent(run, ev);
  early.delete(started.sessionId);
}
