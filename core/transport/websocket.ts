// Long file: client and listener halves of one WebSocket transport share the frame limits, the close-code
// mapping and the TLS/token rules listed below; owned by the server engineer this round (issue 13), so not split.
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
 *
 * Client side of authentication and TLS (the server side is core/server/): `token` answers
 * the server's challenge (core/transport/auth.ts) before the transport is handed out;
 * `ca` trusts a private CA for wss:// (hostname checked as usual); `pin` accepts exactly
 * one certificate, by its SHA-256 fingerprint, whoever signed it. Without a token, a
 * server that requires one is reported as AUTH_FAILED instead of an unexpected message.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import * as tls from 'node:tls';
import WebSocket, { WebSocketServer } from 'ws';
import { PpnnError, isPpnnError, toPpnnError } from '../errors.ts';
import { AUTH_CHALLENGE_TAG, AUTH_RESPONSE_TAG, PROBE_OK_TAG, PROBE_TAG, authProof, fromHex, toHex } from './auth.ts';
import { FramedTransport } from './framed.ts';
import { decodeFrame, resolveFrameLimits, type FrameLimits } from './frame.ts';
import { expectMessage, type Transport } from './transport.ts';

const CLOSE_NORMAL = 1000;
const CLOSE_MESSAGE_TOO_BIG = 1009;
const CLOSE_TRY_AGAIN_LATER = 1013;
/** Private-use close code: "closed because of the PpnnError named in the reason". */
const CLOSE_PPNN_ERROR = 4000;
const MAX_CLOSE_REASON_BYTES = 123; // RFC 6455: control frames carry at most 125 bytes
/** How long a graceful close may take before the socket is cut (server shutdown). */
const SHUTDOWN_GRACE_MS = 1000;
/** How long a close handshake may take before the socket is cut (any local close). */
const CLOSE_HANDSHAKE_GRACE_MS = 1000;

export interface WsConnectOptions extends FrameLimits {
  /** Reject with TIMEOUT if the connection is not open (and authenticated) within this many ms. */
  timeoutMs?: number;
  /** Reject with CANCELLED (and drop the attempt) when aborted. */
  signal?: AbortSignal;
  /** Shared secret proven to the server by challenge–response; never sent itself. */
  token?: Uint8Array | string;
  /** PEM of the CA (or self-signed certificate) a wss:// server must chain to. */
  ca?: string | Uint8Array;
  /** 'sha256:HEX' fingerprint of the one certificate a wss:// server may present. */
  pin?: string;
}

/** How long a client with a token waits for the server's challenge by default. */
const DEFAULT_AUTH_TIMEOUT_MS = 15_000;

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

/**
 * Build a Transport over an open (or opening) ws socket and route its events into it.
 * `firstFrame`, when given, sees the first incoming frame and may consume it (returns
 * true). Exported for the server layer, which accepts sockets itself (core/server/).
 */
export function wsSocketTransport(
  socket: WebSocket,
  limits: FrameLimits,
  firstFrame?: (bytes: Uint8Array, t: FramedTransport) => boolean,
): FramedTransport {
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
        const busy = error?.code === 'SESSION_LIMIT' || error?.code === 'BUSY';
        const code = !error ? CLOSE_NORMAL : busy ? CLOSE_TRY_AGAIN_LATER : CLOSE_PPNN_ERROR;
        const text = error ? `${error.code}: ${error.message}` : (reason ?? '');
        socket.close(code, truncateUtf8(text, MAX_CLOSE_REASON_BYTES));
        // a peer that never answers the close handshake (or is mid-frame, dribbling bytes)
        // must not keep the socket for ws's 30 s close timeout
        const cut = setTimeout(() => socket.terminate(), CLOSE_HANDSHAKE_GRACE_MS);
        cut.unref();
        socket.once('close', () => clearTimeout(cut));
      },
    },
    limits,
  );
  let localError: PpnnError | undefined;
  socket.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
    if (!isBinary) {
      transport.fail(
        new PpnnError('FRAME_INVALID', 'invalid frame: text messages are not accepted, frames are binary'),
      );
      return;
    }
    const bytes = Array.isArray(data) ? Buffer.concat(data) : data instanceof ArrayBuffer ? new Uint8Array(data) : data;
    const hook = firstFrame;
    firstFrame = undefined;
    if (hook?.(bytes, transport)) return;
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
      transport.peerClosed(
        reason,
        new PpnnError('FRAME_INVALID', `invalid frame: the peer rejected a frame over its size limit (${reason})`),
      );
    } else transport.peerClosed(reason);
  });
  return transport;
}

/** Normalise 'sha256:AB:CD…' / 'sha256:abcd…' to lower-case hex; TypeError when malformed. */
export function parsePin(pin: string): string {
  const m = /^sha256:([0-9a-fA-F:]+)$/.exec(typeof pin === 'string' ? pin.trim() : '');
  const hex = m ? m[1]!.replace(/:/g, '').toLowerCase() : '';
  if (hex.length !== 64) throw new TypeError(`pin must be 'sha256:' followed by 64 hex digits, got ${String(pin)}`);
  return hex;
}

/** TLS errors that mean "this is not a server we trust" (not "the network failed"). */
const TLS_TRUST_ERRORS = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS_CERT_ALTNAME/;

function tlsClientOptions(url: string, opts: WsConnectOptions): Record<string, unknown> {
  const secure = /^wss:/i.test(url);
  if (!secure) {
    if (opts.ca !== undefined || opts.pin !== undefined) throw new TypeError('opts.ca / opts.pin need a wss:// url');
    return {};
  }
  if (opts.pin === undefined)
    return opts.ca !== undefined ? { ca: typeof opts.ca === 'string' ? opts.ca : Buffer.from(opts.ca) } : {};
  const pin = parsePin(opts.pin);
  // A pinned certificate is trusted for itself, whoever signed it: the chain check is
  // replaced by the fingerprint check, done before any byte of ours is answered.
  return {
    createConnection: (o: tls.ConnectionOptions & { host?: string }) => {
      const servername = o.servername ?? (o.host && !isIP(o.host) ? o.host : undefined);
      const sock = tls.connect({ ...o, ...(servername ? { servername } : {}), rejectUnauthorized: false });
      sock.once('secureConnect', () => {
        const fp = sock.getPeerCertificate()?.fingerprint256?.replace(/:/g, '').toLowerCase();
        if (fp !== pin) {
          sock.destroy(
            new PpnnError(
              'AUTH_FAILED',
              `server certificate sha256:${fp ?? '?'} does not match the pinned sha256:${pin}`,
            ),
          );
        }
      });
      return sock;
    },
  };
}

function connectError(url: string, err: Error & { code?: string }): PpnnError {
  if (isPpnnError(err)) return err;
  if (TLS_TRUST_ERRORS.test(err.code ?? '')) {
    return new PpnnError(
      'AUTH_FAILED',
      `server certificate of ${url} not trusted (${err.code}: ${err.message}); pass --ca FILE or --pin sha256:HEX`,
    );
  }
  return new PpnnError('PEER_DISCONNECTED', `could not connect to ${url}: ${err.message}`);
}

/** A token-less client: a challenge that demands a token ends the session as AUTH_FAILED. */
function tokenlessGreeting(bytes: Uint8Array, t: FramedTransport): boolean {
  let msg;
  try {
    msg = decodeFrame(bytes, { maxFrameBytes: t.maxFrameBytes });
  } catch {
    return false; // let the transport report the bad frame as usual
  }
  if (msg.tag !== AUTH_CHALLENGE_TAG) return false;
  if ((msg.header as { required?: unknown } | null)?.required === true) {
    t.fail(new PpnnError('AUTH_FAILED', 'the server requires a token (pass --token-file FILE or set PPNN_TOKEN)'));
  }
  return true;
}

/** Answer the server's challenge with HMAC(token, nonce ‖ context); errors are coded. */
async function answerChallenge(
  t: Transport,
  token: Uint8Array,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<void> {
  const challenge = await expectMessage(t, AUTH_CHALLENGE_TAG, { timeoutMs, ...(signal ? { signal } : {}) }).catch(
    (e: unknown) => {
      const err = toPpnnError(e);
      if (err.code === 'TIMEOUT')
        throw new PpnnError('AUTH_FAILED', `the server sent no authentication challenge within ${timeoutMs} ms`);
      throw err;
    },
  );
  const nonce = fromHex((challenge.header as { nonce?: unknown } | null)?.nonce);
  if (!nonce || nonce.length < 16)
    throw new PpnnError('PROTOCOL_VIOLATION', 'auth.challenge: header.nonce must be hex of at least 16 bytes');
  if ((challenge.header as { required?: unknown }).required !== true) return; // open server: nothing to prove
  t.send({ tag: AUTH_RESPONSE_TAG, header: { mac: toHex(authProof(token, nonce)) }, blobs: [] });
}

/**
 * Connect to a PPNN WebSocket server. Resolves with the Transport once open (and, with
 * `token`, once the challenge is answered; a wrong token surfaces as AUTH_FAILED on the
 * first receive). Throws TypeError for a non ws:// / wss:// url, a bad pin or ca/pin on
 * ws://, RangeError for bad options; rejects with AUTH_FAILED when the server's
 * certificate is not trusted, PEER_DISCONNECTED when the connection fails, TIMEOUT or
 * CANCELLED.
 */
export function wsConnect(url: string, opts: WsConnectOptions = {}): Promise<Transport> {
  if (typeof url !== 'string' || !/^wss?:\/\//i.test(url))
    throw new TypeError(`url must be a ws:// or wss:// URL, got ${String(url)}`);
  const limits = resolveFrameLimits(opts);
  const { timeoutMs, signal } = opts;
  if (timeoutMs !== undefined && !(Number.isFinite(timeoutMs) && timeoutMs >= 0)) {
    throw new RangeError(`opts.timeoutMs must be a finite number >= 0, got ${String(timeoutMs)}`);
  }
  const token = typeof opts.token === 'string' ? new TextEncoder().encode(opts.token) : opts.token;
  if (token !== undefined && (!(token instanceof Uint8Array) || token.length === 0))
    throw new TypeError('opts.token must be a non-empty string or Uint8Array');
  const tlsOptions = tlsClientOptions(url, opts);
  if (signal?.aborted) return Promise.reject(new PpnnError('CANCELLED', `connection to ${url} was cancelled`));
  return connectAndAuthenticate(url, opts, limits, tlsOptions, token);
}

async function connectAndAuthenticate(
  url: string,
  opts: WsConnectOptions,
  limits: Required<FrameLimits>,
  tlsOptions: Record<string, unknown>,
  token: Uint8Array | undefined,
): Promise<Transport> {
  const { timeoutMs, signal } = opts;
  const t0 = performance.now();
  const transport = await new Promise<FramedTransport>((resolve, reject) => {
    const socket = new WebSocket(url, { maxPayload: limits.maxFrameBytes, perMessageDeflate: false, ...tlsOptions });
    // Created now, not on 'open', so a message sent right after the handshake
    // (e.g. SESSION_LIMIT) is already queued when the caller starts receiving.
    const transport = wsSocketTransport(socket, limits, token ? undefined : tokenlessGreeting);
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
    let earlyError: PpnnError | undefined;
    const onOpen = (): void => settle();
    const onEarlyClose = (): void =>
      settle(earlyError ?? new PpnnError('PEER_DISCONNECTED', `could not connect to ${url}`));
    const onAbort = (): void => settle(new PpnnError('CANCELLED', `connection to ${url} was cancelled`));
    const onError = (err: Error): void => {
      earlyError = connectError(url, err);
      settle(earlyError);
    };
    socket.on('error', onError);
    socket.once('open', onOpen);
    socket.once('close', onEarlyClose);
    signal?.addEventListener('abort', onAbort, { once: true });
    if (timeoutMs !== undefined) {
      timer = setTimeout(
        () => settle(new PpnnError('TIMEOUT', `no connection to ${url} within ${timeoutMs} ms`)),
        timeoutMs,
      );
    }
  });
  if (!token) return transport;
  try {
    const left = timeoutMs !== undefined ? Math.max(1, timeoutMs - (performance.now() - t0)) : DEFAULT_AUTH_TIMEOUT_MS;
    await answerChallenge(transport, token, left, signal);
  } catch (e) {
    transport.close('authentication failed');
    throw e;
  }
  return transport;
}

/**
 * Check a `ppnn serve` the way a session would reach it — TLS verified (`ca` / `pin`), the
 * token proved — without starting a session (probe / probe.ok, core/transport/auth.ts).
 * Resolves with the round-trip time in ms; rejects with wsConnect's errors, AUTH_FAILED for
 * a wrong or missing token, TIMEOUT when no answer comes within `timeoutMs`.
 */
export async function wsProbe(url: string, opts: WsConnectOptions & { timeoutMs: number }): Promise<number> {
  const t0 = performance.now();
  const t = await wsConnect(url, opts);
  try {
    t.send({ tag: PROBE_TAG, header: null, blobs: [] });
    const left = Math.max(1, opts.timeoutMs - (performance.now() - t0));
    await expectMessage(t, PROBE_OK_TAG, { timeoutMs: left, ...(opts.signal ? { signal: opts.signal } : {}) });
    return performance.now() - t0;
  } finally {
    t.close('probe done');
  }
}

function validateListenOptions(opts: WsListenOptions): {
  host: string;
  port: number;
  maxSessions: number;
  limits: Required<FrameLimits>;
} {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? 0;
  const maxSessions = opts.maxSessions ?? 16;
  if (typeof host !== 'string' || host.length === 0) throw new TypeError('opts.host must be a non-empty string');
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new RangeError(`opts.port must be an integer in [0, 65535], got ${String(port)}`);
  if (!Number.isInteger(maxSessions) || maxSessions < 1)
    throw new RangeError(`opts.maxSessions must be a positive integer, got ${String(maxSessions)}`);
  return { host, port, maxSessions, limits: resolveFrameLimits(opts) };
}

/**
 * Listen for PPNN clients. `onSession` runs once per admitted connection with its
 * Transport; if it throws (or rejects) the error is sent to that client as an 'error'
 * message and the connection closed, while the server keeps listening. Resolves with a
 * handle once bound. Throws TypeError/RangeError for bad options; rejects with
 * ARGUMENT_INVALID when the address cannot be bound (e.g. port in use).
 */
export function wsListen(
  opts: WsListenOptions,
  onSession: (transport: Transport, info: SessionInfo) => void | Promise<void>,
): Promise<WsServerHandle> {
  const { host, port, maxSessions, limits } = validateListenOptions(opts ?? {});
  if (typeof onSession !== 'function') throw new TypeError('onSession must be a function');
  const live = new Map<WebSocket, FramedTransport>();
  let shuttingDown = false;

  return new Promise<WsServerHandle>((resolve, reject) => {
    const server = new WebSocketServer({
      host,
      port,
      maxPayload: limits.maxFrameBytes,
      perMessageDeflate: false,
      clientTracking: false,
    });
    server.on('connection', (socket: WebSocket, req: IncomingMessage) => {
      if (shuttingDown) return socket.terminate();
      const transport = wsSocketTransport(socket, limits);
      if (live.size >= maxSessions) {
        transport.fail(
          new PpnnError(
            'SESSION_LIMIT',
            `server is at its limit of ${maxSessions} concurrent sessions; try again later`,
          ),
        );
        return;
      }
      live.set(socket, transport);
      socket.on('close', () => live.delete(socket));
      const info: SessionInfo = {
        id: randomUUID(),
        remote: `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`,
      };
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

async function shutdown(
  server: WebSocketServer,
  live: Map<WebSocket, FramedTransport>,
  markShuttingDown: () => void,
): Promise<void> {
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
