/**
 * Logit error of the ring schemes' fixed-point network against the float model, in the
 * clear (core/protocol/ring-sim.ts: the session's steps, scales and quantized weights, every
 * truncation through the protocol's arithmetic on fresh shares). Also with idealised
 * roundings and with unquantized weights, to attribute the error.
 *
 *   node_modules/.bin/node scripts/ring-precision.ts mnist mnist 1000 [merged-ring|delphi]
 */
import { imageToInput, loadDataset } from '../core/data/datasets.ts';
import { forward } from '../core/model/forward.ts';
import { loadModel } from '../core/model/load.ts';
import { mergeModel } from '../core/model/merge.ts';
import { chooseRingScales, chooseScales, type RingServerStep } from '../core/protocol/ring-plan.ts';
import { quantizeSteps, ringSimPlan, simulateRing, type SimRounding } from '../core/protocol/ring-sim.ts';
import type { QuantizedLinear } from '../core/ring/quantize.ts';
import { cryptoRing } from '../core/ring/random.ts';

const [modelName = 'mnist', dsName = 'mnist', limitArg = '1000', scheme = 'merged-ring'] = process.argv.slice(2);
const model = await loadModel(modelName);
const ds = await loadDataset(dsName, 'test');
const net = mergeModel(model, scheme === 'delphi' ? { force: 'none' } : {}).model;
const gEnv = process.env.RING_G ? Number(process.env.RING_G) : undefined;
const { scales, steps, quantized } = ringSimPlan(net, (plan) => {
  // RING_F / RING_G: another activation scale (experiments); default the scheme's own choice
  const chosen = process.env.RING_F ? chooseScales(plan, Number(process.env.RING_F), gEnv) : chooseRingScales(plan);
  // RING_WS=20,18,18,16 overrides the weight exponents (experiments only)
  return process.env.RING_WS ? { ...chosen, weightScales: process.env.RING_WS.split(',').map(Number) } : chosen;
});
const limit = Math.min(Number(limitArg), ds.count);

// the same matrices with the real weights (scaled, not rounded): isolates the weight quantization
const realWeights = quantizeSteps(steps, true);
// RING_REAL=0,2: real weights for those linear steps only, the others quantized (attribution)
const realSet = new Set((process.env.RING_REAL ?? '').split(',').filter(Boolean).map(Number));
const mixed = new Map<number, QuantizedLinear>();
[...quantized.keys()].forEach((idx, k) => mixed.set(idx, realSet.has(k) ? realWeights.get(idx)! : quantized.get(idx)!));
const variants: [string, SimRounding, ReadonlyMap<number, QuantizedLinear>][] = [
  ['protocol', 'protocol', quantized],
  ['nearest', 'nearest', quantized],
  ['floor', 'floor', quantized],
  ['exact-trunc', 'exact', quantized],
  ['real-weights', 'protocol', realWeights],
  ['mixed+exact', 'exact', mixed],
  ['real-w+exact', 'exact', realWeights],
];
const worst = variants.map(() => 0),
  sumSq = variants.map(() => 0),
  sumErr = variants.map(() => 0);
let agree = 0,
  count = 0;
const trace = { outOfRange: 0 };
for (let img = 0; img < limit; img++) {
  const x = imageToInput(ds, img, model.meta.inputNormalization);
  const ref = forward(model, x);
  variants.forEach(([, r, q], k) => {
    const got = simulateRing(steps, q, x, cryptoRing, r, k === 0 ? trace : undefined);
    for (let i = 0; i < ref.length; i++) {
      const e = got[i]! - ref[i]!;
      worst[k] = Math.max(worst[k]!, Math.abs(e));
      sumSq[k] = sumSq[k]! + e * e;
      sumErr[k] = sumErr[k]! + e;
    }
    if (k === 0 && got.indexOf(Math.max(...got)) === ref.indexOf(Math.max(...ref))) agree++;
  });
  count += ref.length;
}
console.log(
  JSON.stringify({
    model: modelName,
    scheme,
    images: limit,
    scales,
    agreement: agree / limit,
    outOfRange: trace.outOfRange,
  }),
);
variants.forEach(([name], k) =>
  console.log(
    `${name.padEnd(12)} max ${worst[k]!.toExponential(2)}  rms ${Math.sqrt(sumSq[k]! / count).toExponential(2)}  ` +
      `mean ${(sumErr[k]! / count).toExponential(2)}`,
  ),
);
