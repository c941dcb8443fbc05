/**
 * The merging stage, once per model and scheme. `ppnn serve` serves many sessions of one
 * model, and a local run merges on the main thread and hands the result to the server
 * worker (`primeNetwork`), so no network is merged twice.
 */
import { mergeModel, type MergeResult } from '../model/merge.ts';
import type { Model } from '../model/types.ts';

const cache = new WeakMap<Model, Map<string, MergeResult>>();

/** How a scheme builds its network: merged by the cost model, or canonical with merging off. */
export type MergePolicy = 'cost-model' | 'none';

/** The network `schemeId` runs on `model` (merged once, then cached). */
export function cachedNetwork(model: Model, schemeId: string, policy: MergePolicy): MergeResult {
  let per = cache.get(model);
  if (!per) cache.set(model, (per = new Map()));
  let r = per.get(schemeId);
  if (!r) per.set(schemeId, (r = mergeModel(model, policy === 'none' ? { force: 'none' } : {})));
  return r;
}

/** Record that `network` already is `schemeId`'s network (the server worker receives it merged). */
export function primeNetwork(network: Model, schemeId: string, result: Omit<MergeResult, 'model'>): void {
  let per = cache.get(network);
  if (!per) cache.set(network, (per = new Map()));
  per.set(schemeId, { ...result, model: network });
}
