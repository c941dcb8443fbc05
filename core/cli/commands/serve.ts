import { loadModel } from '../../model/load.ts';
import { ckksServerProviders } from '../../protocol/ckks-provider.ts';
import { serveSession } from '../../protocol/server.ts';
import { wsListen } from '../../transport/websocket.ts';
import { toPpnnError } from '../../errors.ts';
import { intFlag, requireFlag, stringFlag } from '../args.ts';
import type { Command } from '../command.ts';

export const serveCommand: Command = {
  name: 'serve',
  summary: 'run the server role over WebSocket (weights never leave this process)',
  usage: 'ppnn serve --model M [--host 127.0.0.1] [--port P] [--max-sessions N]\n  prints "listening ws://HOST:PORT" on stdout once ready; Ctrl-C stops it',
  async run(args, io) {
    const model = await loadModel(requireFlag(args, 'model', 'a built-in name or a model file'));
    const host = stringFlag(args, 'host', '127.0.0.1')!;
    const port = intFlag(args, 'port', 0, 0, 65535);
    const maxSessions = intFlag(args, 'max-sessions', 16, 1, 1024);
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
};
