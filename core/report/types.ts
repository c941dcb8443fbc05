/**
 * Plain-data shapes of a run: what `ppnn infer --json` prints, what `ppnn bench` writes
 * per scheme into report.json, what progress events carry to the CLI bar and the UI.
 * Everything here is JSON-serialisable (no typed arrays, no SEAL objects) because it
 * crosses worker, socket and IPC boundaries.
 */

import type { HeOpCounts } from './he-ops.ts';

/** A scheme id of the registry (core/schemes/index.ts); reports from other builds may name others. */
export type SchemeId = string;
/** What a scheme id looks like (lower-case, digits, dashes): how a report reader checks one without the registry. */
export const SCHEME_ID_PATTERN = /^[a-z][a-z0-9-]{0,31}$/;

/** The numeric fields of every stage's StageMetrics, in CSV column order (the reader checks each). */
export const STAGE_NUMBERS = [
  'wallMs',
  'clientMs',
  'serverMs',
  'bytesClientToServer',
  'bytesServerToClient',
  'messages',
  'rounds',
] as const;
export type StageName = 'merging' | 'preprocessing' | 'online';
/** Stages of a report's tables and CSV: `setup` (keys, one-off per session) is kept apart from preprocessing. */
export type ReportStageName = 'merging' | 'setup' | 'preprocessing' | 'online';

/** The one HE op vocabulary (he-ops.ts): a stage's `he` counts. */
export type { HeOpCounts } from './he-ops.ts';

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
  /** null when the run had no plaintext reference (a remote run without --reference) */
  plaintext: number | null;
  maxLogitError: number | null;
  /** per-class logits, when the run kept them (`ppnn infer --logits`) */
  secureLogits?: number[];
  plaintextLogits?: number[];
}

export interface InferenceReport {
  formatVersion: 1;
  scheme: SchemeId;
  model: string;
  dataset: string;
  images: number;
  accuracy: number;
  /**
   * The plaintext reference figures: null when the run had none (a remote run without a local
   * reference model, `ppnn infer --server URL` without --reference): never 0 or made up.
   */
  plaintextAccuracy: number | null;
  agreement: number | null;
  maxLogitError: number | null;
  /**
   * Whole-run figures per stage. `setup` (key generation and upload, once per session) is
   * its own entry; reports written before it existed folded it into `preprocessing`.
   */
  stages: Record<StageName, StageMetrics> & { setup?: StageMetrics };
  /** medians over the run's images (setup excluded: it is a one-off, see `stages.setup`) */
  perImage: { onlineMs: number; onlineBytes: number; preprocessingMs: number; preprocessingBytes: number };
  /**
   * What a user waits for. coldMs: session start → first logits (the image given at session start);
   * warmMs: median submit → logits of the images whose preprocessed material was ready (`--prefetch`:
   * online stage only), null when no image was. Absent in reports written before it existed.
   */
  latency?: { coldMs: number; warmMs: number | null; warmImages: number; prefetch: number };
  ckks?: { polyModulusDegree: number; coeffModulusBits: number[]; scaleBits: number; slots: number };
  masks?: { inputHidingBits: number; shareHidingBits: number; notes: string };
  /** what protects the run (set for every interactive scheme) */
  security?: SecuritySummary;
  /** ring schemes: BFV parameters, fixed-point scales and the per-layer wrap-around limits */
  ring?: RingSummary;
  server?: string;
  /** seed of the client's masks; -1 when they came from the OS CSPRNG (no seed) */
  seed: number;
  results?: ImageResult[];
  /** float schemes: the server's precision plan (predicted max |logit error|, an upper bound, per linear step) */
  precision?: {
    targetError: number;
    predictedLogitError: number;
    meetsTarget: boolean;
    advice?: string;
    steps: { name: string; predictedLogitError: number }[];
  };
  /** linear maps before and after the merging stage */
  mergeSummary?: { before: number; after: number };
  /** whole run, wall clock */
  wallMs?: number;
  /** unique within a BenchReport: scheme · where · images (see `labelReports`) */
  label?: string;
  /** when this entry stands for several repeated runs: their spread */
  repeats?: RepeatSpread;
}

/** min / median / max of one figure over repeated runs. */
export interface Spread {
  min: number;
  median: number;
  max: number;
}

/** Spread over repeats of the per-image figures the ratios use (ms per image; total includes one-offs / image). */
export interface RepeatSpread {
  runs: number;
  onlineMs: Spread;
  preprocessingMs: Spread;
  totalMs: Spread;
}

/**
 * How a run's secrets are protected. online: 'perfect' when every online message is
 * uniform and independent of the inputs (ring shares), 'statistical' with the hiding in
 * bits per value otherwise (float masks). he: the preprocessing scheme;
 * circuitPrivacyBits: −log2 of the statistical distance that hides the weights in the HE
 * responses (BFV noise flooding; for CKKS the share mask's hiding, noise not flooded);
 * securityLevel: the HE parameters' bits of security (SEAL's 128-bit bounds).
 */
export interface SecuritySummary {
  online: 'perfect' | 'statistical';
  statisticalBits?: number;
  he: 'ckks' | 'bfv';
  circuitPrivacyBits: number;
  securityLevel: number;
}

export interface RingSummary {
  plainModulus: number;
  polyModulusDegree: number;
  coeffModulusBits: number[];
  floodBits: number;
  /** activation scale 2^f and the weight exponent of every linear map */
  f: number;
  /** scale the squares' outputs are truncated to before the next linear map (absent: none, 2^2f) */
  g?: number;
  weightScales: number[];
  /** per linear map: largest |output| carried without wrap-around, against its public bound */
  wrap: { step: string; scale: number; maxAbs: number; bound: number }[];
}

/** Progress events: the same stream drives the CLI progress bar and the UI charts. */
export type ProgressEvent =
  | { type: 'stage'; stage: StageName; state: 'start' | 'end'; wallMs?: number }
  | { type: 'layer'; stage: StageName; layer: string; index: number; total: number; levels?: number[] }
  /** preprocessing of one layer (offline step) of a batch finished; etaMs estimates the rest of the stage */
  | {
      type: 'layer-progress';
      stage: 'preprocessing';
      layer: string;
      index: number;
      total: number;
      imagesInBatch: number;
      etaMs?: number;
    }
  | {
      type: 'progress';
      stage: StageName;
      imagesDone: number;
      imagesTotal: number;
      bytesClientToServer: number;
      bytesServerToClient: number;
    }
  | { type: 'image'; result: ImageResult; runningAccuracy: number; runningAgreement: number | null }
  | { type: 'log'; message: string };

/**
 * Ratios of a run's per-image figures to the baseline run's (1 = same; < 1 = cheaper):
 * medians per image (over repeats when there are any), rounds per image, and a total
 * per image that spreads the one-off merging and setup over the run's images.
 */
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
  /** 2: ratios keyed by run label against an explicit baseline (1: keyed by scheme, read and upgraded) */
  version: 2;
  createdAt: string;
  command: string;
  model: string;
  dataset: string;
  /** images of every run; when runs differ, the largest count (see `mixedImages`) */
  images: number;
  /** true when the runs have different image counts (ratios are per image, still comparable) */
  mixedImages?: boolean;
  repeat: number;
  /** the bench's seed; -1 when runs used the OS CSPRNG (or differ: see each run's seed) */
  seed: number;
  machine: { platform: string; arch: string; cpus: number; cpuModel: string; memoryBytes: number; node: string };
  versions: Record<string, string>;
  /** one entry per run label (a bench aggregates repeats into the median run, with their spread) */
  schemes: InferenceReport[];
  /** every individual run, in the order they ran (schemes alternate) */
  runs: BenchRun[];
  /** label of the run every ratio is divided by */
  baseline: string;
  /** per label: its ratios to the baseline */
  ratios: Record<string, SchemeRatios>;
}

/** One run of a bench, in the order it ran. */
export interface BenchRun {
  scheme: SchemeId;
  /** the entry of `schemes` this run belongs to */
  label?: string;
  repeat: number;
  onlineMs: number;
  preprocessingMs: number;
  wallMs: number;
  /** per-image medians of this run */
  perImageOnlineMs?: number;
  perImagePreprocessingMs?: number;
  perImageTotalMs?: number;
}
