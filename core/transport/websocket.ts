/**
 * WebSocket transport (the `ws` package): `wsConnect` for clients, `wsListen` for the
 * inference server. One binary WebSocket message carries exactly one frame.
 *
 * Robustness rules, because the server faces untrusted peers:
 * - ws's `maxPayload` is set to the frame limit, so an oversized message is cut off by
 *   ws before it is buffered (ws then closes with 1009, which the peer maps back to
 *   FRAME_INVALID since no 'error' message can follow a close).
 * - A malformed frame or a text message fails only that connection: it gets an 'error'
 *   message (FRAME_INVALID) and is closed; other sessions never notice.
 * - Past `maxSessions` a new connection is told SESSION_LIMIT and closed with 1013.
 * - Compression is off: ciphertexts do not compress and inflate invites zip bombs.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import WebSocket, { WebSocketServer } from 'ws';
import { PpnnError, toPpnnError } from '../errors.ts';
import { FramedTransport } from './framed.ts';
import { resolveFrameLimits, type FrameLimits } from './frame.ts';
import type { Transport } from './transport.ts';

const CLOSE_NORMAL = 1000;
const CLOSE_MESSAGE_TOO_BIG = 1009;
const CLOSE_TRY_AGAIN_LATER = 1013;
/** Private-use close code: "closed because of the PpnnError named in the reason". */
const CLOSE_PPNN_ERROR = 4000;
const MAX_CLOSE_REASON_BYTES = 123; // RFC 6455: control frames carry at most 125 bytes
/** How long a graceful close may take before the socket is cut (server shutdown). */
const SHUTDOWN_GRACE_MS = 1000;

export interface WsConnectOptions extends FrameLimits {
  /** Reject with TIMEOUT if the connection is not open within this many ms. */
  timeoutMs?: number;
  /** Reject with CANCELLED (and drop the attempt) when aborted. */
  signal?: AbortSignal;
}

export interface WsListenOptions extends FrameLimits {
  /** Interface to bind; default 127.0.0.1 (never all interfaces unless asked). */
  host?: string;
  /** TCP port; 0 picks any free port (read it back from the result). */
  port?: number;
  /** Concurrent sessions admitted; later ones get SESSION_LIMIT. Default 16. */
  maxSessions?: number;
}

export interface SessionInfo {
  /** Random id for logs and reports. */
  id: string;
  /** Peer address as `ip:port`. */
  remote: string;
}

export interface WsServerHandle {
  port: number;
  url: string;
  /** Close every session, stop listening; resolves when all sockets are gone. */
  close(): Promise<void>;
  /** Number of sessions currently open. */
  sessions(): number;
}

function truncateUtf8(text: string, maxBytes: number): string {
  const bytes = new TextEncoder().encode(text);
  if (bytes.length <= maxBytes) return text;
  // Cutting may split a code point; a lenient decode then drops the broken tail.
  return new TextDecoder().decode(bytes.subarray(0, maxBytes)).replace(/\uFFFD+$/, '');
}

/** Build a Transport over an open (or opening) socket and route its events into it. */
function socketTransport(socket: WebSocket, limits: FrameLimits): FramedTransport {
  const transport = new FramedTransport(
    {
      write(frame) {
        socket.send(frame, { binary: true });
      },
      close(reason, error) {
        if (socket.readyState === WebSocket.CONNECTING) {
          socket.terminate();
          return;
        }
        const code = !error ? CLOSE_NORMAL : error.code === 'SESSION_LIMIT' ? CLOSE_TRY_AGAIN_LATER : CLOSE_PPNN_ERROR;
        const text = error ? `${error.code}: ${error.message}` : (reason ?? '');
        socket.close(code, truncateUtf8(text, MAX_CLOSE_REASON_BYTES));
      },
    },
    limits,
  );
  let localError: PpnnError | undefined;
  socket.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
    if (!isBinary) {
      transport.fail(new PpnnError('FRAME_INVALID', 'invalid frame: text messages are not accepted, frames are binary'));
      return;
    }
    const bytes = Array.isArray(data) ? Buffer.concat(data) : data instanceof ArrayBuffer ? new Uint8Array(data) : data;
    transport.deliverFrame(bytes);
  });
  socket.on('error', (err: Error & { code?: string }) => {
    // ws emits 'error' then 'close'; remember why so the close carries the right code.
    localError =
      err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH'
        ? new PpnnError('FRAME_INVALID', `invalid frame: message exceeds the limit of ${transport.maxFrameBytes} bytes`)
        : new PpnnError('PEER_DISCONNECTED', `connection failed: ${err.message}`);
  });
  socket.on('close', (code: number, reasonBuffer: Buffer) => {
    const reason = reasonBuffer.toString('utf8') || `connection closed (code ${code})`;
    if (localError) transport.peerClosed(localError.message, localError);
    else if (code === CLOSE_MESSAGE_TOO_BIG) {
      transport.peerClosed(reason, new PpnnError('FRAME_INVALID', `invalid frame: the peer rejected a frame over its size limit (${reason})`));
    } else transport.peerClosed(reason);
  });
  return transport;
}

/**
 * Connect to a PPNN WebSocket server. Resolves with the Transport once open. Throws
 * TypeError for a non ws:// / wss:// url, RangeError for bad options; rejects with
 * PEER_DISCONNECTED when the connection fails, TIMEOUT or CANCELLED.
 */
export function wsConnect(url: string, opts: WsConnectOptions = {}): Promise<Transport> {
  if (typeof url !== 'string' || !/^wss?:\/\//i.test(url)) throw new TypeError(`url must be a ws:// or wss:// URL, got ${String(url)}`);
  const limits = resolveFrameLimits(opts);
  const { timeoutMs, signal } = opts;
  if (timeoutMs !== undefined && !(Number.isFinite(timeoutMs) && timeoutMs >= 0)) {
    throw new RangeError(`opts.timeoutMs must be a finite number >= 0, got ${String(timeoutMs)}`);
  }
  if (signal?.aborted) return Promise.reject(new PpnnError('CANCELLED', `connection to ${url} was cancelled`));
  return new Promise<Transport>((resolve, reject) => {
    const socket = new WebSocket(url, { maxPayload: limits.maxFrameBytes, perMessageDeflate: false });
    // Created now, not on 'open', so a message sent right after the handshake
    // (e.g. SESSION_LIMIT) is already queued when the caller starts receiving.
    const transport = socketTransport(socket, limits);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const settle = (err?: PpnnError): void => {
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.off('open', onOpen);
      socket.off('close', onEarlyClose);
      socket.off('error', onError);
      if (!err) return resolve(transport);
      socket.terminate();
      reject(err);
    };
    const onOpen = (): void => settle();
    const onEarlyClose = (): void => settle(new PpnnError('PEER_DISCONNECTED', `could not connect to ${url}`));
    const onAbort = (): void => settle(new PpnnError('CANCELLED', `connection to ${url} was cancelled`));
    const onError = (err: Error): void => settle(new PpnnError('PEER_DISCONNECTED', `could not connect to ${url}: ${err.message}`));
    socket.on('error', onError);
    socket.once('open', onOpen);
    socket.once('close', onEarlyClose);
    signal?.addEventListener('abort', onAbort, { once: true });
    if (timeoutMs !== undefined) {
      timer = setTimeout(() => settle(new PpnnError('TIMEOUT', `no connection to ${url} within ${timeoutMs} ms`)), timeoutMs);
    }
  });
}

function validateListenOptions(opts: WsListenOptions): { host: string; port: number; maxSessions: number; limits: Required<FrameLimits> } {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? 0;
  const maxSessions = opts.maxSessions ?? 16;
  if (typeof host !== 'string' || host.length === 0) throw new TypeError('opts.host must be a non-empty string');
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`opts.port must be an integer in [0, 65535], got ${String(port)}`);
  if (!Number.isInteger(maxSessions) || maxSessions < 1) throw new RangeError(`opts.maxSessions must be a positive integer, got ${String(maxSessions)}`);
  return { host, port, maxSessions, limits: resolveFrameLimits(opts) };
}

/**
 * Listen for PPNN clients. `onSession` runs once per admitted connection with its
 * Transport; if it throws (or rejects) the error is sent to that client as an 'error'
 * message and the connection closed, while the server keeps listening. Resolves with a
 * handle once bound. Throws TypeError/RangeError for bad options; rejects with
 * ARGUMENT_INVALID when the address cannot be bound (e.g. port in use).
 */
export function wsListen(opts: WsListenOptions, onSession: (transport: Transport, info: SessionInfo) => void | Promise<void>): Promise<WsServerHandle> {
  const { host, port, maxSessions, limits } = validateListenOptions(opts ?? {});
  if (typeof onSession !== 'function') throw new TypeError('onSession must be a function');
  const live = new Map<WebSocket, FramedTransport>();
  let shuttingDown = false;

  return new Promise<WsServerHandle>((resolve, reject) => {
    const server = new WebSocketServer({ host, port, maxPayload: limits.maxFrameBytes, perMessageDeflate: false, clientTracking: false });
    server.on('connection', (socket: WebSocket, req: IncomingMessage) => {
      if (shuttingDown) return socket.terminate();
      const transport = socketTransport(socket, limits);
      if (live.size >= maxSessions) {
        transport.fail(new PpnnError('SESSION_LIMIT', `server is at its limit of ${maxSessions} concurrent sessions; try again later`));
        return;
      }
      live.set(socket, transport);
      socket.on('close', () => live.delete(socket));
      const info: SessionInfo = { id: randomUUID(), remote: `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}` };
      Promise.resolve()
        .then(() => onSession(transport, info))
        .catch((err: unknown) => transport.fail(toPpnnError(err)));
    });
    server.once('error', (err: Error) => {
      reject(new PpnnError('ARGUMENT_INVALID', `cannot listen on ${host}:${port}: ${err.message}`));
      server.close();
    });
    server.once('listening', () => {
      const address = server.address();
      const boundPort = typeof address === 'object' && address !== null ? address.port : port;
      const urlHost = host.includes(':') ? `[${host}]` : host;
      resolve({
        port: boundPort,
        url: `ws://${urlHost}:${boundPort}`,
        sessions: () => live.size,
        close: () => shutdown(server, live, () => (shuttingDown = true)),
      });
    });
  });
}

async function shutdown(server: WebSocketServer, live: Map<WebSocket, FramedTransport>, markShuttingDown: () => void): Promise<void> {
  markShuttingDown();
  const socketsGone = [...live.entries()].map(
    ([socket, transport]) =>
      new Promise<void>((done) => {
        if (socket.readyState === WebSocket.CLOSED) return done();
        // A peer that ignores the close handshake is cut off after a short grace.
        const timer = setTimeout(() => socket.terminate(), SHUTDOWN_GRACE_MS);
        socket.once('close', () => {
          clearTimeout(timer);
          done();
        });
        transport.close('server shutting down');
      }),
  );
  await Promise.all(socketsGone);
  await new Promise<void>((done) => server.close(() => done()));
}
