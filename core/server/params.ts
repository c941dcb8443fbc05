/**
 * The CKKS parameters and layer plans the server would propose for a model's default
 * session (scheme 'merged', default masks): what the memory estimate is made from. Pure
 * planning; no SEAL instance is created (node-seal is loaded lazily, by sessions only).
 */
import type { CkksParams, HeLayerSpec, Layout } from '../he/index.ts';
import type { Model, Shape } from '../model/types.ts';
import { ckksServerProviders, type CkksProposal } from '../protocol/ckks-provider.ts';
import { DEFAULT_MASKS, planServer } from '../protocol/plan.ts';
import { cachedNetwork } from '../schemes/network.ts';

export interface PlannedLayer {
  spec: HeLayerSpec;
  inputShape: Shape;
  /** true when a square activation follows (the correlated product doubles the response) */
  product: boolean;
}

/** Parameters, layout and linear layers of a default session of `model`. Throws the planner's coded errors. */
export function chooseParamsForModel(model: Model): { params: CkksParams; layout: Layout; layers: PlannedLayer[] } {
  const merged = cachedNetwork(model, 'merged', 'cost-model').model;
  const masks = { ...DEFAULT_MASKS };
  const steps = planServer(merged, masks);
  const info = ckksServerProviders().propose(steps, masks, 'merged');
  const proposal = info.params as CkksProposal;
  const layers: PlannedLayer[] = [];
  for (const st of steps) {
    if (st.kind !== 'linear') continue;
    layers.push({
      spec: st.spec as HeLayerSpec,
      inputShape: st.inShape,
      product: Boolean(st.next && st.next.poly.a !== 0),
    });
  }
  return { params: proposal.params, layout: proposal.layout, layers };
}
