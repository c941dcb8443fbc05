/**
 * The network server behind `ppnn serve`: one HTTP(S) port carrying the WebSocket
 * sessions, GET /healthz and GET /metrics.
 *
 * Connection life: TCP/TLS accept → HandshakeGuard (deadline, oldest-first eviction) →
 * WebSocket upgrade → serveConnection (auth, hello policy, admission, relay to a session
 * worker). Node's own HTTP timeouts are set to the handshake deadline as well, so a
 * request or a TLS handshake dribbled at 1 byte/s is cut as surely as a silent socket.
 *
 * Shutdown (`close(drainMs)`): stop listening, answer /healthz 503, cut connections still
 * in their handshake, let running sessions finish for up to `drainMs`, then cut the rest.
 */
import { randomUUID } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { PpnnError } from '../errors.ts';
import { wsSocketTransport } from '../transport/websocket.ts';
import { Admission, HandshakeGuard, type AdmissionOptions } from './limits.ts';
import type { Logger } from './log.ts';
import { createMetrics, type ServerMetrics } from './metrics.ts';
import { serveConnection, type LiveConnection, type RelayConfig } from './relay.ts';
import { WarmWorkers } from './workers.ts';

export interface PpnnServerOptions extends Omit<AdmissionOptions, 'maxSessions'> {
  /** built-in model name or model file; each session worker loads it */
  model: string;
  host: string;
  port: number;
  maxSessions: number;
  token?: Uint8Array | undefined;
  /** PEM certificate chain and key: serve wss:// (https) instead of ws:// */
  tls?: { cert: string | Uint8Array; key: string | Uint8Array } | undefined;
  handshakeMs: number;
  idleMs: number;
  /** connections allowed to be in their handshake at once; the oldest is evicted past it */
  maxPending: number;
  maxBatch: number;
  maxFrameBytes: number;
  minInputBits: number;
  shareBits?: number | undefined;
  /** HE worker threads per session (0 or 1: inline) */
  workers?: number | undefined;
  /** count sessions per X-Forwarded-For address (only behind a proxy you run) */
  trustProxy: boolean;
  /** warm session processes kept ready (default 1) */
  spareWorkers?: number;
  log: Logger;
}

export interface PpnnServer {
  url: string;
  port: number;
  metrics: ServerMetrics;
  admission: Admission;
  /** connections in their handshake now */
  pending(): number;
  /** sessions holding a slot now */
  active(): number;
  /** resident memory of this server's session processes (spares included), bytes; 0 without /proc */
  sessionRssBytes(): number;
  /** Graceful stop; resolves when every connection is gone. Safe to call twice. */
  close(drainMs?: number): Promise<void>;
}

function peerAddress(req: IncomingMessage, trustProxy: boolean): string {
  const forwarded = req.headers['x-forwarded-for'];
  if (trustProxy && typeof forwarded === 'string' && forwarded.trim()) return forwarded.split(',')[0]!.trim();
  return req.socket.remoteAddress ?? '?';
}

/**
 * Start a server. Resolves once listening. Rejects with ARGUMENT_INVALID when the address
 * cannot be bound; throws RangeError for invalid limits.
 */
export async function startPpnnServer(opts: PpnnServerOptions): Promise<PpnnServer> {
  // the stock of session processes starts below; /metrics reads its memory only when scraped
  const metrics = createMetrics(() => threads.rssBytes());
  const log = opts.log;
  const admission = new Admission({
    maxSessions: opts.maxSessions,
    maxPerAddress: opts.maxPerAddress,
    maxQueue: opts.maxQueue,
    queueTimeoutMs: opts.queueTimeoutMs,
  });
  const guard = new HandshakeGuard(opts.handshakeMs, opts.maxPending, (socket, why) => {
    metrics.refused.inc({ code: why === 'deadline' ? 'TIMEOUT' : 'EVICTED' });
    log.debug({ peer: `${socket.remoteAddress}:${socket.remotePort}`, why }, 'connection cut in its handshake');
  });
  const live = new Set<LiveConnection>();
  let draining = false;
  const threads = new WarmWorkers({ model: opts.model }, opts.spareWorkers ?? 1);
  const relay: RelayConfig = {
    threads,
    model: opts.model,
    token: opts.token,
    handshakeMs: opts.handshakeMs,
    idleMs: opts.idleMs,
    maxBatch: opts.maxBatch,
    maxFrameBytes: opts.maxFrameBytes,
    minInputBits: opts.minInputBits,
    admission,
    metrics,
    log,
    ...(opts.shareBits !== undefined ? { shareBits: opts.shareBits } : {}),
    ...(opts.workers !== undefined ? { workers: opts.workers } : {}),
  };
  const httpOptions = {
    headersTimeout: opts.handshakeMs,
    requestTimeout: opts.handshakeMs,
    keepAliveTimeout: 5000,
    connectionsCheckingInterval: Math.min(1000, opts.handshakeMs),
  };
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    guard.admitted(req.socket);
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/healthz') {
      res.writeHead(draining ? 503 : 200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          status: draining ? 'draining' : 'ok',
          sessions: admission.active,
          queued: admission.queued,
          maxSessions: opts.maxSessions,
        }),
      );
    } else if (req.method === 'GET' && path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': metrics.registry.contentType });
          res.end(text);
        },
        () => {
          res.writeHead(500);
          res.end();
        },
      );
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found: use a WebSocket client (ppnn infer --server), GET /healthz or GET /metrics\n');
    }
  };
  const server: Server = opts.tls
    ? createHttpsServer(
        {
          ...httpOptions,
          cert: Buffer.from(opts.tls.cert),
          key: Buffer.from(opts.tls.key),
          handshakeTimeout: opts.handshakeMs,
        },
        onRequest,
      )
    : createHttpServer(httpOptions, onRequest);
  server.on(opts.tls ? 'secureConnection' : 'connection', (socket: Socket) => {
    if (draining) return socket.destroy();
    guard.add(socket);
  });
  // a failed or timed-out TLS handshake is an ordinary event for an Internet-facing port
  server.on('tlsClientError', (err: Error, socket: Socket) => {
    metrics.refused.inc({ code: 'TLS' });
    log.debug({ peer: `${socket.remoteAddress}:${socket.remotePort}`, err: err.message }, 'TLS handshake failed');
    socket.destroy();
  });
  server.on('clientError', (_err: Error, socket: Socket) => socket.destroy());

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: opts.maxFrameBytes,
    perMessageDeflate: false,
    clientTracking: false,
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    if (draining || !guard.isPending(socket)) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      const t = wsSocketTransport(ws, { maxFrameBytes: opts.maxFrameBytes });
      const info = {
        id: randomUUID(),
        address: peerAddress(req, opts.trustProxy),
        peer: `${req.socket.remoteAddress}:${req.socket.remotePort}`,
        admitted: () => guard.admitted(socket),
      };
      const conn = serveConnection(t, info, relay);
      live.add(conn);
      void conn.done.then(() => live.delete(conn));
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: Error) =>
      reject(new PpnnError('ARGUMENT_INVALID', `cannot listen on ${opts.host}:${opts.port}: ${err.message}`)),
    );
    server.listen(opts.port, opts.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : opts.port;
  const urlHost = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  let closing: Promise<void> | undefined;

  async function shutdown(drainMs: number): Promise<void> {
    draining = true;
    const stopped = new Promise<void>((done) => server.close(() => done()));
    guard.cutAll();
    for (const c of live) if (!c.inSession) c.abort('server shutting down');
    const running = [...live];
    log.info({ sessions: running.length, drainMs }, 'draining');
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<'deadline'>((done) => (timer = setTimeout(() => done('deadline'), drainMs)));
    const outcome = await Promise.race([
      Promise.all(running.map((c) => c.done)).then(() => 'drained' as const),
      deadline,
    ]);
    clearTimeout(timer);
    if (outcome === 'deadline') {
      log.warn({ sessions: live.size }, 'drain deadline reached: cutting the remaining sessions');
      for (const c of live) c.abort('server shutting down');
      await Promise.all([...live].map((c) => c.done));
    }
    server.closeAllConnections();
    await threads.close();
    await stopped;
  }

  return {
    url: `${opts.tls ? 'wss' : 'ws'}://${urlHost}:${port}`,
    port,
    metrics,
    admission,
    pending: () => guard.pending,
    active: () => admission.active,
    sessionRssBytes: () => threads.rssBytes(),
    close: (drainMs = 30_000) => (closing ??= shutdown(drainMs)),
  };
}
