/**
 * Plain-data shapes of a run: what `ppnn infer --json` prints, what `ppnn bench` writes
 * per scheme into report.json, what progress events carry to the CLI bar and the UI.
 * Everything here is JSON-serialisable (no typed arrays, no SEAL objects) because it
 * crosses worker, socket and IPC boundaries.
 */

/** A scheme id of the registry (core/schemes/index.ts); reports from other builds may name others. */
export type SchemeId = string;
/** What a scheme id looks like (lower-case, digits, dashes): how a report reader checks one without the registry. */
export const SCHEME_ID_PATTERN = /^[a-z][a-z0-9-]{0,31}$/;
export type StageName = 'merging' | 'preprocessing' | 'online';

export interface HeOpCounts {
  encryptions: number;
  decryptions: number;
  ctPtMul: number;
  ctCtMul: number;
  rotations: number;
  additions: number;
  rescales: number;
  modSwitches: number;
  relinearizations: number;
}

export interface LayerLevelTrace {
  /** layer name in the (merged or unmerged) network */
  layer: string;
  /** levels (primes) the layer's evaluation consumed */
  levelsUsed: number;
  /** remaining modulus-chain length of the ciphertexts the layer produced/received */
  levels: number[];
  /** ciphertexts and their total byte size */
  ciphertexts: number;
  bytes: number;
}

export interface StageMetrics {
  wallMs: number;
  clientMs: number;
  serverMs: number;
  bytesClientToServer: number;
  bytesServerToClient: number;
  messages: number;
  rounds: number;
  he?: HeOpCounts;
  levels?: LayerLevelTrace[];
  peakRssBytes?: number;
}

export interface ImageResult {
  index: number;
  label: number;
  secure: number;
  plaintext: number;
  maxLogitError: number;
}

export interface InferenceReport {
  formatVersion: 1;
  scheme: SchemeId;
  model: string;
  dataset: string;
  images: number;
  accuracy: number;
  plaintextAccuracy: number;
  agreement: number;
  maxLogitError: number;
  stages: Record<StageName, StageMetrics>;
  perImage: { onlineMs: number; onlineBytes: number; preprocessingMs: number; preprocessingBytes: number };
  ckks?: { polyModulusDegree: number; coeffModulusBits: number[]; scaleBits: number; slots: number };
  masks?: { inputHidingBits: number; shareHidingBits: number; notes: string };
  server?: string;
  seed: number;
  results?: ImageResult[];
  /** linear maps before and after the merging stage */
  mergeSummary?: { before: number; after: number };
  /** whole run, wall clock */
  wallMs?: number;
}

/** Progress events: the same stream drives the CLI progress bar and the UI charts. */
export type ProgressEvent =
  | { type: 'stage'; stage: StageName; state: 'start' | 'end'; wallMs?: number }
  | { type: 'layer'; stage: StageName; layer: string; index: number; total: number; levels?: number[] }
  /** preprocessing of one layer (offline step) of a batch finished; etaMs estimates the rest of the stage */
  | { type: 'layer-progress'; stage: 'preprocessing'; layer: string; index: number; total: number; imagesInBatch: number; etaMs?: number }
  | { type: 'progress'; stage: StageName; imagesDone: number; imagesTotal: number; bytesClientToServer: number; bytesServerToClient: number }
  | { type: 'image'; result: ImageResult; runningAccuracy: number; runningAgreement: number }
  | { type: 'log'; message: string };

/** Ratios of a scheme's figures to the `merged` scheme's (1 = same; < 1 = cheaper than merged). */
export interface SchemeRatios {
  onlineMs: number;
  onlineBytes: number;
  onlineRounds: number;
  preprocessingMs: number;
  preprocessingBytes: number;
  totalMs: number;
}

/** What `ppnn bench` writes to report.json (and the UI imports). */
export interface BenchReport {
  format: 'ppnn-bench-report';
  version: 1;
  createdAt: string;
  command: string;
  model: string;
  dataset: string;
  images: number;
  repeat: number;
  seed: number;
  machine: { platform: string; arch: string; cpus: number; cpuModel: string; memoryBytes: number; node: string };
  versions: Record<string, string>;
  /** one aggregated report per scheme (medians over repeats), same images for all */
  schemes: InferenceReport[];
  /** every individual run, in the order they ran (schemes alternate) */
  runs: { scheme: SchemeId; repeat: number; onlineMs: number; preprocessingMs: number; wallMs: number }[];
  ratios: Partial<Record<SchemeId, SchemeRatios>>;
}
