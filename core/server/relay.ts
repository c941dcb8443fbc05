/**
 * One client connection, from greeting to close: authentication, the hello and its
 * policies, a session slot, then a relay between the client's socket and the session's
 * own child process (core/server/session-worker.ts), every client message checked
 * strictly on the way (core/server/validate.ts).
 *
 *   client ──ws──▶ relay (server process) ──IPC──▶ session process: serveSession
 *          auth · hello policy · BUSY · checkClientMessage       SEAL, idle deadline
 *
 * Deadlines: the whole handshake (greeting → authenticated hello) must end within
 * `handshakeMs`; after that the session worker waits at most `idleMs` for each client
 * message (serveSession's receive timeout) and answers TIMEOUT. A slow sender — 1 byte/s —
 * is cut by whichever deadline it is in.
 */
import { PpnnError, errorFromJSON, toPpnnError } from '../errors.ts';
import { AUTH_RESPONSE_TAG, PROBE_OK_TAG, PROBE_TAG } from '../transport/auth.ts';
import type { FramedTransport } from '../transport/framed.ts';
import { ipcTransport } from '../transport/ipc.ts';
import { ERROR_TAG, type Message, type Transport } from '../transport/transport.ts';
import { authenticate } from './auth.ts';
import { collectIfExposed } from './memory.ts';
import type { Admission } from './limits.ts';
import type { Logger } from './log.ts';
import type { ServerMetrics } from './metrics.ts';
import type { SessionStart, SessionWorkerEvent } from './session-worker.ts';
import type { SessionProcess, WarmWorkers } from './workers.ts';
import { ClientSequence, checkClientMessage, clientReportedError, helloFields } from './validate.ts';

export interface RelayConfig {
  model: string;
  token: Uint8Array | undefined;
  handshakeMs: number;
  idleMs: number;
  maxBatch: number;
  maxFrameBytes: number;
  minInputBits: number;
  shareBits?: number;
  workers?: number;
  admission: Admission;
  threads: WarmWorkers;
  metrics: ServerMetrics;
  log: Logger;
}

export interface ConnectionInfo {
  id: string;
  /** address the per-address limit counts (the client's, through a trusted proxy) */
  address: string;
  /** ip:port of the socket, for logs */
  peer: string;
  /** the handshake is over: the connection leaves the handshake deadline */
  admitted(): void;
}

/** A running connection, as the server's shutdown sees it. */
export interface LiveConnection {
  info: ConnectionInfo;
  /** true once a session slot is held (it is allowed to finish on drain) */
  inSession: boolean;
  /** cut now: terminate the worker and close the socket */
  abort(reason: string): void;
  done: Promise<void>;
}

async function firstMessage(t: Transport, timeoutMs: number): Promise<Message> {
  try {
    return await t.receive({ timeoutMs: Math.max(1, timeoutMs) });
  } catch (e) {
    const err = toPpnnError(e);
    if (err.code === 'TIMEOUT') throw new PpnnError('TIMEOUT', 'no hello within the handshake deadline');
    throw err;
  }
}

/**
 * Serve connection `t` to its end (never rejects: every failure is reported to the client
 * as a coded error, counted and logged). `live.abort` ends it early.
 */
export function serveConnection(t: FramedTransport, info: ConnectionInfo, cfg: RelayConfig): LiveConnection {
  let worker: SessionProcess | undefined;
  const gone = new AbortController();
  t.onClose(() => gone.abort());
  const live: LiveConnection = {
    info,
    inSession: false,
    abort(reason) {
      void worker?.terminate();
      if (!t.closed) t.close(reason);
    },
    done: Promise.resolve(),
  };
  const log = cfg.log.child({ session: info.id, peer: info.peer });
  live.done = run().catch(() => {});
  return live;

  async function run(): Promise<void> {
    const t0 = performance.now();
    let release: (() => void) | undefined;
    let stage = 'handshake';
    try {
      await authenticate(t, cfg.token, cfg.handshakeMs);
      let hello = await firstMessage(t, cfg.handshakeMs - (performance.now() - t0));
      // a client holding a token answers even an open server's challenge: skip that answer
      if (!cfg.token && hello.tag === AUTH_RESPONSE_TAG)
        hello = await firstMessage(t, cfg.handshakeMs - (performance.now() - t0));
      if (hello.tag === PROBE_TAG) {
        // authenticated and asking only whether it may connect: no slot, no worker
        t.send({ tag: PROBE_OK_TAG, header: { v: 1 }, blobs: [] });
        log.debug({ ms: Math.round(performance.now() - t0) }, 'probe answered');
        return;
      }
      if (hello.tag === ERROR_TAG) throw clientReportedError(hello.header);
      if (hello.tag !== 'hello') throw new PpnnError('PROTOCOL_VIOLATION', `expected 'hello', got '${hello.tag}'`);
      checkClientMessage(hello);
      const h = helloFields(hello);
      if (h.inputBits < cfg.minInputBits) {
        throw new PpnnError(
          'POLICY_REFUSED',
          `hello: inputBits ${h.inputBits} is below this server's minimum of ${cfg.minInputBits} (--min-input-bits)`,
        );
      }
      info.admitted();
      stage = 'queue';
      cfg.metrics.queued.inc();
      try {
        release = await cfg.admission.acquire(info.address, gone.signal);
      } finally {
        cfg.metrics.queued.dec();
      }
      cfg.metrics.stage.observe({ stage: 'handshake' }, (performance.now() - t0) / 1000);
      stage = 'session';
      live.inSession = true;
      cfg.metrics.active.inc();
      cfg.metrics.total.inc();
      log.info({ scheme: h.scheme, inputBits: h.inputBits, active: cfg.admission.active }, 'session started');
      worker = await cfg.threads.take();
      const { ev, errorRelayed } = await relaySession(t, hello, cfg, worker);
      if (ev.type === 'error') {
        const err = errorFromJSON(ev.error);
        if (errorRelayed) (err as { relayed?: boolean }).relayed = true;
        throw err;
      }
      cfg.metrics.stage.observe({ stage: 'preprocessing' }, ev.preprocessingMs / 1000);
      cfg.metrics.stage.observe({ stage: 'online' }, ev.onlineMs / 1000);
      const ms = performance.now() - t0;
      cfg.metrics.stage.observe({ stage: 'session' }, ms / 1000);
      cfg.admission.observeSession(ms);
      log.info(
        {
          scheme: ev.scheme,
          images: ev.images,
          ms: Math.round(ms),
          bytesIn: t.stats.bytesReceived,
          bytesOut: t.stats.bytesSent,
        },
        'session done',
      );
    } catch (e) {
      const err = toPpnnError(e);
      // the session worker told the client already; everything else is told here
      if ((e as { relayed?: boolean }).relayed) t.close(`${err.code}: ${err.message}`);
      else reportFailure(t, err);
      if (stage === 'session') cfg.metrics.failed.inc({ code: err.code });
      else cfg.metrics.refused.inc({ code: err.code });
      log.warn({ code: err.code, stage, ms: Math.round(performance.now() - t0) }, err.message);
    } finally {
      if (live.inSession) cfg.metrics.active.dec();
      live.inSession = false;
      release?.();
      cfg.metrics.bytesIn.inc(t.stats.bytesReceived);
      cfg.metrics.bytesOut.inc(t.stats.bytesSent);
      if (worker) await worker.terminate();
      if (!t.closed) t.close('session over');
      // idle again: give the relayed frames' memory back now rather than at V8's leisure
      if (cfg.admission.active === 0) setTimeout(() => cfg.admission.active === 0 && collectIfExposed(), 200).unref();
    }
  }
}

/** Send `err` (unless the peer left) and close with the error's close code (4000, or 1013 for BUSY). */
function reportFailure(t: FramedTransport, err: PpnnError): void {
  if (!t.closed) t.fail(err);
}

type FinalEvent = Exclude<SessionWorkerEvent, { type: 'ready' }>;

interface RelayOutcome {
  ev: FinalEvent;
  /** the session's own error message already went to the client */
  errorRelayed: boolean;
}

/** How long the relay waits for the last frames of an exited session worker. */
const FLUSH_GRACE_MS = 1000;

/**
 * Run the session in its own warm worker and relay messages both ways until it ends. Resolves
 * with the worker's final event; a client message that fails the strict check ends the
 * session with PROTOCOL_VIOLATION (the worker is terminated, the caller tells the client).
 */
function relaySession(t: Transport, hello: Message, cfg: RelayConfig, worker: SessionProcess): Promise<RelayOutcome> {
  const start: SessionStart = {
    type: 'start',
    idleMs: cfg.idleMs,
    maxBatch: cfg.maxBatch,
    maxFrameBytes: cfg.maxFrameBytes,
    ...(cfg.shareBits !== undefined ? { shareBits: cfg.shareBits } : {}),
    ...(cfg.workers !== undefined ? { workers: cfg.workers } : {}),
  };
  worker.ref();
  // listen before starting: the session's first frame may follow its start at once
  const wp = ipcTransport(worker.channel, { maxFrameBytes: cfg.maxFrameBytes });
  worker.start(start);
  let errorRelayed = false;
  // worker → client: everything the session sends, its error report included
  const toClient = (async () => {
    for (;;) {
      const m = await wp.receive().catch(() => undefined);
      if (!m) return;
      if (m.tag === ERROR_TAG) errorRelayed = true;
      try {
        t.send(m);
      } catch {
        return;
      }
    }
  })();
  return new Promise<RelayOutcome>((resolve) => {
    let settled = false;
    let final: FinalEvent | undefined;
    const finish = (ev: FinalEvent, now = false): void => {
      if (settled) return;
      settled = true;
      const end = (): void => {
        wp.close();
        resolve({ ev, errorRelayed });
      };
      if (now) {
        void worker.terminate();
        end();
        return;
      }
      // the worker closed its port after its last send: let those frames reach the client
      const grace = setTimeout(end, FLUSH_GRACE_MS);
      void toClient.then(() => {
        clearTimeout(grace);
        end();
      });
    };
    // the channel carries frames too ({ ppnnFrame }: the transport's); only events have a type
    worker.on('message', (ev: SessionWorkerEvent) => {
      if (ev.type === 'done' || ev.type === 'error') final = ev;
    });
    worker.on('error', (e) => finish({ type: 'error', error: toPpnnError(e).toJSON() }));
    worker.on('exit', (code) =>
      finish(
        final ?? { type: 'error', error: { code: 'INTERNAL', message: `session process exited with code ${code}` } },
      ),
    );
    // client → worker, each message checked first
    const order = new ClientSequence();
    void (async () => {
      wp.send(hello);
      for (;;) {
        const m = await t.receive().catch((e: unknown) => toPpnnError(e));
        if (settled) return;
        if (m instanceof PpnnError) {
          // the client left after the session's own error reached it: that error is the
          // outcome (metrics count it by its code); the worker reports it as it exits
          if (errorRelayed) {
            setTimeout(() => finish({ type: 'error', error: m.toJSON() }, true), FLUSH_GRACE_MS).unref();
            return;
          }
          // the client left (or broke a frame): end the session now, nobody will read its results
          finish({ type: 'error', error: m.toJSON() }, true);
          return;
        }
        try {
          checkClientMessage(m);
          order.check(m);
        } catch (e) {
          finish({ type: 'error', error: toPpnnError(e).toJSON() }, true);
          return;
        }
        if (wp.closed) return;
        wp.send(m);
        // after bye the client owes nothing more; its close must not look like a failure
        if (m.tag === 'bye' || m.tag === ERROR_TAG) return;
      }
    })();
  });
}
