/**
 * `ppnn plan` against a real run (issue 15: within 2× of each predicted time, within 10 %
 * of each predicted byte count). For each scheme: the plan (batch = the run's batch: its
 * images, at most 64, as the client batches them), then a local run of the same images in
 * the same process — or, with `--report FILE`, the runs of an existing report (a
 * `ppnn bench --json` report.json or a `ppnn infer --json` report: for a slow scheme such
 * as cryptonets, whose batch takes 7–40 min) — and predicted vs measured per stage with the
 * ratio measured / predicted. Schemes the cost model does not cover are listed with no prediction
 * (merged-ring and delphi are covered on square-activation models: predict-ring.ts).
 *
 *   nice -n 19 node_modules/.bin/node scripts/plan-check.ts [model=mnist] [images=20] [schemes=merged,unmerged]
 *   nice -n 19 node_modules/.bin/node scripts/plan-check.ts --report report.json [schemes]
 *
 * Times need an idle machine (see /work/wt/_brief/measure/import.sh); bytes do not.
 * Exit code 1 when a byte ratio is outside [0.9, 1.1] or a time ratio outside [0.5, 2].
 */
import { readFileSync } from 'node:fs';
import { loadModel } from '../core/model/load.ts';
import type { BenchReport, InferenceReport, SchemeId } from '../core/report/types.ts';
import { planRun } from '../core/runtime/predict.ts';
import { runSession } from '../core/runtime/session.ts';

const argv = process.argv.slice(2);
const reportAt = argv.indexOf('--report');
const reportFile = reportAt >= 0 ? argv[reportAt + 1] : undefined;
if (reportAt >= 0 && !reportFile) throw new Error('--report needs a file');
const positional = reportAt >= 0 ? argv.filter((_, i) => i !== reportAt && i !== reportAt + 1) : argv;

/** The runs of a report file: a bench report's schemes, or one inference report. */
function reportRuns(file: string): InferenceReport[] {
  const j = JSON.parse(readFileSync(file, 'utf8')) as BenchReport | InferenceReport;
  return 'format' in j && j.format === 'ppnn-bench-report' ? j.schemes : [j as InferenceReport];
}

const fromReport = reportFile ? reportRuns(reportFile) : undefined;
const [modelName, imagesArg, schemesArg] = fromReport
  ? [fromReport[0]!.model, String(fromReport[0]!.images), positional[0] ?? fromReport.map((r) => r.scheme).join(',')]
  : [positional[0] ?? 'mnist', positional[1] ?? '20', positional[2] ?? 'merged,unmerged'];
const model = await loadModel(modelName);
let bad = 0;
const row = (what: string, predicted: number, measured: number, lo: number, hi: number): void => {
  const r = measured / predicted;
  // nothing predicted: a batch request of a few bytes or a fraction of a millisecond is still nothing
  const ok = predicted > 0 ? r >= lo && r <= hi : measured < 1;
  if (!ok) bad++;
  console.log(
    `  ${what.padEnd(28)} predicted ${predicted.toFixed(1).padStart(14)}  ` +
      `measured ${measured.toFixed(1).padStart(14)}` +
      `  ratio ${Number.isFinite(r) ? r.toFixed(3) : '-'}${ok ? '' : '  OUT OF BOUNDS'}`,
  );
};
for (const scheme of schemesArg.split(',') as SchemeId[]) {
  const given = fromReport?.find((r) => r.scheme === scheme);
  if (fromReport && !given) {
    console.log(`${scheme}: not in ${reportFile}`);
    continue;
  }
  const images = given ? given.images : Number(imagesArg);
  // cryptonets puts every image of the run in one batch (up to N/2 of them)
  const batch = scheme === 'cryptonets' ? images : Math.min(images, 64);
  const [plan] = await planRun(model, { only: scheme, batch, images });
  if (!plan) continue;
  if (!plan.ok || !plan.stages) {
    console.log(`${scheme}: ${plan.reason ?? plan.notModelled ?? 'no prediction'}`);
    continue;
  }
  const r =
    given ?? (await runSession({ model: modelName, dataset: model.meta.dataset ?? 'mnist', limit: images, scheme }));
  const n = r.images;
  console.log(
    `${scheme}: ${n} images${given ? ` (from ${reportFile})` : ''}, batch ${plan.batch}, ` +
      `N=${(plan.params ?? plan.bfv)?.polyModulusDegree}`,
  );
  const p = plan.stages,
    m = r.stages;
  row('setup bytes c→s', p.setup.bytesClientToServer, m.setup?.bytesClientToServer ?? 0, 0.9, 1.1);
  for (const [stage, label] of [
    ['preprocessing', 'preprocessing'],
    ['online', 'online'],
  ] as const) {
    const ps = p[stage],
      ms = m[stage];
    if (ps.bytesClientToServer === 0 && ps.ms === 0 && ms.bytesClientToServer === 0) continue;
    row(`${label} bytes c→s/img`, ps.bytesClientToServer, ms.bytesClientToServer / n, 0.9, 1.1);
    row(`${label} bytes s→c/img`, ps.bytesServerToClient, ms.bytesServerToClient / n, 0.9, 1.1);
    row(`${label} ms/img`, ps.ms, ms.wallMs / n, 0.5, 2);
  }
}
console.log(bad === 0 ? 'all within bounds' : `${bad} figure(s) out of bounds`);
process.exit(bad === 0 ? 0 : 1);
