/**
 * Wrong-truncation rate of the ring schemes' exact truncation, measured on a test set:
 * every value the protocol truncates (the outputs of every linear map but the last,
 * computed by the fixed-point network at the scheme's scales) goes through the
 * protocol's own arithmetic (core/ring/truncate.ts) on fresh uniform shares, with the
 * OLE values computed in the clear (what BFV returns exactly, test/ring/bfv.test.ts).
 * Counts results off by more than one unit in the last place, and values beyond the range
 * the protocol was sized for.
 *
 *   node_modules/.bin/node scripts/ring-truncation.ts mnist mnist 10000 [merged-ring|delphi]
 */
import { imageToInput, loadDataset } from '../core/data/datasets.ts';
import { loadModel } from '../core/model/load.ts';
import { mergeModel } from '../core/model/merge.ts';
import { ringSimPlan, simulateRing, type SimTrace } from '../core/protocol/ring-sim.ts';
import { cryptoRing } from '../core/ring/random.ts';

const [modelName = 'mnist', dsName = 'mnist', limitArg = '10000', scheme = 'merged-ring'] = process.argv.slice(2);
const model = await loadModel(modelName);
const ds = await loadDataset(dsName, 'test');
const net = mergeModel(model, scheme === 'delphi' ? { force: 'none' } : {}).model;
const { scales, steps, quantized } = ringSimPlan(net);
const limit = Math.min(Number(limitArg), ds.count);

let values = 0,
  wrong = 0,
  offByOne = 0;
// every truncation's result against ⌊y / 2^d⌋: the protocol rounds up with probability (y mod 2^d) / 2^d
const trace: SimTrace = {
  outOfRange: 0,
  onTrunc(step, y, got) {
    const div = 2 ** step.trunc.d;
    for (let i = 0; i < y.length; i++) {
      values++;
      const err = Math.abs(got[i]! - Math.floor(y[i]! / div));
      if (err > 1) wrong++;
      else if (err === 1) offByOne++;
    }
  },
};
const t0 = performance.now();
for (let img = 0; img < limit; img++) {
  simulateRing(steps, quantized, imageToInput(ds, img, model.meta.inputNormalization), cryptoRing, 'protocol', trace);
  if (img % 1000 === 999) console.error(`${img + 1} images…`);
}
console.log(
  JSON.stringify({
    model: modelName,
    scheme,
    images: limit,
    scales,
    truncatedValues: values,
    wrongTruncations: wrong,
    wrongRate: wrong / values,
    offByOneUlp: offByOne,
    outOfRange: trace.outOfRange,
    seconds: (performance.now() - t0) / 1000,
  }),
);
