import { argmax } from '../model/forward.ts';
import type { ImageResult } from './types.ts';

/**
 * Running comparison of secure logits with the plaintext reference: the accuracy,
 * agreement and logit-error figures every scheme's report carries. A remote run without a
 * local reference model passes `plain = null`: its plaintext figures are then null, never 0.
 */
export class SecureVsPlain {
  readonly results: ImageResult[] = [];
  #correct = 0;
  #agree = 0;
  #plainCorrect = 0;
  #maxErr = 0;
  #unreferenced = 0;

  /** Record image `index`; returns its ImageResult (with both logit vectors when `keepLogits`). */
  add(
    index: number,
    label: number,
    secure: ArrayLike<number>,
    plain: ArrayLike<number> | null,
    keepLogits = false,
  ): ImageResult {
    const r: ImageResult = { index, label, secure: argmax(secure), plaintext: null, maxLogitError: null };
    if (r.secure === label) this.#correct++;
    if (plain) {
      let err = 0;
      for (let k = 0; k < plain.length; k++) err = Math.max(err, Math.abs(secure[k]! - plain[k]!));
      this.#maxErr = Math.max(this.#maxErr, err);
      r.plaintext = argmax(plain);
      r.maxLogitError = err;
      if (r.secure === r.plaintext) this.#agree++;
      if (r.plaintext === label) this.#plainCorrect++;
    } else this.#unreferenced++;
    if (keepLogits) {
      r.secureLogits = Array.from(secure);
      if (plain) r.plaintextLogits = Array.from(plain);
    }
    this.results.push(r);
    return r;
  }

  get runningAccuracy(): number {
    return this.#correct / Math.max(1, this.results.length);
  }
  /** null once an image had no reference (agreement with nothing is not a figure) */
  get runningAgreement(): number | null {
    return this.#unreferenced > 0 ? null : this.#agree / Math.max(1, this.results.length);
  }

  /** Figures over `count` images (images not yet recorded count as wrong). */
  summary(count: number): {
    accuracy: number;
    plaintextAccuracy: number | null;
    agreement: number | null;
    maxLogitError: number | null;
  } {
    const ref = this.#unreferenced === 0;
    return {
      accuracy: this.#correct / count,
      plaintextAccuracy: ref ? this.#plainCorrect / count : null,
      agreement: ref ? this.#agree / count : null,
      maxLogitError: ref ? this.#maxErr : null,
    };
  }
}
