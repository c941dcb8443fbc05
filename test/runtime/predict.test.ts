/**
 * `ppnn plan`'s predictions against a real run: every scheme listed with its support; for
 * merged the predicted bytes per stage within 10 % of what a run (real CKKS, worker
 * threads) sends — online bytes exactly, up to the digits of one timing field. Times are
 * printed, not asserted: the shared machine's load makes any timing bound flaky.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { imageToInput, loadDataset } from '../../core/data/datasets.ts';
import { calibrateBounds, withBounds } from '../../core/model/bounds.ts';
import { modelToJSON } from '../../core/model/json.ts';
import { planRun } from '../../core/runtime/predict.ts';
import { runSession } from '../../core/runtime/session.ts';
import { schemeIds } from '../../core/schemes/index.ts';
import { randomSquareModel } from '../helpers/random-model.ts';

describe('ppnn plan predictions', () => {
  it('lists every scheme; merged bytes per stage match a real run', async () => {
    const model = randomSquareModel(7);
    const train = await loadDataset('mnist', 'train');
    const calibrated = withBounds(
      model,
      calibrateBounds(
        model,
        Array.from({ length: 200 }, (_, i) => imageToInput(train, i)),
      ),
      { dataset: 'mnist', split: 'train', images: 200, margin: 0.25 },
    );
    const plans = await planRun(calibrated, { batch: 4 });
    expect(plans.map((p) => p.scheme)).toEqual(schemeIds());
    const merged = plans.find((p) => p.scheme === 'merged')!;
    expect(merged.stages).toBeDefined();
    const file = join(mkdtempSync(join(tmpdir(), 'ppnn-plan-')), 'm.json');
    writeFileSync(file, JSON.stringify(modelToJSON(calibrated)));
    const r = await runSession({ model: file, dataset: 'mnist', limit: 4, scheme: 'merged', seed: 1 });
    const s = merged.stages!;
    const measured = {
      preUp: r.stages.preprocessing.bytesClientToServer,
      preDown: r.stages.preprocessing.bytesServerToClient,
      onUp: r.stages.online.bytesClientToServer / 4,
      onDown: r.stages.online.bytesServerToClient / 4,
    };
    console.log('predicted', s, 'measured', measured, 'stages', r.stages);
    const setupUp = r.stages.setup?.bytesClientToServer ?? 0;
    const preUp = setupUp > 0 ? measured.preUp : measured.preUp - s.setup.bytesClientToServer;
    expect(Math.abs(s.preprocessing.bytesClientToServer * 4 - preUp) / preUp).toBeLessThan(0.1);
    expect(Math.abs(s.preprocessing.bytesServerToClient * 4 - measured.preDown) / measured.preDown).toBeLessThan(0.1);
    if (setupUp > 0) expect(Math.abs(s.setup.bytesClientToServer - setupUp) / setupUp).toBeLessThan(0.1);
    expect(Math.abs(s.online.bytesClientToServer - measured.onUp)).toBeLessThan(1);
    expect(Math.abs(s.online.bytesServerToClient - measured.onDown)).toBeLessThan(8);
  }, 300_000);
});
