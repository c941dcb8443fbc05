/**
 * Checks of a model against what it will run with, said before a run starts: which
 * schemes can run it (and why not), and whether the dataset is the one it was trained
 * on. Pure functions over plain data, so the CLI, the bridge and the app say the same.
 */
import type { Model } from '../model/types.ts';
import { architectureOf } from '../model/json.ts';
import { schemeSupport } from '../schemes/index.ts';

/** One scheme's verdict on a model. */
export interface SchemeVerdict {
  id: string;
  label: string;
  ok: boolean;
  /** why it cannot run the model */
  reason?: string;
}

/** Which registered schemes can run `model` and, for the others, why not. */
export function modelSchemeSupport(model: Model): SchemeVerdict[] {
  return schemeSupport(architectureOf(model));
}

export { datasetMismatch } from '../data/match.ts';
