import { startWebHost } from '../../bridge/web-host.ts';
import { boolFlag, intFlag, stringFlag } from '../args.ts';
import type { Command } from '../command.ts';

/**
 * `ppnn app`: the desktop UI in a browser. Serves the already built renderer
 * (dist/renderer, from `npm run build:renderer`) and the bridge on 127.0.0.1, prints the
 * URL, and runs until interrupted (Ctrl+C) — it builds nothing itself.
 */
export const appCommand: Command = {
  name: 'app',
  summary: 'serve the PPNN Studio UI on 127.0.0.1 for a browser and print its URL',
  usage: 'ppnn app [--port N (default 0: any free port)] [--dir dist/renderer] [--json]',
  async run(args, io) {
    const port = intFlag(args, 'port', 0, 0, 65535);
    const staticDir = stringFlag(args, 'dir');
    const host = await startWebHost({ port, ...(staticDir ? { staticDir } : {}), log: (l) => io.err(l) });
    if (boolFlag(args, 'json')) io.out(JSON.stringify({ url: host.url }));
    else io.out(`PPNN Studio is served at ${host.url} (127.0.0.1 only; Ctrl+C stops it)`);
    await new Promise<void>((resolve) => {
      const stop = (): void => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        void host.close().then(resolve);
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    return 0;
  },
};
