/** Shared fixtures of the renderer and bridge tests: one stage's metrics, a two-image report, the MNIST test set. */
import type { DatasetSummary } from '../../core/bridge/contract.ts';
import type { InferenceReport } from '../../core/report/types.ts';

/** One stage's metrics (every stage of `sampleReport` uses it). */
export const STAGE = {
  wallMs: 10,
  clientMs: 6,
  serverMs: 4,
  bytesClientToServer: 1000,
  bytesServerToClient: 2000,
  messages: 4,
  rounds: 2,
};

/** A two-image merged report of mnist-square (half right, half agreeing); `over` replaces fields. */
export function sampleReport(over: Partial<InferenceReport> = {}): InferenceReport {
  return {
    formatVersion: 1,
    scheme: 'merged',
    model: 'mnist-square',
    dataset: 'mnist',
    images: 2,
    accuracy: 0.5,
    plaintextAccuracy: 1,
    agreement: 0.5,
    maxLogitError: 2e-4,
    stages: { merging: STAGE, preprocessing: STAGE, online: STAGE },
    perImage: { onlineMs: 5, onlineBytes: 1500, preprocessingMs: 5, preprocessingBytes: 1500 },
    seed: 1,
    ...over,
  };
}

/** The built-in MNIST test set as the Data view reports it once loaded (a fresh object each call). */
export function mnistTest(): DatasetSummary {
  return {
    ref: 'mnist',
    name: 'mnist',
    split: 'test',
    count: 10000,
    shape: [1, 28, 28],
    labelNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
  };
}
