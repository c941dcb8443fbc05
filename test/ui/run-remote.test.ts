/** RunView in remote mode: no model needed, token / pin fields, null plaintext figures shown as n/a. */
import { fireEvent, render, screen } from '@testing-library/svelte';
import { flushSync } from 'svelte';
import { beforeEach, describe, expect, test, vi } from 'vitest';
import { app } from '../../renderer/src/lib/state.svelte.ts';
import RunView from '../../renderer/src/views/RunView.svelte';
import { mnistTest, sampleReport } from '../helpers/report-fixtures.ts';
import { freshApp, type FakeBridge } from './fake-bridge.ts';

let bridge: FakeBridge;
beforeEach(async () => {
  bridge = await freshApp();
});

describe('RunView remote mode', () => {
  test('no model needed: token, pin go to the bridge (never shown); null plaintext figures read n/a', async () => {
    app.dataset = mnistTest();
    const secret = 'f'.repeat(40);
    const pin = `sha256:${'a'.repeat(64)}`;
    bridge.answer('server:connect', {
      ok: true,
      value: { url: 'wss://127.0.0.1:8443', reachable: true, authenticated: true, ms: 12 },
    });
    bridge.answer('session:start', { ok: true, value: { sessionId: 'r1' } });
    bridge.answer('dataset:samples', { ok: true, value: [] });
    const { container } = render(RunView);
    await fireEvent.click(screen.getByLabelText(/Remote server/));
    await fireEvent.input(screen.getByTestId('server-url'), { target: { value: 'wss://127.0.0.1:8443' } });
    await fireEvent.input(screen.getByTestId('server-token'), { target: { value: secret } });
    await fireEvent.input(screen.getByTestId('server-pin'), { target: { value: pin } });
    await fireEvent.click(screen.getByRole('button', { name: 'Check server' }));
    await vi.waitFor(() => expect(screen.getByTestId('server-status').textContent).toContain('token accepted'));
    expect(bridge.calls.find((c) => c.channel === 'server:connect')?.payload).toEqual({
      url: 'wss://127.0.0.1:8443',
      token: secret,
      pin,
    });
    const startButton = screen.getByRole('button', { name: 'Start run' }) as unknown as { disabled: boolean };
    expect(startButton.disabled).toBe(false); // no model loaded: fine remotely
    await fireEvent.click(screen.getByRole('button', { name: 'Start run' }));
    await vi.waitFor(() => expect(bridge.calls.some((c) => c.channel === 'session:start')).toBe(true));
    const payload = bridge.calls.find((c) => c.channel === 'session:start')?.payload as Record<string, unknown>;
    expect(payload).toEqual({
      dataset: 'mnist',
      limit: 20,
      scheme: 'merged',
      server: 'wss://127.0.0.1:8443',
      token: secret,
      pin,
    });
    expect(payload.model).toBeUndefined();
    bridge.emit('session:event', {
      sessionId: 'r1',
      event: {
        type: 'image',
        result: { index: 0, label: 7, secure: 7, plaintext: null, maxLogitError: null },
        runningAccuracy: 1,
        runningAgreement: null,
      },
    });
    flushSync();
    expect(screen.getByTestId('agreement').textContent).toBe('n/a');
    const row = screen.getByTestId('results').querySelector('tbody tr')!;
    expect(row.textContent).toContain('n/a');
    bridge.emit('session:done', {
      sessionId: 'r1',
      report: sampleReport({
        model: 'mnist',
        images: 1,
        accuracy: 1,
        plaintextAccuracy: null,
        agreement: null,
        maxLogitError: null,
        server: 'wss://127.0.0.1:8443',
        seed: -1,
      }),
    });
    flushSync();
    expect(screen.getByTestId('agreement').textContent).toBe('n/a');
    expect(screen.getByTestId('max-logit-error').textContent).toBe('n/a');
    expect(screen.getByTestId('accuracy').textContent).toBe('100.0 %');
    expect(container.textContent).not.toContain(secret);
  });
});
