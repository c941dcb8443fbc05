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
import { conv2d, dense } from '../core/model/forward.ts';
import { loadModel } from '../core/model/load.ts';
import { mergeModel } from '../core/model/merge.ts';
import { DEFAULT_MASKS, planServer } from '../core/protocol/plan.ts';
import { chooseScales, ringSteps, type RingServerLinearStep, type RingTruncStep } from '../core/protocol/ring-plan.ts';
import { P, addMod, mulMod, subMod, toSigned } from '../core/ring/field.ts';
import { cryptoRing } from '../core/ring/random.ts';
import {
  clientOpening,
  maskBits,
  serverOpening,
  serverTruncMaterial,
  truncClientShare,
  truncServerShare,
} from '../core/ring/truncate.ts';
import { RING_F } from '../core/schemes/ring.ts';

const [modelName = 'mnist', dsName = 'mnist', limitArg = '10000', scheme = 'merged-ring'] = process.argv.slice(2);
const model = await loadModel(modelName);
const ds = await loadDataset(dsName, 'test');
const net = mergeModel(model, scheme === 'delphi' ? { force: 'none' } : {}).model;
const plan = planServer(net, DEFAULT_MASKS);
const scales = chooseScales(plan, RING_F);
const steps = ringSteps(plan, scales);
const limit = Math.min(Number(limitArg), ds.count);

/** Truncate integer values y (|y| < 2^(l−1)) through the protocol; returns the reconstructed results. */
function truncateShared(t: RingTruncStep['trunc'], y: Float64Array): Float64Array {
  const n = y.length,
    R = cryptoRing;
  const ys = R.uniform(n),
    yc = y.map((v, i) => subMod(v < 0 ? v + P : v, ys[i]!));
  const A = R.uniform(n),
    { q, x } = serverTruncMaterial(t, A);
  const b = R.bits(n),
    nu = R.uniform(n);
  const h = b.map((bi, i) => subMod(bi ? x[i]! : 0, nu[i]!));
  const d = serverOpening(t, ys, A);
  const { P: Pc, gamma } = clientOpening(t, yc, d);
  const e = maskBits(gamma, b);
  const c = truncClientShare(Pc, e, h),
    s = truncServerShare(q, x, e, nu);
  return c.map((v, i) => toSigned(addMod(v, s[i]!)));
}

let values = 0,
  wrong = 0,
  outOfRange = 0,
  offByOne = 0;
const t0 = performance.now();
for (let img = 0; img < limit; img++) {
  let v: Float64Array = imageToInput(ds, img, model.meta.inputNormalization).map((a) => Math.round(a * 2 ** RING_F));
  let shape = net.inputShape;
  for (let k = 0; k < steps.length; k++) {
    const s = steps[k]!;
    if (s.kind !== 'linear') continue;
    const ls = s as RingServerLinearStep,
      w = ls.weightScale;
    const layer = {
      ...ls.layer,
      weight: ls.layer.weight.map((a) => Math.round(a * 2 ** w)),
      bias: ls.layer.bias.map((a) => Math.round(a * 2 ** (ls.inScale + w))),
    };
    const y = layer.kind === 'conv2d' ? conv2d(layer, v, shape) : dense(layer, v); // exact: integers < 2^53
    shape = ls.base.outShape;
    if (ls.last) break;
    const tr = steps[k + 1] as RingTruncStep,
      lim = 2 ** (tr.trunc.l - 1);
    const got = truncateShared(tr.trunc, y);
    for (let i = 0; i < y.length; i++) {
      values++;
      if (Math.abs(y[i]!) >= lim) outOfRange++;
      const want = Math.floor(y[i]! / 2 ** tr.trunc.d),
        err = Math.abs(got[i]! - want);
      if (err > 1) wrong++;
      else if (err === 1) offByOne++;
    }
    v = tr.kind === 'square' ? got.map((a) => a * a) : got;
    if (tr.kind === 'square') for (const a of v) if (a >= 2 ** 53) throw new Error('square beyond exact doubles');
    void mulMod;
  }
  if (img % 1000 === 999) console.error(`${img + 1} images…`);
}
console.log(
  JSON.stringify({
    model: modelName,
    scheme,
    images: limit,
    truncatedValues: values,
    wrongTruncations: wrong,
    wrongRate: wrong / values,
    offByOneUlp: offByOne,
    outOfRange,
    seconds: (performance.now() - t0) / 1000,
  }),
);
