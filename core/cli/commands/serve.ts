import { loadModel } from '../../model/load.ts';
import { ckksServerProviders } from '../../protocol/ckks-provider.ts';
import { serveSession } from '../../schemes/index.ts';
import { wsListen } from '../../transport/websocket.ts';
import { toPpnnError } from '../../errors.ts';
import { defineCommand } from '../command.ts';
import { MODEL_OPTION } from './options.ts';

export const serveCommand = defineCommand({
  name: 'serve',
  summary: 'run the server role over WebSocket (weights never leave this process)',
  options: {
    model: MODEL_OPTION,
    host: { type: 'string', default: '127.0.0.1', description: 'address to listen on' },
    port: { type: 'int', default: 0, min: 0, max: 65535, description: 'TCP port (0: any free port, printed once ready)' },
    'max-sessions': { type: 'int', default: 16, min: 1, max: 1024, description: 'concurrent client sessions' },
  },
  notes: 'prints "listening ws://HOST:PORT" on stdout once ready; Ctrl-C stops it',
  async run({ values: o }, io) {
    const model = await loadModel(o.model);
    const host = o.host;
    const port = o.port;
    const maxSessions = o['max-sessions'];
    const providers = ckksServerProviders();
    let served = 0;
    const server = await wsListen({ host, port, maxSessions }, async (t, info) => {
      const t0 = performance.now();
      try {
        const s = await serveSession(t, { model, providers });
        served++;
        io.err(`session ${info.id} (${info.remote}): ${s.scheme}, ${s.images} images, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      } catch (e) {
        const err = toPpnnError(e);
        io.err(`session ${info.id} (${info.remote}) failed [${err.code}]: ${err.message}`);
      } finally {
        t.close();
      }
    });
    io.out(`listening ${server.url}`);
    await new Promise<void>((resolve) => {
      const stop = (): void => { resolve(); };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    await server.close();
    io.err(`stopped after ${served} sessions`);
    return 0;
  },
});
