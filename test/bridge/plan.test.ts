/** The bridge's 'model:plan': the plan `ppnn plan --json` prints (core/runtime/predict.ts), for the Model view. */
import { afterAll, describe, expect, test } from 'vitest';
import type { BridgeResult } from '../../core/bridge/contract.ts';
import { createBridgeHandlers } from '../../core/bridge/handlers.ts';
import { liveSealObjects } from '../../core/he/index.ts';
import { loadModel } from '../../core/model/load.ts';
import { planRun } from '../../core/runtime/predict.ts';
import { schemeIds } from '../../core/schemes/index.ts';

function value<T>(r: BridgeResult<T>): T {
  if (!r.ok) throw new Error(`expected ok, got ${r.error.code}: ${r.error.message}`);
  return r.value;
}
const plan = createBridgeHandlers(() => {}).handlers['model:plan'];

describe("bridge 'model:plan'", () => {
  afterAll(() => expect(liveSealObjects()).toBe(0));

  test('lists every scheme with support or why not, as the CLI plan does', async () => {
    const v = value(await plan({ ref: 'mnist-relu' }));
    expect(v.model).toBe('mnist-relu');
    expect(v.plans.map((p) => p.scheme)).toEqual(schemeIds());
    // ReLU / max-pool: the float schemes say why not, the ring schemes can run it
    expect(v.plans.find((p) => p.scheme === 'merged')).toMatchObject({
      ok: false,
      reason: expect.stringContaining('square / polynomial'),
    });
    expect(v.plans.find((p) => p.scheme === 'delphi')?.ok).toBe(true);
    expect(v.plans).toEqual(await planRun(await loadModel('mnist-relu')));
  });

  test('a modelled scheme comes with parameters and predicted time / bytes / error per stage (real keys)', async () => {
    const v = value(await plan({ ref: 'mnist', scheme: 'merged', batch: 4 }));
    const cli = (await planRun(await loadModel('mnist'), { only: 'merged', batch: 4 }))[0]!;
    const p = v.plans[0]!;
    expect(v.plans).toHaveLength(1);
    expect(p.params).toEqual(cli.params);
    expect(p.logitError).toEqual(cli.logitError);
    expect(p.perStep?.map((s) => s.name)).toEqual(cli.perStep?.map((s) => s.name));
    // bytes are measured from fresh random masks and keys: equal up to compression noise
    for (const k of ['setup', 'preprocessing', 'online'] as const) {
      const a = p.stages![k].bytesClientToServer,
        b = cli.stages![k].bytesClientToServer;
      expect(Math.abs(a - b) / b).toBeLessThan(0.02);
    }
    expect(p.stages!.preprocessing.ms).toBeGreaterThan(0);
  }, 180_000);

  test('bad requests answer ARGUMENT_INVALID or the loader’s code', async () => {
    const code = async (payload: Parameters<typeof plan>[0]) => {
      const r = await plan(payload);
      return r.ok ? 'ok' : r.error.code;
    };
    expect(await code({ ref: '' })).toBe('ARGUMENT_INVALID');
    expect(await code({ ref: 'mnist', scheme: 'nope' as never })).toBe('ARGUMENT_INVALID');
    expect(await code({ ref: 'mnist', batch: 0 })).toBe('ARGUMENT_INVALID');
    expect(await code({ ref: 'mnist', targetError: -1 })).toBe('ARGUMENT_INVALID');
    expect(await code({ ref: 'no-such-model' })).toBe('MODEL_UNKNOWN');
  });
});
