import { argmax } from '../model/forward.ts';
import type { ImageResult } from './types.ts';

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

  /** Record image `index`; returns its ImageResult (with both logit vectors when `keepLogits`). */
  add(
    index: number,
    label: number,
    secure: ArrayLike<number>,
    plain: ArrayLike<number>,
    keepLogits = false,
  ): ImageResult {
    let err = 0;
    for (let k = 0; k < plain.length; k++) err = Math.max(err, Math.abs(secure[k]! - plain[k]!));
    this.#maxErr = Math.max(this.#maxErr, err);
    const r: ImageResult = {
      index,
      label,
      secure: argmax(secure),
      plaintext: argmax(plain),
      maxLogitError: err,
      ...(keepLogits ? { secureLogits: Array.from(secure), plaintextLogits: Array.from(plain) } : {}),
    };
    if (r.secure === label) this.#correct++;
    if (r.secure === r.plaintext) this.#agree++;
    if (r.plaintext === label) this.#plainCorrect++;
    this.results.push(r);
    return r;
  }

  get runningAccuracy(): number {
    return this.#correct / Math.max(1, this.results.length);
  }
  get runningAgreement(): number {
    return this.#agree / Math.max(1, this.results.length);
  }

  /** Figures over `count` images (images not yet recorded count as wrong). */
  summary(count: number): { accuracy: number; plaintextAccuracy: number; agreement: number; maxLogitError: number } {
    return {
      accuracy: this.#correct / count,
      plaintextAccuracy: this.#plainCorrect / count,
      agreement: this.#agree / count,
      maxLogitError: this.#maxErr,
    };
  }
}
