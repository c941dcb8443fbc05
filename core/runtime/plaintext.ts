/**
 * Plaintext evaluation of a model on a dataset: the accuracy every secure run is compared
 * with (and what `ppnn eval` prints).
 */
import type { Dataset } from '../data/datasets.ts';
import { imageToInput } from '../data/datasets.ts';
import { PpnnError } from '../errors.ts';
import { argmax, forward } from '../model/forward.ts';
import type { Model } from '../model/types.ts';
import { shapeSize } from '../model/types.ts';
import type { ImageResult } from '../report/types.ts';

export interface PlaintextEval {
  model: string;
  dataset: string;
  split: string;
  images: number;
  correct: number;
  accuracy: number;
  ms: number;
}

/** Throws SHAPE_MISMATCH when the dataset's images cannot feed the model. */
export function checkDatasetFits(model: Model, ds: Dataset): void {
  const want = shapeSize(model.inputShape);
  const have = shapeSize(ds.shape);
  if (want !== have) {
    throw new PpnnError('SHAPE_MISMATCH', `dataset '${ds.name}' has images of shape [${ds.shape.join(',')}] but model '${model.name}' expects [${model.inputShape.join(',')}]`);
  }
}

/** The model input for image `i` of `ds`, normalised as the model was trained. */
export function modelInput(model: Model, ds: Dataset, i: number): Float64Array {
  return imageToInput(ds, i, model.meta.inputNormalization);
}

/** Accuracy of `model` on the first `limit` images of `ds` (all when omitted). */
export function evaluatePlaintext(model: Model, ds: Dataset, opts: { limit?: number; onProgress?: (done: number, total: number) => void } = {}): PlaintextEval {
  checkDatasetFits(model, ds);
  const total = Math.min(opts.limit ?? ds.count, ds.count);
  const t0 = performance.now();
  let correct = 0;
  for (let i = 0; i < total; i++) {
    if (argmax(forward(model, modelInput(model, ds, i))) === ds.labels[i]) correct++;
    if (opts.onProgress && (i % 100 === 99 || i === total - 1)) opts.onProgress(i + 1, total);
  }
  return { model: model.name, dataset: ds.name, split: ds.split, images: total, correct, accuracy: total ? correct / total : 0, ms: performance.now() - t0 };
}

/**
 * Running comparison of secure logits with the plaintext reference: the accuracy,
 * agreement and logit-error figures every scheme's report carries.
 */
export class SecureVsPlain {
  readonly results: ImageResult[] = [];
  #correct = 0;
  #agree = 0;
  #plainCorrect = 0;
  #maxErr = 0;

  /** Record image `index`; returns its ImageResult. */
  add(index: number, label: number, secure: ArrayLike<number>, plain: ArrayLike<number>): ImageResult {
    let err = 0;
    for (let k = 0; k < plain.length; k++) err = Math.max(err, Math.abs(secure[k]! - plain[k]!));
    this.#maxErr = Math.max(this.#maxErr, err);
    const r: ImageResult = { index, label, secure: argmax(secure), plaintext: argmax(plain), maxLogitError: err };
    if (r.secure === label) this.#correct++;
    if (r.secure === r.plaintext) this.#agree++;
    if (r.plaintext === label) this.#plainCorrect++;
    this.results.push(r);
    return r;
  }

  get runningAccuracy(): number { return this.#correct / Math.max(1, this.results.length); }
  get runningAgreement(): number { return this.#agree / Math.max(1, this.results.length); }

  /** Figures over `count` images (images not yet recorded count as wrong). */
  summary(count: number): { accuracy: number; plaintextAccuracy: number; agreement: number; maxLogitError: number } {
    return { accuracy: this.#correct / count, plaintextAccuracy: this.#plainCorrect / count, agreement: this.#agree / count, maxLogitError: this.#maxErr };
  }
}
