/**
 * `ppnn plan` against a real run (issue 15: within 2× of each predicted time, within 10 %
 * of each predicted byte count). For each scheme: the plan (batch = the run's images, as
 * the client batches them), then a local run of the same images in the same process, and
 * predicted vs measured per stage with the ratio measured / predicted. Schemes the cost
 * model does not cover are listed with no prediction.
 *
 *   nice -n 19 node_modules/.bin/node scripts/plan-check.ts [model=mnist] [images=20] [schemes=merged,unmerged]
 *
 * Times need an idle machine (see /work/wt/_brief/measure/import.sh); bytes do not.
 * Exit code 1 when a byte ratio is outside [0.9, 1.1] or a time ratio outside [0.5, 2].
 */
import { loadModel } from '../core/model/load.ts';
import type { SchemeId } from '../core/report/types.ts';
import { planRun } from '../core/runtime/predict.ts';
import { runSession } from '../core/runtime/session.ts';

const [modelName = 'mnist', imagesArg = '20', schemesArg = 'merged,unmerged'] = process.argv.slice(2);
const images = Number(imagesArg);
const model = await loadModel(modelName);
let bad = 0;
const row = (what: string, predicted: number, measured: number, lo: number, hi: number): void => {
  const r = measured / predicted;
  const ok = predicted > 0 ? r >= lo && r <= hi : measured === 0;
  if (!ok) bad++;
  console.log(
    `  ${what.padEnd(26)} predicted ${predicted.toFixed(1).padStart(14)}  ` +
      `measured ${measured.toFixed(1).padStart(14)}` +
      `  ratio ${Number.isFinite(r) ? r.toFixed(3) : '-'}${ok ? '' : '  OUT OF BOUNDS'}`,
  );
};
for (const scheme of schemesArg.split(',') as SchemeId[]) {
  const [plan] = await planRun(model, { only: scheme, batch: images });
  if (!plan) continue;
  if (!plan.ok || !plan.stages) {
    console.log(`${scheme}: ${plan.reason ?? plan.notModelled ?? 'no prediction'}`);
    continue;
  }
  const r = await runSession({ model: modelName, dataset: model.meta.dataset ?? 'mnist', limit: images, scheme });
  const n = r.images;
  console.log(`${scheme}: ${n} images, batch ${plan.batch}, N=${plan.params?.polyModulusDegree}`);
  const p = plan.stages,
    m = r.stages;
  row('setup bytes c→s', p.setup.bytesClientToServer, m.setup?.bytesClientToServer ?? 0, 0.9, 1.1);
  row(
    'preprocessing bytes c→s/img',
    p.preprocessing.bytesClientToServer,
    m.preprocessing.bytesClientToServer / n,
    0.9,
    1.1,
  );
  row(
    'preprocessing bytes s→c/img',
    p.preprocessing.bytesServerToClient,
    m.preprocessing.bytesServerToClient / n,
    0.9,
    1.1,
  );
  row('online bytes c→s/img', p.online.bytesClientToServer, m.online.bytesClientToServer / n, 0.9, 1.1);
  row('online bytes s→c/img', p.online.bytesServerToClient, m.online.bytesServerToClient / n, 0.9, 1.1);
  row('preprocessing ms/img', p.preprocessing.ms, m.preprocessing.wallMs / n, 0.5, 2);
  row('online ms/img', p.online.ms, m.online.wallMs / n, 0.5, 2);
}
console.log(bad === 0 ? 'all within bounds' : `${bad} figure(s) out of bounds`);
process.exit(bad === 0 ? 0 : 1);
