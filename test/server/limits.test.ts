/**
 * Limits that idle or slow clients cannot exhaust (issue 13): the handshake deadline, the
 * eviction of the oldest pending connection, the per-step idle deadline (slow frames
 * included), per-address limits with BUSY and retry-after, the waiting queue, the hello
 * policies and strict header checks. Real sockets on 127.0.0.1, real sessions.
 */
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { PROTOCOL_ID } from '../../core/protocol/messages.ts';
import { decodeFrame, encodeFrame, type Message } from '../../core/transport/frame.ts';
import { wsConnect } from '../../core/transport/websocket.ts';
import { expectMessage } from '../../core/transport/transport.ts';
import { RawWs, clientSession, sessionError, startServer, stopServers } from './helpers.ts';

afterAll(stopServers);

const helloMsg = (inputBits = 8, extra: Record<string, unknown> = {}) => ({
  tag: 'hello',
  header: { protocol: PROTOCOL_ID, scheme: 'merged', inputBits, ...extra },
  blobs: [],
});

/** Connect, send hello, wait for arch: a session that holds its slot and then says nothing. */
async function stalledSession(url: string) {
  const t = await wsConnect(url);
  t.send(helloMsg());
  await expectMessage(t, 'arch', { timeoutMs: 10_000 });
  return t;
}

describe('handshake deadline and pending connections', () => {
  it('a silent TCP socket, a WebSocket without hello and a 1 byte/s upgrade are all cut at the deadline', async () => {
    const s = await startServer({ handshakeMs: 700 });
    const t0 = performance.now();
    const silent = await RawWs.open(s.port);
    const noHello = await RawWs.open(s.port);
    await noHello.upgrade(s.port);
    const slow = await RawWs.open(s.port);
    const sent = slow.trickle(RawWs.upgradeRequest(s.port), 100);
    await Promise.all([silent.closed, noHello.closed, slow.closed]);
    for (const c of [silent, noHello, slow]) expect(c.closedAt! - t0).toBeLessThan(700 + 1500);
    expect(await sent).toBeLessThan(RawWs.upgradeRequest(s.port).length);
    expect(s.pending()).toBe(0);
  });

  it('past maxPending the oldest pending connection is evicted, and a real client still gets through', async () => {
    const s = await startServer({ maxPending: 5 });
    const idle = [];
    for (let i = 0; i < 8; i++) {
      idle.push(await RawWs.open(s.port));
      await new Promise((r) => setTimeout(r, 20));
    }
    await Promise.all(idle.slice(0, 3).map((c) => c.closed));
    expect(s.pending()).toBe(5);
    expect(idle.slice(3).every((c) => c.closedAt === undefined)).toBe(true);
    expect(await clientSession(s.url)).toHaveLength(1);
    for (const c of idle) c.socket.destroy();
  });

  it('100 idle connections do not lock out a real client started after them', async () => {
    const s = await startServer({ handshakeMs: 30_000 });
    const idle = await Promise.all(Array.from({ length: 100 }, () => RawWs.open(s.port)));
    await Promise.all(idle.slice(0, 50).map((c) => c.upgrade(s.port)));
    expect(await clientSession(s.url)).toHaveLength(1);
    expect(idle.filter((c) => c.closedAt === undefined).length).toBeGreaterThan(90);
    for (const c of idle) c.socket.destroy();
  });
});

describe('per-step idle deadline', () => {
  it('a session that stops talking after arch gets TIMEOUT at the idle deadline', async () => {
    const s = await startServer({ idleMs: 800 });
    const t = await stalledSession(s.url);
    const t0 = performance.now(); // from arch: the session now waits for the client
    await expect(t.receive({ timeoutMs: 5000 })).resolves.toMatchObject({ tag: 'error', header: { code: 'TIMEOUT' } });
    expect(performance.now() - t0).toBeLessThan(800 + 2000);
    t.close();
  });

  it('a frame sent at 10 bytes/s is cut by the idle deadline', async () => {
    const s = await startServer({ idleMs: 800 });
    const c = await RawWs.open(s.port);
    await c.upgrade(s.port);
    c.socket.write(RawWs.frame(encodeFrame(helloMsg())));
    // the architecture arrived
    await expect.poll(() => c.received.toString('latin1').includes('architecture'), { timeout: 30_000 }).toBe(true);
    const t0 = performance.now();
    const setup = RawWs.frame(encodeFrame({ tag: 'setup', header: null, blobs: [new Uint8Array(2000)] }));
    const sent = await c.trickle(setup, 100);
    await c.closed;
    expect(sent).toBeLessThan(setup.length);
    expect(c.closedAt! - t0).toBeLessThan(800 + 3500);
    expect(c.received.toString('latin1')).toContain('TIMEOUT');
  });
});

describe('session slots', () => {
  it('past the per-address limit: BUSY with retryAfterMs, closed with 1013', async () => {
    const s = await startServer({ maxPerAddress: 1, maxQueue: 0 });
    const held = await stalledSession(s.url);
    const ws = new WebSocket(s.url);
    const frames: { tag: string; header: unknown }[] = [];
    ws.on('message', (d: Buffer) => frames.push(decodeFrame(new Uint8Array(d))));
    const code = new Promise<number>((r) => ws.once('close', r));
    ws.once('open', () => ws.send(encodeFrame(helloMsg())));
    expect(await code).toBe(1013);
    const err = frames.find((f) => f.tag === 'error')!.header as { code: string; details: { retryAfterMs: number } };
    expect(err.code).toBe('BUSY');
    expect(err.details.retryAfterMs).toBeGreaterThanOrEqual(1000);
    held.close();
  });

  it('a full server queues the next session and runs it when a slot frees', async () => {
    const s = await startServer({ maxSessions: 1, maxQueue: 1 });
    const held = await stalledSession(s.url);
    const queued = clientSession(s.url);
    await expect.poll(() => s.admission.queued, { timeout: 5000 }).toBe(1);
    expect(await sessionError(s.url)).toMatchObject({ code: 'BUSY' }); // queue full
    held.close();
    expect(await queued).toHaveLength(1);
  });
});

describe('hello policy and strict headers', () => {
  it('inputBits below --min-input-bits is POLICY_REFUSED; inputBits 0 is refused by default', async () => {
    const strict = await startServer({ minInputBits: 4 });
    expect(await sessionError(strict.url, {}, 3)).toMatchObject({ code: 'POLICY_REFUSED' });
    expect(await clientSession(strict.url, {}, 1, 4)).toHaveLength(1);
    const dflt = await startServer();
    expect(await sessionError(dflt.url, {}, 0)).toMatchObject({ code: 'POLICY_REFUSED' });
  });

  it("headers that parse but are not the protocol's shape get PROTOCOL_VIOLATION within 2 s", async () => {
    const s = await startServer();
    // [frames before the bad one (answered by arch), the bad frame]
    const cases: [Message[], Message][] = [
      [[], helloMsg(8, { junk: 1 })],
      [[], { ...helloMsg(), header: { protocol: PROTOCOL_ID, scheme: 'merged', inputBits: 8.5 } }],
      [[helloMsg()], { tag: 'setup', header: { x: 1 }, blobs: [new Uint8Array(10)] }],
      [[helloMsg()], { tag: 'batch', header: { count: 1, more: true }, blobs: [] }],
      [[helloMsg()], { tag: 'bye', header: {}, blobs: [] }],
    ];
    for (const [before, bad] of cases) {
      const t = await wsConnect(s.url);
      for (const f of before) t.send(f);
      if (before.length) await expectMessage(t, 'arch', { timeoutMs: 30_000 });
      const t0 = performance.now();
      t.send(bad);
      const err = await (async () => {
        for (;;) {
          const m = await t.receive({ timeoutMs: 2000 });
          if (m.tag === 'error') return m.header as { code: string };
        }
      })();
      expect(err.code).toBe('PROTOCOL_VIOLATION');
      expect(performance.now() - t0).toBeLessThan(2000);
      t.close();
    }
  });
});
