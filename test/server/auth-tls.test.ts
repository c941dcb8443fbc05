/**
 * Token authentication and TLS of the server, on real sockets with real sessions (node-seal):
 * a client without the token, or with a wrong one, gets AUTH_FAILED; one with the token
 * runs a session over wss:// verified by its CA or its pinned fingerprint; the token never
 * appears in the logs.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { forward } from '../../core/model/forward.ts';
import { loadToken } from '../../core/server/auth.ts';
import {
  AUTH_CHALLENGE_TAG,
  AUTH_RESPONSE_TAG,
  authProof,
  fromHex,
  toHex,
  verifyAuthProof,
} from '../../core/transport/auth.ts';
import { decodeFrame, encodeFrame } from '../../core/transport/frame.ts';
import { randomInput, relErr } from '../helpers/random-model.ts';
import { LogCapture, clientSession, makeCerts, model, sessionError, startServer, stopServers } from './helpers.ts';

afterAll(stopServers);

const token = toHex(new Uint8Array(randomBytes(32)));

describe('challenge–response', () => {
  it('a proof verifies for its nonce only: a recorded answer replayed to a fresh nonce fails', () => {
    const key = new TextEncoder().encode(token);
    const n1 = new Uint8Array(randomBytes(32)),
      n2 = new Uint8Array(randomBytes(32));
    const recorded = authProof(key, n1);
    // the weak variant — a server that reused its nonce — accepts the replay: fresh nonces are what stop it
    expect(verifyAuthProof(key, n1, recorded)).toBe(true);
    expect(verifyAuthProof(key, n2, recorded)).toBe(false);
    expect(verifyAuthProof(new TextEncoder().encode(token + 'x'), n1, recorded)).toBe(false);
    expect(verifyAuthProof(key, n1, recorded.subarray(0, 31))).toBe(false);
    expect(verifyAuthProof(key, n1, new Uint8Array(64))).toBe(false);
  });

  it('loadToken: file, environment, and refusal of short tokens and missing files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ppnn-tok-'));
    writeFileSync(join(dir, 't'), `${token}\n`);
    writeFileSync(join(dir, 'short'), 'abc');
    expect(new TextDecoder().decode(loadToken(join(dir, 't'), {}))).toBe(token);
    expect(new TextDecoder().decode(loadToken(undefined, { PPNN_TOKEN: token }))).toBe(token);
    expect(loadToken(undefined, {})).toBeUndefined();
    expect(() => loadToken(join(dir, 'short'), {})).toThrow(expect.objectContaining({ code: 'ARGUMENT_INVALID' }));
    expect(() => loadToken(join(dir, 'missing'), {})).toThrow(expect.objectContaining({ code: 'FILE_NOT_FOUND' }));
  });
});

describe('server with a token over TLS', () => {
  const certs = makeCerts();
  const logs = new LogCapture();
  let url = '';

  it('starts on wss://', async () => {
    const s = await startServer({
      token: new TextEncoder().encode(token),
      tls: { cert: certs.cert, key: certs.key },
      logs,
    });
    url = s.url;
    expect(url).toMatch(/^wss:\/\/127\.0\.0\.1:\d+$/);
  });

  it('no token → AUTH_FAILED', async () => {
    expect(await sessionError(url, { ca: certs.cert })).toMatchObject({ code: 'AUTH_FAILED' });
  });

  it('wrong token → AUTH_FAILED', async () => {
    expect(
      await sessionError(url, { ca: certs.cert, token: token.replace(/.$/, (c) => (c === '0' ? '1' : '0')) }),
    ).toMatchObject({ code: 'AUTH_FAILED', message: 'wrong token' });
  });

  it('a raw client that answers with a replayed MAC, or nothing, is told AUTH_FAILED and closed', async () => {
    const ws = new WebSocket(url, { ca: certs.cert });
    const frames: { tag: string; header: unknown }[] = [];
    const closed = new Promise<number>((r) => ws.once('close', r));
    ws.on('message', (d: Buffer) => frames.push(decodeFrame(new Uint8Array(d))));
    await new Promise((r) => ws.once('open', r));
    await expect.poll(() => frames.length).toBe(1);
    expect(frames[0]!.tag).toBe(AUTH_CHALLENGE_TAG);
    // a MAC for some other nonce (e.g. recorded from an earlier session)
    const other = authProof(new TextEncoder().encode(token), new Uint8Array(32));
    ws.send(encodeFrame({ tag: AUTH_RESPONSE_TAG, header: { mac: toHex(other) }, blobs: [] }));
    expect(await closed).toBe(4000);
    expect(frames[1]).toMatchObject({ tag: 'error', header: { code: 'AUTH_FAILED' } });
    expect(fromHex((frames[0]!.header as { nonce: string }).nonce)).toHaveLength(32);
  });

  it('with the token and the CA: a session over wss:// reconstructs the plaintext logits', async () => {
    const logits = await clientSession(url, { ca: certs.cert, token }, 2);
    logits.forEach((y, i) => expect(relErr(y, forward(model, randomInput(model, 100 + i)))).toBeLessThan(5e-4));
  });

  it('token + pinned fingerprint (no CA): works; a wrong pin is AUTH_FAILED before any byte of ours', async () => {
    expect(await clientSession(url, { pin: certs.pin, token })).toHaveLength(1);
    const wrong = `sha256:${'ab'.repeat(32)}`;
    await expect(clientSession(url, { pin: wrong, token })).rejects.toMatchObject({ code: 'AUTH_FAILED' });
  });

  it('an untrusted certificate (no CA, no pin) is AUTH_FAILED', async () => {
    await expect(clientSession(url, { token })).rejects.toMatchObject({
      code: 'AUTH_FAILED',
      message: expect.stringContaining('not trusted'),
    });
  });

  it('the token never appears in the logs (which do carry session ids and peers)', () => {
    expect(logs.text.length).toBeGreaterThan(0);
    expect(logs.text).not.toContain(token);
    const lines = logs.lines();
    expect(
      lines.some(
        (l) => l.code === 'AUTH_FAILED' && typeof l.session === 'string' && /^127\.0\.0\.1:\d+$/.test(String(l.peer)),
      ),
    ).toBe(true);
    expect(lines.some((l) => l.msg === 'session done')).toBe(true);
  });
});

describe('server without a token', () => {
  it('serves token-less clients, and clients that hold a token anyway', async () => {
    const s = await startServer();
    expect(await clientSession(s.url)).toHaveLength(1);
    expect(await clientSession(s.url, { token })).toHaveLength(1);
  });
});
