/** The Model view's plan panel: asks the core for `ppnn plan` of the loaded model and lists every scheme. */
import { fireEvent, render, screen } from '@testing-library/svelte';
import { beforeEach, describe, expect, test, vi } from 'vitest';
import type { SchemePlan } from '../../core/bridge/contract.ts';
import PlanPanel from '../../renderer/src/components/PlanPanel.svelte';
import { setBridge } from '../../renderer/src/lib/bridge.ts';
import { fakeBridge, type FakeBridge } from './fake-bridge.ts';

const stage = (ms: number, up: number, down: number) => ({ ms, bytesClientToServer: up, bytesServerToClient: down });
const plans: SchemePlan[] = [
  {
    scheme: 'merged',
    label: 'merged (paper)',
    ok: true,
    batch: 64,
    params: { polyModulusDegree: 8192, coeffModulusBits: [60, 49, 49, 60], scaleBits: 35 },
    stages: {
      merging: stage(12, 0, 0),
      setup: stage(0, 7_680_000, 0),
      preprocessing: stage(906, 1_320_000, 365_000),
      online: stage(25, 47_000, 34_000),
    },
    perStep: [],
    logitError: { predicted: 4.4e-4, target: 1e-3, meetsTarget: true },
  },
  {
    scheme: 'unmerged',
    label: 'unmerged',
    ok: true,
    stages: {
      merging: stage(0, 0, 0),
      setup: stage(0, 9_000_000, 0),
      preprocessing: stage(1500, 2_000_000, 500_000),
      online: stage(40, 60_000, 50_000),
    },
    logitError: {
      predicted: 2.7e-3,
      target: 1e-3,
      meetsTarget: false,
      advice: 'predicted max |logit error| 2.70e-3 > target 0.001. What would fit: fewer mask bits',
    },
  },
  { scheme: 'gazelle', label: 'gazelle', ok: true, notModelled: 'runs this model; no prediction' },
  { scheme: 'merged-ring', label: 'merged-ring', ok: false, reason: 'layer sq is poly' },
];

let bridge: FakeBridge;
beforeEach(() => {
  bridge = fakeBridge();
  setBridge(bridge.api);
});

describe('PlanPanel', () => {
  test('plans the loaded model and lists each scheme with can-run / why-not and its predictions', async () => {
    bridge.answer('model:plan', { ok: true, value: { model: 'sq', plans } });
    render(PlanPanel, { modelRef: '/tmp/sq.json' });
    await fireEvent.click(screen.getByRole('button', { name: 'Plan' }));
    await vi.waitFor(() => expect(screen.getByTestId('plan-table')).toBeTruthy());
    expect(bridge.calls.find((c) => c.channel === 'model:plan')?.payload).toEqual({ ref: '/tmp/sq.json' });
    const merged = screen.getByTestId('plan-merged').textContent!;
    expect(merged).toContain('yes');
    expect(merged).toContain('906 ms');
    expect(merged).toContain('1.61 MiB'); // 1,320,000 + 365,000 bytes
    expect(merged).toContain('≤ 4.4e-4');
    expect(screen.getByTestId('plan-gazelle').textContent).toContain('no prediction');
    expect(screen.getByTestId('plan-merged-ring').textContent).toContain('cannot: layer sq is poly');
    // a missed target is flagged and its advice shown
    expect(screen.getByText(/unmerged: predicted max \|logit error\| 2.70e-3/)).toBeTruthy();
  });

  test('a core error is shown as a readable message', async () => {
    bridge.answer('model:plan', { ok: false, error: { code: 'HE_PARAMS', message: 'no CKKS parameters' } });
    render(PlanPanel, { modelRef: 'mnist' });
    await fireEvent.click(screen.getByRole('button', { name: 'Plan' }));
    await vi.waitFor(() => expect(screen.getByRole('alert').textContent).toContain('no CKKS parameters'));
  });
});
