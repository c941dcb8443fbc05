/**
 * Local web host: the built renderer over HTTP and the bridge contract over WebSocket, on
 * 127.0.0.1 only, so the full UI runs in an ordinary browser (and is tested end to end in
 * headless Chromium where no Electron binary exists).
 *
 * Wire format on `/bridge`: the page sends `{ id, channel, payload }`, the host answers
 * `{ id, result }` (result = BridgeResult) and pushes `{ event, payload }` for session
 * events. Each socket gets its own handlers, so a closed tab cancels its runs.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocketServer, type WebSocket } from 'ws';
import { PpnnError } from '../errors.ts';
import { REQUEST_CHANNELS, type BridgeResult, type RequestChannel } from './contract.ts';
import { createBridgeHandlers } from './handlers.ts';

/** Where `vite build -c renderer/vite.config.ts` puts the renderer. */
export const RENDERER_DIST = fileURLToPath(new URL('../../dist/renderer/', import.meta.url));

export interface WebHostOptions {
  /** 0 picks a free port */
  port?: number;
  /** folder of the built renderer (index.html + assets) */
  staticDir?: string;
  /** log line sink (errors of the host itself) */
  log?: (line: string) => void;
}

export interface WebHost {
  url: string;
  port: number;
  close(): Promise<void>;
}

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
  '.woff2': 'font/woff2',
};

function serveStatic(root: string, req: IncomingMessage, res: ServerResponse): void {
  const urlPath = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
  let file = normalize(join(root, urlPath));
  if (file !== root && !file.startsWith(root.endsWith(sep) ? root : root + sep)) {
    res.writeHead(403).end('forbidden');
    return;
  }
  if (!existsSync(file) || statSync(file).isDirectory()) file = join(root, 'index.html');
  res.writeHead(200, {
    'content-type': MIME[extname(file)] ?? 'application/octet-stream',
    'cache-control': 'no-store',
    // The page only talks to its own origin; nothing else is loaded.
    'content-security-policy':
      "default-src 'self'; connect-src 'self' ws://127.0.0.1:* ; img-src 'self' data: blob:; style-src 'self' " +
      "'unsafe-inline'",
  });
  res.end(readFileSync(file));
}

function attachBridge(socket: WebSocket, log: (line: string) => void): void {
  const send = (msg: unknown): void => {
    if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(msg));
  };
  const host = createBridgeHandlers((event, payload) => send({ event, payload }));
  socket.on('close', () => host.dispose());
  socket.on('message', async (data) => {
    let id: unknown;
    let result: BridgeResult<unknown>;
    try {
      const msg = JSON.parse(String(data)) as { id?: unknown; channel?: unknown; payload?: unknown };
      id = msg.id;
      if (!REQUEST_CHANNELS.includes(msg.channel as RequestChannel))
        throw new PpnnError('ARGUMENT_INVALID', `unknown bridge channel ${JSON.stringify(msg.channel)}`);
      const handler = host.handlers[msg.channel as RequestChannel] as (p: unknown) => Promise<BridgeResult<unknown>>;
      result = await handler(msg.payload ?? {});
    } catch (e) {
      const err =
        e instanceof PpnnError ? e : new PpnnError('PROTOCOL_VIOLATION', `bad bridge message: ${(e as Error).message}`);
      log(`bridge: ${err.message}`);
      result = { ok: false, error: { code: err.code, message: err.message } };
    }
    send({ id, result });
  });
}

/**
 * Start the host on 127.0.0.1. Resolves with the page URL once listening. Throws
 * FILE_NOT_FOUND when `staticDir` holds no built renderer.
 */
export async function startWebHost(opts: WebHostOptions = {}): Promise<WebHost> {
  const root = resolve(opts.staticDir ?? RENDERER_DIST);
  const log = opts.log ?? ((line: string) => process.stderr.write(line + '\n'));
  if (!existsSync(join(root, 'index.html'))) {
    throw new PpnnError('FILE_NOT_FOUND', `no built renderer in ${root}: run \`npm run build:renderer\` first`);
  }
  const server = createServer((req, res) => {
    try {
      serveStatic(root, req, res);
    } catch (e) {
      res.writeHead(500).end(String((e as Error).message));
    }
  });
  const wss = new WebSocketServer({ server, path: '/bridge', maxPayload: 96 * 1024 * 1024 });
  wss.on('connection', (socket, req) => {
    // Refuse pages from other origins: a random website must not drive the local engine.
    const origin = req.headers.origin;
    const hostHeader = req.headers.host;
    if (origin && hostHeader && origin !== `http://${hostHeader}`) {
      socket.close(1008, 'origin not allowed');
      return;
    }
    attachBridge(socket, log);
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port ?? 0, '127.0.0.1', () => ok());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    close: () =>
      new Promise<void>((ok) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}
