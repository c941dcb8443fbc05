import { startWebHost } from '../../bridge/web-host.ts';
import { JSON_OPTION } from '../args.ts';
import { defineCommand } from '../command.ts';

/**
 * `ppnn app`: the desktop UI in a browser. Serves the already built renderer
 * (dist/renderer, from `npm run build:renderer`) and the bridge on 127.0.0.1, prints the
 * URL, and runs until interrupted (Ctrl+C) — it builds nothing itself.
 */
export const appCommand = defineCommand({
  name: 'app',
  summary: 'serve the PPNN Studio UI on 127.0.0.1 for a browser and print its URL',
  options: {
    port: { type: 'int', default: 0, min: 0, max: 65535, description: 'TCP port on 127.0.0.1 (0: any free port)' },
    dir: {
      type: 'string',
      placeholder: 'DIR',
      defaultText: 'dist/renderer',
      description: 'the built renderer to serve',
    },
    json: { ...JSON_OPTION, description: 'print {"url": …} as JSON on stdout' },
  },
  async run({ values: o }, io) {
    const port = o.port;
    const staticDir = o.dir;
    const host = await startWebHost({ port, ...(staticDir ? { staticDir } : {}), log: (l) => io.err(l) });
    if (o.json) io.out(JSON.stringify({ url: host.url }));
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
});
