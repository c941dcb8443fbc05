import { fireEvent, render, screen } from '@testing-library/svelte';
import { flushSync } from 'svelte';
import { beforeEach, describe, expect, test, vi } from 'vitest';
import type { ModelSummary } from '../../core/bridge/contract.ts';
import ErrorMessage from '../../renderer/src/components/ErrorMessage.svelte';
import { app } from '../../renderer/src/lib/state.svelte.ts';
import ModelView from '../../renderer/src/views/ModelView.svelte';
import RunView from '../../renderer/src/views/RunView.svelte';
import { mnistTest, sampleReport } from '../helpers/report-fixtures.ts';
import { freshApp, type FakeBridge } from './fake-bridge.ts';

const cost = {
  macs: 100,
  heCtPtMul: 10,
  heAdditions: 5,
  heRotations: 2,
  heLevels: 3,
  onlineRounds: 3,
  onlineBytes: 2048,
  preprocessingBytes: 4096,
  estimatedMs: 12,
};
const summary: ModelSummary = {
  ref: 'mnist',
  name: 'mnist',
  source: 'builtin',
  inputShape: [1, 28, 28],
  dataset: 'mnist',
  schemes: [
    { id: 'merged', label: 'merged (paper)', ok: true },
    { id: 'cryptonets', label: 'cryptonets', ok: false, reason: 'needs square activations' },
  ],
  before: {
    layers: [
      { name: 'conv1', kind: 'conv2d', output: [8, 24, 24] },
      { name: 'pool1', kind: 'avgpool', output: [8, 12, 12] },
      { name: 'sq', kind: 'square', output: [8, 12, 12] },
    ],
    counts: { layers: 3, linearMaps: 2, activations: 1, cost },
  },
  after: {
    layers: [
      { name: 'conv1+pool1', kind: 'conv2d', output: [8, 12, 12] },
      { name: 'sq', kind: 'square', output: [8, 12, 12] },
    ],
    counts: { layers: 2, linearMaps: 1, activations: 1, cost: { ...cost, heCtPtMul: 6, heLevels: 2, onlineRounds: 2 } },
  },
  decisions: [
    {
      layers: ['conv1', 'pool1'],
      into: 'conv1+pool1',
      accepted: true,
      reason: 'exact conv∘pool',
      before: cost,
      after: { ...cost, heCtPtMul: 6, heLevels: 2, onlineRounds: 2 },
    },
  ],
  saved: {
    ...cost,
    heCtPtMul: 4,
    heLevels: 1,
    onlineRounds: 1,
    onlineBytes: 0,
    macs: 0,
    heAdditions: 0,
    heRotations: 0,
    preprocessingBytes: 0,
    estimatedMs: 3,
  },
  mergeMs: 1.5,
};

let bridge: FakeBridge;
beforeEach(async () => {
  bridge = await freshApp();
});

describe('ErrorMessage', () => {
  test('shows the code, the message and a hint, and can be dismissed', async () => {
    const onDismiss = vi.fn();
    render(ErrorMessage, {
      error: { code: 'MODEL_INVALID', message: 'layer 3: weight has 10 values, expected 12' },
      onDismiss,
    });
    const alert = screen.getByRole('alert');
    expect(alert.textContent).toContain('not a valid PPNN model');
    expect(alert.textContent).toContain('layer 3: weight has 10 values, expected 12');
    expect(alert.textContent).toContain('[MODEL_INVALID]');
    await fireEvent.click(screen.getByRole('button', { name: 'Dismiss' }));
    expect(onDismiss).toHaveBeenCalledOnce();
  });

  test('renders nothing without an error', () => {
    render(ErrorMessage, { error: null });
    expect(screen.queryByRole('alert')).toBeNull();
  });
});

describe('ModelView', () => {
  test('loads the chosen built-in and lists layers before/after merging with the savings', async () => {
    bridge.answer('model:load', { ok: true, value: summary });
    render(ModelView);
    await fireEvent.click(screen.getByRole('button', { name: 'Load model' }));
    await vi.waitFor(() => expect(screen.getByTestId('model-summary')).toBeTruthy());
    expect(bridge.calls.find((c) => c.channel === 'model:load')?.payload).toEqual({ source: 'builtin', name: 'mnist' });
    // the after-merging list and the decision
    expect(screen.getAllByText('conv1+pool1', { selector: 'td' })).toHaveLength(2);
    expect(screen.getByText('3 layers → 2 after merging', { exact: false })).toBeTruthy();
    expect(screen.getByText('4 ct×pt, 1 HE levels, 1 rounds, 0 ms est.')).toBeTruthy();
  });

  test('a core error is shown as a readable message', async () => {
    bridge.answer('model:load', { ok: false, error: { code: 'MODEL_UNKNOWN', message: "no model 'x'" } });
    render(ModelView);
    await fireEvent.click(screen.getByRole('button', { name: 'Load model' }));
    await vi.waitFor(() => expect(screen.getByRole('alert').textContent).toContain("no model 'x'"));
  });
});

describe('RunView', () => {
  test('folds live events into progress, accuracy and the results table, then the report', async () => {
    app.model = summary;
    app.dataset = mnistTest();
    bridge.answer('session:start', { ok: true, value: { sessionId: 's1' } });
    bridge.answer('dataset:samples', { ok: true, value: [] });
    render(RunView);
    const images = screen.getByTestId('images');
    await fireEvent.input(images, { target: { value: '2' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Start run' }));
    await vi.waitFor(() => expect(screen.getByTestId('run-status').textContent).toContain('0/2'));
    expect(bridge.calls.find((c) => c.channel === 'session:start')?.payload).toEqual({
      model: 'mnist',
      dataset: 'mnist',
      limit: 2,
      scheme: 'merged',
    });

    bridge.emit('session:event', { sessionId: 's1', event: { type: 'stage', stage: 'online', state: 'start' } });
    bridge.emit('session:event', {
      sessionId: 's1',
      event: {
        type: 'image',
        result: { index: 0, label: 7, secure: 7, plaintext: 7, maxLogitError: 1e-4 },
        runningAccuracy: 1,
        runningAgreement: 1,
      },
    });
    bridge.emit('session:event', {
      sessionId: 's1',
      event: {
        type: 'progress',
        stage: 'online',
        imagesDone: 1,
        imagesTotal: 2,
        bytesClientToServer: 100,
        bytesServerToClient: 50,
      },
    });
    flushSync();
    expect(screen.getByTestId('run-status').textContent).toContain('online · 1/2 images');
    expect(screen.getByTestId('accuracy').textContent).toBe('100.0 %');
    expect(screen.getByTestId('results').querySelectorAll('tbody tr')).toHaveLength(1);

    bridge.emit('session:event', {
      sessionId: 's1',
      event: {
        type: 'image',
        result: { index: 1, label: 2, secure: 1, plaintext: 2, maxLogitError: 2e-4 },
        runningAccuracy: 0.5,
        runningAgreement: 0.5,
      },
    });
    bridge.emit('session:done', { sessionId: 's1', report: sampleReport() });
    flushSync();
    expect(screen.getByTestId('run-status').textContent).toContain('done · 2 images');
    expect(screen.getByTestId('accuracy').textContent).toBe('50.0 %');
    const rows = screen.getByTestId('results').querySelectorAll('tbody tr');
    expect(rows).toHaveLength(2);
    expect(rows[1]!.textContent).toContain('(differs)');
    expect(app.allReports).toHaveLength(1);
  });

  test('preprocessing shows its layer and an ETA before any image; cancel reads "cancelled", not failed', async () => {
    app.model = summary;
    app.dataset = mnistTest();
    bridge.answer('session:start', { ok: true, value: { sessionId: 's5' } });
    bridge.answer('dataset:samples', { ok: true, value: [] });
    bridge.answer('session:cancel', { ok: true, value: { cancelled: true } });
    render(RunView);
    await fireEvent.input(screen.getByTestId('images'), { target: { value: '20' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Start run' }));
    await vi.waitFor(() => expect(screen.getByTestId('run-status')).toBeTruthy());
    bridge.emit('session:event', { sessionId: 's5', event: { type: 'stage', stage: 'preprocessing', state: 'start' } });
    bridge.emit('session:event', {
      sessionId: 's5',
      event: {
        type: 'layer-progress',
        stage: 'preprocessing',
        layer: 'conv1+avgpool1+bn1',
        index: 1,
        total: 4,
        imagesInBatch: 16,
        etaMs: 42_000,
      },
    });
    flushSync();
    expect(screen.getByTestId('run-status').textContent).toMatch(
      /preprocessing · layer 2\/4 \(conv1\+avgpool1\+bn1\) · images 1–16 of 20 · about 4\d\.\d s left/,
    );
    const bar = screen.getByRole('progressbar', { name: 'run progress' }) as unknown as { value: number };
    expect(bar.value).toBeCloseTo((0.5 * 16) / 40, 6); // half the layers of 16 images, of two halves of 20
    expect(screen.getByTestId('results').querySelectorAll('tbody tr')).toHaveLength(0);

    await fireEvent.click(screen.getByRole('button', { name: 'Cancel' }));
    bridge.emit('session:error', { sessionId: 's5', error: { code: 'CANCELLED', message: 'run cancelled' } });
    flushSync();
    const status = screen.getByTestId('run-status');
    expect(status.textContent).toContain('cancelled · 0/20 images finished');
    expect(status.className).not.toContain('bad');
    expect(screen.queryByRole('alert')).toBeNull();
  });

  test('before Start: a scheme that cannot run the model is named (Start off); a dataset mismatch warns', async () => {
    app.model = { ...summary, dataset: 'fashion-mnist' };
    app.dataset = mnistTest();
    app.schemes = ['merged', 'cryptonets'];
    render(RunView);
    expect(screen.getByTestId('dataset-warning').textContent).toContain(
      "model 'mnist' was trained on fashion-mnist, not mnist",
    );
    expect(screen.queryByTestId('scheme-unsupported')).toBeNull();
    expect((screen.getByRole('button', { name: 'Start run' }) as unknown as { disabled: boolean }).disabled).toBe(
      false,
    );
    await fireEvent.change(screen.getByTestId('scheme'), { target: { value: 'cryptonets' } });
    flushSync();
    expect(screen.getByTestId('scheme-unsupported').textContent).toContain(
      'cryptonets cannot run mnist: needs square activations',
    );
    expect((screen.getByRole('button', { name: 'Start run' }) as unknown as { disabled: boolean }).disabled).toBe(true);
  });

  test('a failed run shows the core error', async () => {
    app.model = summary;
    app.dataset = mnistTest();
    bridge.answer('session:start', { ok: true, value: { sessionId: 's9' } });
    bridge.answer('dataset:samples', { ok: true, value: [] });
    render(RunView);
    await fireEvent.click(screen.getByRole('button', { name: 'Start run' }));
    await vi.waitFor(() => expect(screen.getByTestId('run-status')).toBeTruthy());
    bridge.emit('session:error', { sessionId: 's9', error: { code: 'HE_PARAMS', message: 'no CKKS parameters fit' } });
    flushSync();
    expect(screen.getByTestId('run-status').textContent).toContain('failed');
    expect(screen.getByRole('alert').textContent).toContain('no CKKS parameters fit');
  });
});
