/**
 * Faults against a real `ppnn serve` process on 127.0.0.1: each bad session gets a coded
 * error and only that session ends; the server keeps serving (a good session afterwards
 * still reconstructs the right logits).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { forward } from '../../core/model/forward.ts';
import { modelToJSON } from '../../core/model/json.ts';
import { runClientSession } from '../../core/schemes/index.ts';
import { ckksClientProviders } from '../../core/protocol/ckks-provider.ts';
import { PROTOCOL_ID } from '../../core/protocol/messages.ts';
import { cryptoMasks } from '../../core/protocol/random.ts';
import { encodeFrame, decodeFrame } from '../../core/transport/frame.ts';
import { wsConnect } from '../../core/transport/websocket.ts';
import { expectMessage } from '../../core/transport/transport.ts';
import { randomInput, relErr } from '../helpers/random-model.ts';
import { smallSquareNet } from '../helpers/small-net.ts';

const model = smallSquareNet(21);
let proc: ChildProcess;
let url = '';
let stderr = '';

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ppnn-serve-'));
  const file = join(dir, 'small.json');
  writeFileSync(file, JSON.stringify(modelToJSON(model)));
  proc = spawn(process.execPath, ['bin/ppnn.js', 'serve', '--model', file, '--port', '0', '--max-sessions', '4'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stderr!.on('data', (d) => {
    stderr += String(d);
  });
  url = await new Promise<string>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d) => {
      out += String(d);
      const m = /listening (ws:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    proc.on('exit', (c) => reject(new Error(`ppnn serve exited ${c}: ${stderr}`)));
  });
});

afterAll(() => {
  proc?.kill('SIGTERM');
});

/** Open a raw socket, send `frames`, return the first error message the server sends back. */
async function rawSession(frames: (Uint8Array | string)[]): Promise<{ code: string; message: string }> {
  const ws = new WebSocket(url);
  await new Promise((r, j) => {
    ws.once('open', r);
    ws.once('error', j);
  });
  return new Promise((resolve, reject) => {
    ws.on('message', (data: Buffer) => {
      try {
        const msg = decodeFrame(new Uint8Array(data));
        if (msg.tag === 'error') {
          resolve(msg.header as { code: string; message: string });
          ws.close();
        }
      } catch (e) {
        reject(e);
      }
    });
    // ws cuts a frame over the server's maxPayload at the socket layer: close code 1009
    ws.once('close', (code: number) =>
      resolve({ code: code === 1009 ? 'FRAME_INVALID' : `CLOSED_${code}`, message: 'closed without error message' }),
    );
    for (const f of frames) ws.send(f);
  });
}

async function goodSession(): Promise<void> {
  const inputs = [randomInput(model, 1), randomInput(model, 2)];
  const t = await wsConnect(url);
  const res = await runClientSession(t, inputs, {
    scheme: 'merged',
    providers: ckksClientProviders(),
    random: cryptoMasks,
  });
  t.close();
  res.logits.forEach((y, i) => expect(relErr(y, forward(model, inputs[i]!))).toBeLessThan(5e-4));
}

const hello = encodeFrame({
  tag: 'hello',
  header: { protocol: PROTOCOL_ID, scheme: 'merged', inputBits: 8 },
  blobs: [],
});

describe('ppnn serve under bad input', () => {
  it('serves a good session', goodSession);

  it('truncated frame → FRAME_INVALID', async () => {
    expect((await rawSession([hello.subarray(0, hello.length - 3)])).code).toBe('FRAME_INVALID');
  });

  it('garbage bytes → FRAME_INVALID', async () => {
    expect((await rawSession([new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9])])).code).toBe('FRAME_INVALID');
  });

  it('oversized frame → FRAME_INVALID', async () => {
    const big = encodeFrame(
      { tag: 'hello', header: null, blobs: [new Uint8Array(300 * 1024 * 1024)] },
      { maxFrameBytes: 400 * 1024 * 1024 },
    );
    expect((await rawSession([big])).code).toBe('FRAME_INVALID');
  });

  it('unknown tag → PROTOCOL_VIOLATION', async () => {
    expect((await rawSession([encodeFrame({ tag: 'gimme-weights', header: null, blobs: [] })])).code).toBe(
      'PROTOCOL_VIOLATION',
    );
  });

  it('step out of order (online input before hello) → PROTOCOL_VIOLATION', async () => {
    expect(
      (await rawSession([encodeFrame({ tag: 'on.input', header: { step: 0 }, blobs: [new Uint8Array(800)] })])).code,
    ).toBe('PROTOCOL_VIOLATION');
  });

  it('keys for other CKKS parameters → PARAMS_MISMATCH / CIPHERTEXT_INVALID', async () => {
    const t = await wsConnect(url);
    t.send({ tag: 'hello', header: { protocol: PROTOCOL_ID, scheme: 'merged', inputBits: 8 }, blobs: [] });
    await expectMessage(t, 'arch');
    t.send({ tag: 'setup', header: null, blobs: [Uint8Array.from({ length: 5000 }, (_, i) => (i * 7919) & 255)] });
    const err = await expectMessage(t, 'pre.shares').then(
      () => null,
      (e: { code: string }) => e,
    );
    expect(['PARAMS_MISMATCH', 'CIPHERTEXT_INVALID']).toContain(err?.code);
    t.close();
  });

  it('a client that disconnects mid-session does not disturb the server', async () => {
    const t = await wsConnect(url);
    t.send({ tag: 'hello', header: { protocol: PROTOCOL_ID, scheme: 'merged', inputBits: 8 }, blobs: [] });
    await expectMessage(t, 'arch');
    t.close();
    await goodSession();
  });

  it('inputs of the wrong shape are refused with SHAPE_MISMATCH before any byte of them leaves', async () => {
    const t = await wsConnect(url);
    const err = await runClientSession(t, [new Float64Array(7)], {
      scheme: 'merged',
      providers: ckksClientProviders(),
      random: cryptoMasks,
    }).then(
      () => null,
      (e: { code: string }) => e,
    );
    expect(err?.code).toBe('SHAPE_MISMATCH');
    t.close();
  });

  it('still serves good sessions after all of the above, concurrently', async () => {
    await Promise.all([goodSession(), goodSession()]);
    expect(proc.exitCode).toBeNull();
  });
});
