/**
 * The renderer's only way to reach the core. In Electron the preload exposes `window.ppnn`;
 * in a browser the same typed API is built over the web host's WebSocket (`/bridge`).
 */
import {
  EVENT_CHANNELS,
  REQUEST_CHANNELS,
  listenerName,
  methodName,
  type BridgeEvents,
  type BridgeResult,
  type EventChannel,
  type PpnnApi,
} from '../../../core/bridge/contract.ts';

/** What this module reads from the page (typed here so it also checks without the DOM lib). */
const page = globalThis as unknown as { ppnn?: PpnnApi; location: { protocol: string; host: string } };

type Listener = (payload: unknown) => void;

/**
 * A PpnnApi over a WebSocket to the web host. Requests that are in flight when the socket
 * closes answer PEER_DISCONNECTED, so no view waits forever.
 */
export function createSocketBridge(url: string): PpnnApi {
  let nextId = 1;
  const pending = new Map<number, (r: BridgeResult<unknown>) => void>();
  const listeners = new Map<EventChannel, Set<Listener>>(EVENT_CHANNELS.map((e) => [e, new Set<Listener>()]));
  let closedError: string | undefined;
  const socket = new WebSocket(url);
  const opened = new Promise<void>((resolve) => {
    socket.addEventListener('open', () => resolve());
    socket.addEventListener('close', () => resolve());
  });
  socket.addEventListener('message', (ev) => {
    const msg = JSON.parse(String(ev.data)) as {
      id?: number;
      result?: BridgeResult<unknown>;
      event?: EventChannel;
      payload?: unknown;
    };
    if (msg.event) {
      for (const l of listeners.get(msg.event) ?? []) l(msg.payload);
    } else if (typeof msg.id === 'number' && msg.result) {
      pending.get(msg.id)?.(msg.result);
      pending.delete(msg.id);
    }
  });
  socket.addEventListener('close', () => {
    closedError = 'the connection to the PPNN core was closed; reload the page (is `ppnn app` still running?)';
    for (const resolve of pending.values())
      resolve({ ok: false, error: { code: 'PEER_DISCONNECTED', message: closedError } });
    pending.clear();
  });

  const request = async (channel: string, payload: unknown): Promise<BridgeResult<unknown>> => {
    await opened;
    if (socket.readyState !== WebSocket.OPEN)
      return { ok: false, error: { code: 'PEER_DISCONNECTED', message: closedError ?? 'cannot reach the PPNN core' } };
    const id = nextId++;
    return new Promise((resolve) => {
      pending.set(id, resolve);
      socket.send(JSON.stringify({ id, channel, payload }));
    });
  };

  const api: Record<string, unknown> = { host: 'browser' };
  for (const channel of REQUEST_CHANNELS) api[methodName(channel)] = (payload: unknown) => request(channel, payload);
  for (const event of EVENT_CHANNELS) {
    api[listenerName(event)] = (listener: Listener) => {
      listeners.get(event)!.add(listener);
      return () => listeners.get(event)!.delete(listener);
    };
  }
  return api as PpnnApi;
}

let bridge: PpnnApi | undefined;

/** The bridge for this page: Electron's preload API when present, else the web host socket. */
export function getBridge(): PpnnApi {
  if (!bridge) {
    bridge =
      page.ppnn ??
      createSocketBridge(`${page.location.protocol === 'https:' ? 'wss' : 'ws'}://${page.location.host}/bridge`);
  }
  return bridge;
}

/** Replace the bridge (component tests pass a fake; the app itself never calls this). */
export function setBridge(b: PpnnApi): void {
  bridge = b;
}

export type { BridgeEvents };
