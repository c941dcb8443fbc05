/**
 * An in-memory PpnnApi for component tests: records requests, answers them from a table,
 * and lets a test push session events as the core would. (The e2e tests use the real core.)
 */
import type { BridgeEvents, BridgeResult, EventChannel, PpnnApi } from '../../core/bridge/contract.ts';
import { EVENT_CHANNELS, REQUEST_CHANNELS, listenerName, methodName } from '../../core/bridge/contract.ts';
import { setBridge } from '../../renderer/src/lib/bridge.ts';
import { app, initApp } from '../../renderer/src/lib/state.svelte.ts';

export interface FakeBridge {
  api: PpnnApi;
  calls: { channel: string; payload: unknown }[];
  answer(channel: string, result: BridgeResult<unknown>): void;
  emit<E extends EventChannel>(event: E, payload: BridgeEvents[E]): void;
}

export function fakeBridge(): FakeBridge {
  const answers = new Map<string, BridgeResult<unknown>>();
  const listeners = new Map<string, Set<(p: unknown) => void>>(EVENT_CHANNELS.map((e) => [e, new Set()]));
  const calls: { channel: string; payload: unknown }[] = [];
  const api: Record<string, unknown> = { host: 'browser' };
  for (const c of REQUEST_CHANNELS) {
    api[methodName(c)] = async (payload: unknown) => {
      calls.push({ channel: c, payload });
      return answers.get(c) ?? { ok: false, error: { code: 'INTERNAL', message: `no answer for ${c}` } };
    };
  }
  for (const e of EVENT_CHANNELS) {
    api[listenerName(e)] = (l: (p: unknown) => void) => {
      listeners.get(e)!.add(l);
      return () => listeners.get(e)!.delete(l);
    };
  }
  return {
    api: api as PpnnApi,
    calls,
    answer: (channel, result) => answers.set(channel, result),
    emit: (event, payload) => {
      for (const l of listeners.get(event)!) l(payload);
    },
  };
}

/** A fake bridge listing mnist and two schemes, installed, and the app state emptied and initialised on it. */
export async function freshApp(): Promise<FakeBridge> {
  const bridge = fakeBridge();
  bridge.answer('model:list', {
    ok: true,
    value: { models: ['mnist'], datasets: ['mnist'], schemes: ['merged', 'unmerged'] },
  });
  setBridge(bridge.api);
  app.model = null;
  app.modelError = null;
  app.dataset = null;
  app.runs = [];
  app.imported = [];
  app.runError = null;
  await initApp();
  return bridge;
}
