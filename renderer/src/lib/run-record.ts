/**
 * What the Run view knows about one session: folded from the progress-event stream while
 * it runs, then replaced by the final InferenceReport's exact figures. Pure functions (no
 * Svelte, no DOM) so they are tested directly.
 */
import type { BridgeError, SessionStartRequest } from '../../../core/bridge/contract.ts';
import type { ImageResult, InferenceReport, ProgressEvent, StageName } from '../../../core/report/types.ts';

export const STAGES: readonly StageName[] = ['merging', 'preprocessing', 'online'];

export interface StageLive {
  wallMs?: number;
  imagesDone: number;
  bytesClientToServer: number;
  bytesServerToClient: number;
  running: boolean;
}

export interface LayerLevels {
  layer: string;
  entry: number;
  left: number;
}

function levelsOf(layer: string, levels: readonly number[]): LayerLevels {
  return { layer, entry: Math.max(...levels), left: Math.min(...levels) };
}

/** Where the preprocessing of the current batch is: the last layer it finished. */
export interface PreprocessingLive {
  layer: string;
  /** layers done in this batch (1-based) of `total` */
  done: number;
  total: number;
  imagesInBatch: number;
  /** images whose preprocessing finished (earlier batches) */
  imagesBefore: number;
  etaMs?: number;
  /** Date.now() when this was seen, to count the ETA down between events */
  at: number;
}

export interface RunRecord {
  sessionId: string;
  request: SessionStartRequest;
  /** 'cancelled': stopped by the user; what finished before stays */
  status: 'running' | 'done' | 'error' | 'cancelled';
  startedAt: number;
  imagesDone: number;
  imagesTotal: number;
  currentStage?: StageName;
  stages: Record<StageName, StageLive>;
  /**
   * Per layer, in order seen: the highest remaining level of its ciphertexts (the level
   * they arrive with) and the lowest (what is left after the layer's rescalings).
   */
  layerLevels: LayerLevels[];
  accuracy: number[];
  /** null once an image had no plaintext reference (a remote run without one) */
  agreement: (number | null)[];
  results: ImageResult[];
  lastLog?: string;
  preprocessing?: PreprocessingLive;
  report?: InferenceReport;
  error?: BridgeError;
}

/** A fresh record for a session that has just been started. */
export function newRunRecord(sessionId: string, request: SessionStartRequest): RunRecord {
  const stage = (): StageLive => ({ imagesDone: 0, bytesClientToServer: 0, bytesServerToClient: 0, running: false });
  return {
    sessionId,
    request,
    status: 'running',
    startedAt: Date.now(),
    imagesDone: 0,
    imagesTotal: request.limit,
    stages: { merging: stage(), preprocessing: stage(), online: stage() },
    layerLevels: [],
    accuracy: [],
    agreement: [],
    results: [],
  };
}

/** Fold one progress event into `run` (mutates: the record lives in Svelte state). */
export function applyEvent(run: RunRecord, ev: ProgressEvent): void {
  switch (ev.type) {
    case 'stage': {
      const s = run.stages[ev.stage];
      s.running = ev.state === 'start';
      if (ev.state === 'start') run.currentStage = ev.stage;
      if (ev.wallMs !== undefined) s.wallMs = ev.wallMs;
      break;
    }
    case 'layer': {
      if (ev.levels && ev.levels.length > 0 && ev.stage !== 'online') {
        const seen = levelsOf(ev.layer, ev.levels);
        const at = run.layerLevels.findIndex((l) => l.layer === ev.layer);
        if (at >= 0) run.layerLevels[at] = seen;
        else run.layerLevels.push(seen);
      }
      run.currentStage = ev.stage;
      break;
    }
    case 'layer-progress': {
      run.preprocessing = {
        layer: ev.layer,
        done: ev.index + 1,
        total: ev.total,
        imagesInBatch: ev.imagesInBatch,
        imagesBefore: run.stages.preprocessing.imagesDone,
        at: Date.now(),
        ...(ev.etaMs !== undefined ? { etaMs: ev.etaMs } : {}),
      };
      run.currentStage = 'preprocessing';
      break;
    }
    case 'progress': {
      const s = run.stages[ev.stage];
      s.bytesClientToServer = ev.bytesClientToServer;
      s.bytesServerToClient = ev.bytesServerToClient;
      s.imagesDone = ev.imagesDone;
      run.imagesTotal = ev.imagesTotal;
      if (ev.stage === 'online') run.imagesDone = Math.max(run.imagesDone, ev.imagesDone);
      run.currentStage = ev.stage;
      break;
    }
    case 'image':
      run.results.push(ev.result);
      run.accuracy.push(ev.runningAccuracy);
      run.agreement.push(ev.runningAgreement);
      run.imagesDone = Math.max(run.imagesDone, run.results.length);
      break;
    case 'log':
      run.lastLog = ev.message;
      break;
  }
}

/** Mark `run` finished with the engine's report: exact figures replace the live ones. */
export function finishRun(run: RunRecord, report: InferenceReport): void {
  run.status = 'done';
  run.report = report;
  run.imagesDone = report.images;
  run.imagesTotal = report.images;
  for (const s of STAGES) {
    const m = report.stages[s];
    if (!m) continue;
    run.stages[s] = {
      wallMs: m.wallMs,
      imagesDone: report.images,
      bytesClientToServer: m.bytesClientToServer,
      bytesServerToClient: m.bytesServerToClient,
      running: false,
    };
  }
  const levels = report.stages.preprocessing?.levels;
  if (levels && levels.length > 0)
    run.layerLevels = levels.map((l) =>
      l.levels.length ? levelsOf(l.layer, l.levels) : { layer: l.layer, entry: 0, left: 0 },
    );
  if (report.results && report.results.length >= run.results.length) run.results = [...report.results];
}

/**
 * Fraction 0..1 of the run done, for the progress bar. Preprocessing and the online stage
 * each walk all images: two halves; within preprocessing, the layers of the current batch
 * count too, so the bar moves before the first image is done.
 */
export function runFraction(run: RunRecord): number {
  if (run.status === 'done') return 1;
  if (run.imagesTotal <= 0) return 0;
  const p = run.preprocessing;
  const batch =
    p && p.imagesBefore + p.imagesInBatch > run.stages.preprocessing.imagesDone
      ? (p.done / p.total) * p.imagesInBatch
      : 0;
  const preImages = Math.max(
    run.stages.preprocessing.imagesDone + batch,
    run.stages.online.running || run.imagesDone > 0 ? run.imagesTotal : 0,
  );
  return Math.min(
    1,
    (Math.min(preImages, run.imagesTotal) + Math.min(run.imagesDone, run.imagesTotal)) / (2 * run.imagesTotal),
  );
}

/** The ETA of the preprocessing, counted down since its last event (ms; undefined when none). */
export function preprocessingEta(run: RunRecord, now = Date.now()): number | undefined {
  const p = run.preprocessing;
  if (!p || p.etaMs === undefined) return undefined;
  return Math.max(0, p.etaMs - (now - p.at));
}

/** The one-line status of a run: stage, layer and ETA while preprocessing, images online, the outcome after. */
export function runStatusText(run: RunRecord, formatMs: (ms: number) => string, now = Date.now()): string {
  if (run.status === 'done') return `done · ${run.imagesTotal} images`;
  if (run.status === 'cancelled') return `cancelled · ${run.results.length}/${run.imagesTotal} images finished`;
  if (run.status === 'error') return 'failed';
  const p = run.preprocessing;
  if (run.currentStage === 'preprocessing' && p) {
    const eta = preprocessingEta(run, now);
    const imgs = `images ${p.imagesBefore + 1}–${p.imagesBefore + p.imagesInBatch} of ${run.imagesTotal}`;
    return (
      `preprocessing · layer ${p.done}/${p.total} (${p.layer}) · ` +
      `${imgs}${eta !== undefined ? ` · about ` + `${formatMs(eta)} left` : ''}`
    );
  }
  return `${run.currentStage ?? 'starting'} · ${run.imagesDone}/${run.imagesTotal} images`;
}
