/**
 * Shared set-up of the server tests: a small model file, test certificates, an in-process server with captured logs.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { modelToJSON } from '../../core/model/json.ts';
import type { Model } from '../../core/model/types.ts';
import { cryptoMasks } from '../../core/protocol/random.ts';
import { runClientSession } from '../../core/schemes/index.ts';
import { createLogger } from '../../core/server/log.ts';
import { startPpnnServer, type PpnnServer, type PpnnServerOptions } from '../../core/server/server.ts';
import { wsConnect, type WsConnectOptions } from '../../core/transport/websocket.ts';
import { randomInput } from '../helpers/random-model.ts';
import { smallSquareNet } from '../helpers/small-net.ts';

export const model: Model = smallSquareNet(31);

/** A temp dir holding the small model as a file (what `ppnn serve --model` takes). */
export function modelFile(dir = mkdtempSync(join(tmpdir(), 'ppnn-srv-'))): string {
  const file = join(dir, 'small.json');
  writeFileSync(file, JSON.stringify(modelToJSON(model)));
  return file;
}

export interface TestCerts {
  dir: string;
  cert: string;
  key: string;
  certFile: string;
  keyFile: string;
  /** 'sha256:hex' of the certificate */
  pin: string;
}

/**
 * A self-signed P-256 certificate for 127.0.0.1 / localhost, made with openssl in a temp
 * dir at test time (no private key is committed).
 */
export function makeCerts(): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), 'ppnn-tls-'));
  const certFile = join(dir, 'cert.pem'),
    keyFile = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '2',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ],
    { stdio: 'ignore' },
  );
  const fp = execFileSync('openssl', ['x509', '-in', certFile, '-noout', '-fingerprint', '-sha256'], {
    encoding: 'utf8',
  })
    .split('=')[1]!
    .trim();
  return {
    dir,
    certFile,
    keyFile,
    cert: readFileSync(certFile, 'utf8'),
    key: readFileSync(keyFile, 'utf8'),
    pin: `sha256:${fp.replace(/:/g, '').toLowerCase()}`,
  };
}

/** Log lines written by a server, as text (what an operator's log collector would see). */
export class LogCapture extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
  lines(): Record<string, unknown>[] {
    return this.text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}

/** Defaults of `ppnn serve`, small where a test wants to see a limit act. */
export function serverOptions(over: Partial<PpnnServerOptions> & { logs?: LogCapture } = {}): PpnnServerOptions {
  const { logs, ...rest } = over;
  return {
    model: modelFile(),
    host: '127.0.0.1',
    port: 0,
    maxSessions: 8,
    maxPerAddress: 8,
    maxQueue: 4,
    queueTimeoutMs: 10_000,
    handshakeMs: 10_000,
    idleMs: 60_000,
    maxPending: 512,
    maxBatch: 16,
    maxFrameBytes: 64 * 1024 * 1024,
    minInputBits: 1,
    trustProxy: false,
    log: createLogger({ level: 'debug', destination: logs ?? new LogCapture() }),
    ...rest,
  };
}

const servers: PpnnServer[] = [];

/** Start an in-process server (stopped by stopServers). */
export async function startServer(over: Partial<PpnnServerOptions> & { logs?: LogCapture } = {}): Promise<PpnnServer> {
  const s = await startPpnnServer(serverOptions(over));
  servers.push(s);
  return s;
}

export async function stopServers(): Promise<void> {
  await Promise.all(servers.splice(0).map((s) => s.close(2000)));
}

/** A full client session of `images` random inputs; resolves with the logits. */
export async function clientSession(
  url: string,
  opts: WsConnectOptions = {},
  images = 1,
  inputBits?: number,
): Promise<Float64Array[]> {
  const t = await wsConnect(url, opts);
  try {
    const inputs = Array.from({ length: images }, (_, i) => randomInput(model, 100 + i));
    const r = await runClientSession(t, inputs, {
      scheme: 'merged',
      random: cryptoMasks,
      ...(inputBits !== undefined ? { inputBits } : {}),
    });
    return r.logits;
  } finally {
    t.close();
  }
}

/** The coded error a client session ends with (undefined if it succeeds). */
export async function sessionError(
  url: string,
  opts: WsConnectOptions = {},
  inputBits?: number,
): Promise<{ code: string; message: string } | undefined> {
  return clientSession(url, opts, 1, inputBits).then(
    () => undefined,
    (e: { code: string; message: string }) => e,
  );
}

/** A hand-made WebSocket client on a raw TCP socket, to send frames as slowly as an attacker would. */
export class RawWs {
  readonly socket: import('node:net').Socket;
  received = Buffer.alloc(0);
  closedAt: number | undefined;
  readonly closed: Promise<void>;
  private constructor(socket: import('node:net').Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => (this.received = Buffer.concat([this.received, d])));
    this.closed = new Promise((r) =>
      socket.once('close', () => {
        this.closedAt = performance.now();
        r();
      }),
    );
    socket.on('error', () => {});
  }

  /** Open a TCP connection to `port` (nothing sent yet). */
  static async open(port: number): Promise<RawWs> {
    const { connect } = await import('node:net');
    const s = connect(port, '127.0.0.1');
    await new Promise((r, j) => s.once('connect', r).once('error', j));
    return new RawWs(s);
  }

  /** The upgrade request bytes. */
  static upgradeRequest(port: number): Buffer {
    return Buffer.from(
      `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomKey()}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
  }

  /** Upgrade at full speed and wait for the 101. */
  async upgrade(port: number): Promise<void> {
    this.socket.write(RawWs.upgradeRequest(port));
    for (let i = 0; i < 200 && !this.received.includes('\r\n\r\n'); i++) await new Promise((r) => setTimeout(r, 10));
    if (!this.received.toString('latin1').startsWith('HTTP/1.1 101'))
      throw new Error(`no upgrade: ${this.received.toString('latin1').slice(0, 80)}`);
  }

  /** One masked binary frame holding `payload` (as a client must send it). */
  static frame(payload: Uint8Array): Buffer {
    const len = payload.length;
    const head =
      len < 126
        ? Buffer.from([0x82, 0x80 | len])
        : len < 65536
          ? Buffer.from([0x82, 0x80 | 126, len >> 8, len & 255])
          : (() => {
              const b = Buffer.alloc(10);
              b[0] = 0x82;
              b[1] = 0x80 | 127;
              b.writeBigUInt64BE(BigInt(len), 2);
              return b;
            })();
    const mask = Buffer.from([1, 2, 3, 4]);
    const body = Buffer.from(payload).map((v, i) => v ^ mask[i & 3]!);
    return Buffer.concat([head, mask, body]);
  }

  /** Write `bytes` one at a time, `gapMs` apart, until done or the socket closes. */
  async trickle(bytes: Buffer, gapMs: number): Promise<number> {
    let sent = 0;
    for (const b of bytes) {
      if (this.closedAt !== undefined || this.socket.destroyed) break;
      this.socket.write(Buffer.from([b]));
      sent++;
      await new Promise((r) => setTimeout(r, gapMs));
    }
    return sent;
  }
}

function randomKey(): string {
  return Buffer.from(Array.from({ length: 16 }, () => Math.floor(Math.random() * 256))).toString('base64');
}

/** One finished `ppnn` CLI run. */
export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run `ppnn ARGS` as a child process (PPNN_TOKEN cleared, so only the flags give a token) and collect its output. */
export function ppnn(args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['bin/ppnn.js', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PPNN_TOKEN: '' },
    });
    let stdout = '',
      stderr = '';
    p.stdout.on('data', (d) => (stdout += String(d)));
    p.stderr.on('data', (d) => (stderr += String(d)));
    p.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
