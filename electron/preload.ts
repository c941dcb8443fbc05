/**
 * Preload (sandboxed, context-isolated): exposes `window.ppnn`, one method per request
 * channel and one subscribe method per event — never a raw `send(channel, …)`. Bundled to
 * dist/electron/preload.cjs because sandboxed preloads can only require 'electron'.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { EVENT_CHANNELS, REQUEST_CHANNELS, listenerName, methodName, type PpnnApi } from '../core/bridge/contract.ts';

const api: Record<string, unknown> = { host: 'electron' };
for (const channel of REQUEST_CHANNELS) {
  api[methodName(channel)] = (payload: unknown) => ipcRenderer.invoke(channel, payload);
}
for (const event of EVENT_CHANNELS) {
  api[listenerName(event)] = (listener: (payload: unknown) => void) => {
    const relay = (_ev: IpcRendererEvent, payload: unknown): void => listener(payload);
    ipcRenderer.on(event, relay);
    return () => {
      ipcRenderer.removeListener(event, relay);
    };
  };
}

contextBridge.exposeInMainWorld('ppnn', api as PpnnApi);
