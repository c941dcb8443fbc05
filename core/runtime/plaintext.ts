/**
 * Plaintext evaluation of a model on a dataset: the accuracy every secure run is compared
 * with (and what `ppnn eval` prints).
 */
import type { Dataset } from '../data/datasets.ts';
import { argmax, forward } from '../model/forward.ts';
import { checkDatasetFits, modelInput } from '../model/input.ts';
import type { Model } from '../model/types.ts';

export interface PlaintextEval {
  model: string;
  dataset: string;
  split: string;
  images: number;
  correct: number;
  accuracy: number;
  ms: number;
}

/** Accuracy of `model` on the first `limit` images of `ds` (all when omitted). */
export function evaluatePlaintext(
  model: Model,
  ds: Dataset,
  opts: { limit?: number; onProgress?: (done: number, total: number) => void } = {},
): PlaintextEval {
  checkDatasetFits(model, ds);
  const total = Math.min(opts.limit ?? ds.count, ds.count);
  const t0 = performance.now();
  let correct = 0;
  for (let i = 0; i < total; i++) {
    if (argmax(forward(model, modelInput(model, ds, i))) === ds.labels[i]) correct++;
    if (opts.onProgress && (i % 100 === 99 || i === total - 1)) opts.onProgress(i + 1, total);
  }
  return {
    model: model.name,
    dataset: ds.name,
    split: ds.split,
    images: total,
    correct,
    accuracy: total ? correct / total : 0,
    ms: performance.now() - t0,
  };
}
