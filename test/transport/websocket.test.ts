import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import WebSocket from 'ws';
import { PpnnError } from '../../core/errors.ts';
import { decodeFrame, encodeFrame, type Message } from '../../core/transport/frame.ts';
import { expectMessage, type Transport } from '../../core/transport/transport.ts';
import {
  wsConnect,
  wsListen,
  type SessionInfo,
  type WsListenOptions,
  type WsServerHandle,
} from '../../core/transport/websocket.ts';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  // Every socket and listener must be gone: a leaked handle would keep a real process alive.
  await new Promise((r) => setTimeout(r, 20));
  const tcp = process.getActiveResourcesInfo().filter((r) => r.startsWith('TCP'));
  expect(tcp).toEqual([]);
});

const msg = (tag: string, header: unknown = null, blobs: Uint8Array[] = []): Message => ({ tag, header, blobs });
const closedPromise = (t: Transport): Promise<string | undefined> => new Promise((resolve) => t.onClose(resolve));

/** Start a server on 127.0.0.1:0 and register its shutdown. */
async function listen(
  opts: WsListenOptions,
  onSession: (t: Transport, info: SessionInfo) => void | Promise<void>,
): Promise<WsServerHandle> {
  const server = await wsListen({ port: 0, ...opts }, onSession);
  cleanups.push(() => server.close());
  return server;
}

async function connect(url: string, opts = {}): Promise<Transport> {
  const t = await wsConnect(url, opts);
  cleanups.push(async () => {
    const gone = closedPromise(t);
    t.close();
    await gone;
  });
  return t;
}

/** Echo server: answers every 'ping' with a 'pong' carrying the same header and blobs. */
const echo = async (t: Transport): Promise<void> => {
  for (;;) {
    const ping = await expectMessage(t, 'ping').catch(() => undefined);
    if (!ping) return;
    t.send({ ...ping, tag: 'pong' });
  }
};

/** A raw ws client: sends `payload` and returns the first reply frame and the close code. */
async function rawExchange(
  url: string,
  payload: Uint8Array | string,
): Promise<{ reply: Message | undefined; code: number }> {
  const socket = new WebSocket(url);
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  let reply: Message | undefined;
  socket.on('message', (data: Buffer) => (reply ??= decodeFrame(data)));
  const code = await new Promise<number>((resolve) => {
    socket.once('close', resolve);
    socket.send(payload);
  });
  return { reply, code };
}

async function expectEchoWorks(url: string): Promise<void> {
  const t = await connect(url);
  t.send(msg('ping', { n: 2 }, [new Uint8Array([5, 6])]));
  const pong = await expectMessage(t, 'pong', { timeoutMs: 2000 });
  expect(pong.header).toEqual({ n: 2 });
  expect(Array.from(pong.blobs[0]!)).toEqual([5, 6]);
}

describe('WebSocket transport', () => {
  it('binds 127.0.0.1 by default and round-trips blobs with equal counts on both ends', async () => {
    let serverSide: Transport | undefined;
    const server = await listen({}, (t, info) => {
      expect(info.remote).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(info.id).toMatch(/^[0-9a-f-]{36}$/);
      serverSide = t;
      return echo(t);
    });
    expect(server.url).toBe(`ws://127.0.0.1:${server.port}`);
    expect(server.port).toBeGreaterThan(0);
    const client = await connect(server.url);
    const blobs = [new Uint8Array(300_000).map((_, i) => i & 255), new Uint8Array(0)];
    for (let i = 0; i < 3; i++) {
      client.send(msg('ping', { i }, blobs));
      const pong = await expectMessage(client, 'pong', { timeoutMs: 2000 });
      expect(pong.header).toEqual({ i });
      // Buffer#equals, not toEqual: a deep compare of 300k elements takes seconds
      expect(Buffer.from(pong.blobs[0]!).equals(blobs[0]!)).toBe(true);
      expect(pong.blobs[1]!.length).toBe(0);
    }
    expect(server.sessions()).toBe(1);
    const frameBytes = [0, 1, 2].reduce((sum, i) => sum + encodeFrame(msg('ping', { i }, blobs)).byteLength, 0);
    expect(client.stats.bytesSent).toBe(frameBytes);
    expect(serverSide!.stats).toEqual({
      bytesSent: client.stats.bytesReceived,
      bytesReceived: client.stats.bytesSent,
      messagesSent: 3,
      messagesReceived: 3,
    });
  });

  it('garbage, truncated and text frames get FRAME_INVALID on that connection only', async () => {
    const server = await listen({}, echo);
    const bystander = await connect(server.url);
    const good = encodeFrame(msg('ping', { a: 1 }, [new Uint8Array(8)]));
    for (const bad of [new Uint8Array([1, 2, 3, 4, 5, 6]), good.subarray(0, good.length - 1), 'text is not a frame']) {
      const { reply, code } = await rawExchange(server.url, bad);
      expect(reply?.tag).toBe('error');
      expect(reply?.header).toMatchObject({ code: 'FRAME_INVALID' });
      expect(code).toBe(4000);
    }
    // the session that behaved is untouched, and new clients are still served
    bystander.send(msg('ping', 'still here'));
    expect((await expectMessage(bystander, 'pong', { timeoutMs: 2000 })).header).toBe('still here');
    await expectEchoWorks(server.url);
  });

  it('an oversized frame is cut by maxPayload: both ends see FRAME_INVALID, the server keeps serving', async () => {
    let serverReceive: Promise<unknown> | undefined;
    const server = await listen({ maxFrameBytes: 4096 }, (t) => {
      if (!serverReceive) serverReceive = t.receive().catch((e: unknown) => e);
      else return echo(t);
    });
    const client = await connect(server.url, { maxFrameBytes: 1 << 20 });
    const waiting = client.receive({ timeoutMs: 2000 });
    client.send(msg('ping', null, [new Uint8Array(100_000)]));
    await expect(waiting).rejects.toMatchObject({ code: 'FRAME_INVALID' });
    expect(await serverReceive).toMatchObject({ code: 'FRAME_INVALID' });
    await expectEchoWorks(server.url);
  });

  it('a wrong tag is a PROTOCOL_VIOLATION, reported back to the client', async () => {
    const server = await listen({}, async (t) => {
      await expectMessage(t, 'hello');
    });
    const client = await connect(server.url);
    client.send(msg('online/relu'));
    await expect(expectMessage(client, 'welcome', { timeoutMs: 2000 })).rejects.toMatchObject({
      code: 'PROTOCOL_VIOLATION',
      message: "expected 'hello', got 'online/relu'",
    });
  });

  it('an error thrown by onSession reaches that client; the server keeps listening', async () => {
    let calls = 0;
    const server = await listen({}, (t) => {
      calls += 1;
      if (calls === 1) throw new PpnnError('MODEL_INVALID', 'weights contain NaN');
      return echo(t);
    });
    const first = await connect(server.url);
    const err = await expectMessage(first, 'welcome', { timeoutMs: 2000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PpnnError);
    expect(err).toMatchObject({ code: 'MODEL_INVALID', message: 'weights contain NaN' });
    await expect(first.receive({ timeoutMs: 2000 })).rejects.toMatchObject({ code: 'PEER_DISCONNECTED' });
    await expectEchoWorks(server.url);
  });

  it('sessions beyond maxSessions get SESSION_LIMIT; a slot frees when a session ends', async () => {
    const server = await listen({ maxSessions: 1 }, echo);
    const holder = await connect(server.url);
    await expectEchoWorksOn(holder);
    const refused = await connect(server.url);
    await expect(expectMessage(refused, 'pong', { timeoutMs: 2000 })).rejects.toMatchObject({ code: 'SESSION_LIMIT' });
    expect(server.sessions()).toBe(1);
    const gone = closedPromise(holder);
    holder.close();
    await gone;
    await waitFor(() => server.sessions() === 0);
    await expectEchoWorks(server.url);
  });

  it('peer disconnect mid-receive rejects with PEER_DISCONNECTED on both sides', async () => {
    let serverWait: Promise<unknown> | undefined;
    const server = await listen({}, (t) => {
      serverWait = t.receive().catch((e: unknown) => e);
    });
    const client = await connect(server.url);
    await waitFor(() => serverWait !== undefined);
    client.close('client gave up');
    expect(await serverWait).toMatchObject({
      code: 'PEER_DISCONNECTED',
      message: expect.stringContaining('client gave up'),
    });

    const other = await connect(server.url);
    const waiting = other.receive({ timeoutMs: 5000 }).catch((e: unknown) => e);
    await server.close(); // closes every session
    expect(server.sessions()).toBe(0);
    expect(await waiting).toMatchObject({
      code: 'PEER_DISCONNECTED',
      message: expect.stringContaining('server shutting down'),
    });
  });

  it('receive times out with TIMEOUT', async () => {
    const server = await listen({}, () => undefined);
    const client = await connect(server.url);
    await expect(client.receive({ timeoutMs: 50 })).rejects.toMatchObject({ code: 'TIMEOUT' });
    expect(client.closed).toBe(false);
  });

  it('a handshake that never completes rejects wsConnect with TIMEOUT', async () => {
    // A plain TCP server that accepts and then says nothing, like a wedged peer.
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          for (const socket of sockets) socket.destroy();
          silent.close(() => resolve());
        }),
    );
    const { port } = silent.address() as AddressInfo;
    await expect(wsConnect(`ws://127.0.0.1:${port}`, { timeoutMs: 100 })).rejects.toMatchObject({ code: 'TIMEOUT' });
  });

  it('connecting to a port nobody listens on rejects with PEER_DISCONNECTED; bad arguments are refused', async () => {
    const probe = await wsListen({ port: 0 }, () => undefined);
    const deadUrl = probe.url;
    await probe.close();
    await expect(wsConnect(deadUrl)).rejects.toMatchObject({ code: 'PEER_DISCONNECTED' });
    await expect(wsConnect(deadUrl, { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(() => wsConnect('http://127.0.0.1:1')).toThrow(TypeError);
    expect(() => wsListen({ port: 70000 }, () => undefined)).toThrow(RangeError);
    expect(() => wsListen({ maxSessions: 0 }, () => undefined)).toThrow(RangeError);
  });
});

async function expectEchoWorksOn(t: Transport): Promise<void> {
  t.send(msg('ping', 1));
  expect((await expectMessage(t, 'pong', { timeoutMs: 2000 })).header).toBe(1);
}

async function waitFor(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
