import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { loadModel } from '../../model/load.ts';
import { PpnnError } from '../../errors.ts';
import { loadToken } from '../../server/auth.ts';
import { estimateSession, sessionsForBudget } from '../../server/estimate.ts';
import { createLogger } from '../../server/log.ts';
import { reexecWithAllocatorTuning } from '../../server/memory.ts';
import { startPpnnServer } from '../../server/server.ts';
import { defineCommand } from '../command.ts';
import { missingBoundsWarning } from './calibrate.ts';
import { MODEL_OPTION, SHARE_BITS_OPTION, WORKERS_OPTION } from './options.ts';

const MiB = 1024 * 1024;

/** Memory this process may plan for: the cgroup limit when there is one, else physical memory. */
function memoryLimitBytes(): number {
  try {
    const n = Number(readFileSync('/sys/fs/cgroup/memory.max', 'utf8').trim());
    if (Number.isFinite(n) && n > 0) return Math.min(n, totalmem());
  } catch {
    // no cgroup v2 limit visible: physical memory it is
  }
  return totalmem();
}

function readPem(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new PpnnError('FILE_NOT_FOUND', `cannot read the ${what} ${file}: ${(e as Error).message}`);
  }
}

const ms = (d: number, description: string) =>
  ({ type: 'int', default: d, min: 100, max: 3_600_000, placeholder: 'MS', description }) as const;

export const serveCommand = defineCommand({
  name: 'serve',
  summary: 'run the server role over WebSocket (weights never leave this process)',
  options: {
    model: MODEL_OPTION,
    host: { type: 'string', default: '127.0.0.1', description: 'address to listen on' },
    port: {
      type: 'int',
      default: 0,
      min: 0,
      max: 65535,
      description: 'TCP port (0: any free port, printed once ready)',
    },
    'token-file': {
      type: 'string',
      placeholder: 'F',
      defaultText: '$PPNN_TOKEN, else no authentication',
      description: 'clients must prove this token (HMAC challenge–response)',
    },
    'tls-cert': {
      type: 'string',
      placeholder: 'C',
      description: 'PEM certificate chain: serve wss:// (with --tls-key)',
    },
    'tls-key': { type: 'string', placeholder: 'K', description: 'PEM private key of --tls-cert' },
    'handshake-ms': ms(10_000, 'a connection must be authenticated and say hello within this'),
    'idle-ms': ms(60_000, 'a session waits at most this long for each client message'),
    'max-pending': {
      type: 'int',
      default: 512,
      min: 1,
      max: 100_000,
      description: 'connections in their handshake at once (the oldest is cut past it)',
    },
    'max-sessions': {
      type: 'int',
      default: 64,
      min: 1,
      max: 4096,
      description: 'concurrent sessions (lowered to what --memory-budget holds)',
    },
    'memory-budget': {
      type: 'int',
      min: 64,
      placeholder: 'MiB',
      defaultText: 'half of RAM (or of the cgroup limit)',
      description: 'memory the sessions may use',
    },
    'max-per-address': {
      type: 'int',
      default: 8,
      min: 1,
      max: 4096,
      description: 'concurrent sessions from one client address',
    },
    queue: {
      type: 'int',
      default: 16,
      min: 0,
      max: 10_000,
      description: 'sessions that may wait for a slot (then BUSY)',
    },
    'queue-timeout-ms': ms(30_000, 'longest wait in the queue before BUSY'),
    'max-batch': {
      type: 'int',
      default: 16,
      min: 1,
      max: 4096,
      description: 'images a client may preprocess at once (bounds per-session memory)',
    },
    'min-input-bits': {
      type: 'int',
      default: 1,
      min: 0,
      max: 40,
      description: 'refuse clients whose input masks hide fewer bits (POLICY_REFUSED)',
    },
    'share-bits': SHARE_BITS_OPTION,
    // concurrent sessions already share the cores: one session's HE stays inline unless asked
    workers: { ...WORKERS_OPTION, default: 1, defaultText: undefined },
    'trust-proxy': {
      type: 'boolean',
      description: 'count sessions per X-Forwarded-For address (behind your own proxy only)',
    },
    'drain-ms': {
      type: 'int',
      default: 30_000,
      min: 0,
      max: 3_600_000,
      placeholder: 'MS',
      description: 'on SIGTERM, how long running sessions may finish',
    },
    'log-level': {
      type: 'string',
      default: 'info',
      values: ['debug', 'info', 'warn', 'error'],
      description: 'JSON log level (stderr)',
    },
  },
  notes: [
    'prints "listening ws(s)://HOST:PORT" on stdout once ready; JSON logs (pino) on stderr',
    'same port: GET /healthz, GET /metrics (Prometheus); SIGTERM/SIGINT drain, then exit 0',
  ].join('\n'),
  async run({ values: o }, io) {
    reexecWithAllocatorTuning(); // before anything is printed or bound: see core/server/memory.ts
    const model = await loadModel(o.model);
    const warning = missingBoundsWarning(model, o.model);
    if (warning) io.err(warning);
    const log = createLogger({ level: o['log-level'] });
    const token = loadToken(o['token-file']);
    if ((o['tls-cert'] === undefined) !== (o['tls-key'] === undefined))
      throw new PpnnError('ARGUMENT_INVALID', '--tls-cert and --tls-key go together');
    const tls =
      o['tls-cert'] && o['tls-key']
        ? { cert: readPem(o['tls-cert'], 'certificate'), key: readPem(o['tls-key'], 'private key') }
        : undefined;
    const est = estimateSession(model, o['max-batch']);
    // what the budget must also hold: this process and its one warm spare session process
    const budget =
      (o['memory-budget'] ?? Math.floor((0.5 * memoryLimitBytes()) / MiB)) * MiB -
      process.memoryUsage().rss -
      est.processBytes;
    const fromMemory = sessionsForBudget(budget, est);
    const maxSessions = Math.min(o['max-sessions'], fromMemory);
    const server = await startPpnnServer({
      model: o.model,
      host: o.host,
      port: o.port,
      token,
      tls,
      handshakeMs: o['handshake-ms'],
      idleMs: o['idle-ms'],
      maxPending: o['max-pending'],
      maxSessions,
      maxPerAddress: o['max-per-address'],
      maxQueue: o.queue,
      queueTimeoutMs: o['queue-timeout-ms'],
      maxBatch: o['max-batch'],
      // the largest frame a client sends: a full batch's request of one step, or the set-up message
      // (Galois keys), with headroom; never above the transport's default
      maxFrameBytes: Math.min(256 * MiB, 2 * Math.max(est.maxRequestBytes, est.keysBytes) + MiB),
      minInputBits: o['min-input-bits'],
      shareBits: o['share-bits'],
      workers: o.workers,
      trustProxy: o['trust-proxy'],
      log,
    });
    log.info(
      {
        url: server.url,
        model: model.name,
        auth: token ? 'token' : 'none',
        tls: Boolean(tls),
        perSessionMiB: Math.round(est.bytes / MiB),
        keysMiB: Math.round(est.keysBytes / MiB),
        batchMiB: Math.round(est.batchBytes / MiB),
        processMiB: Math.round(est.processBytes / MiB),
        maxBatch: o['max-batch'],
        N: est.polyModulusDegree,
        galoisKeys: est.galoisKeys,
        budgetMiB: Math.round(budget / MiB),
        sessionsFromMemory: fromMemory,
        maxSessions,
      },
      `listening on ${server.url}: ~${Math.round(est.bytes / MiB)} MiB per session, ${maxSessions} sessions at once`,
    );
    io.out(`listening ${server.url}`);
    const signal = await new Promise<string>((resolve) => {
      process.once('SIGINT', () => resolve('SIGINT'));
      process.once('SIGTERM', () => resolve('SIGTERM'));
    });
    log.info({ signal, drainMs: o['drain-ms'] }, 'stopping: no new connections, running sessions may finish');
    await server.close(o['drain-ms']);
    const served = (await server.metrics.total.get()).values[0]?.value ?? 0;
    log.info({ sessions: served }, 'stopped');
    io.err(`stopped after ${served} sessions`);
    return 0;
  },
});
