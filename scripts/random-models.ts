/**
 * Issue 15's random-model acceptance: random square-activation MNIST-shaped models with
 * fresh random weights (conv 5×5/2 → x² → dense → x² → dense; channels and hidden width
 * drawn too), calibrated on MNIST training images (`ppnn calibrate`'s policy, margin 0.25),
 * then run with `merged` on the first N test images; prints per model the agreement of the
 * secure with the plaintext argmax, the max |logit error| and the planner's bound.
 *
 *   nice -n 19 node_modules/.bin/node scripts/random-models.ts [models=5] [images=200] [calib=1000]
 *
 * Exit code 1 when a model's agreement is under 0.995. A run of 5 models × 200 images takes
 * a few minutes of CPU (keys and preprocessing dominate).
 */
import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { imageToInput, loadDataset } from '../core/data/datasets.ts';
import { calibrateBounds, DEFAULT_BOUND_MARGIN, withBounds } from '../core/model/bounds.ts';
import { modelToJSON } from '../core/model/json.ts';
import { runSession } from '../core/runtime/session.ts';
import { randomSquareModel } from '../test/helpers/random-model.ts';

const [models = 5, images = 200, calib = 1000] = process.argv.slice(2).map(Number);
const dir = mkdtempSync(join(tmpdir(), 'ppnn-random-'));
const train = await loadDataset('mnist', 'train');
const calibInputs = Array.from({ length: calib }, (_, i) => imageToInput(train, i));
let worst = 1;
try {
  for (let k = 0; k < models; k++) {
    const seed = randomInt(2 ** 31);
    const channels = [2, 4, 6][randomInt(3)]!,
      hidden = [16, 32, 64][randomInt(3)]!;
    const model = randomSquareModel(seed, { channels, hidden });
    const calibrated = withBounds(model, calibrateBounds(model, calibInputs), {
      dataset: 'mnist',
      split: 'train',
      images: calib,
      margin: DEFAULT_BOUND_MARGIN,
    });
    const file = join(dir, `random-${seed}.json`);
    writeFileSync(file, JSON.stringify(modelToJSON(calibrated)));
    const t0 = performance.now();
    const r = await runSession({ model: file, dataset: 'mnist', limit: images, scheme: 'merged' });
    worst = Math.min(worst, r.agreement!); // local runs always have the reference
    console.log(
      `model ${k + 1}/${models} seed ${seed} (conv ${channels} ch, hidden ${hidden}): ${r.images} images, ` +
        `agreement ${r.agreement!.toFixed(4)}, max |logit error| ${r.maxLogitError!.toExponential(2)}, ` +
        `bound ${r.precision?.predictedLogitError.toExponential(2) ?? '-'}, ` +
        `${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(`worst agreement ${worst.toFixed(4)} over ${models} models (acceptance: >= 0.995)`);
process.exit(worst >= 0.995 ? 0 : 1);
