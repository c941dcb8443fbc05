import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { bytesToF64, decodeFrame, encodeFrame, f64ToBytes } from '../../core/transport/frame.ts';
import { messagePortTransport } from '../../core/transport/message-port.ts';
import { expectMessage } from '../../core/transport/transport.ts';
import type { Transport } from '../../core/transport/transport.ts';

// A worker that echoes every frame straight back (transferring it again), so frames
// really cross a thread boundary twice. Plain JS: the worker needs no TS support.
const ECHO_WORKER = `
const { workerData } = require('node:worker_threads');
workerData.port.on('message', (data) => {
  if (data instanceof ArrayBuffer) workerData.port.postMessage(data, [data]);
});`;

const cleanups: Array<() => unknown> = [];
const countPorts = (): number => process.getActiveResourcesInfo().filter((r) => r === 'MessagePort').length;
let portsBefore = 0;
beforeEach(() => {
  portsBefore = countPorts();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  // a port left open keeps a worker or the process alive: every test must release its own
  await new Promise((r) => setTimeout(r, 10));
  expect(countPorts()).toBe(portsBefore);
});

function channel(): [Transport, Transport] {
  const { port1, port2 } = new MessageChannel();
  const a = messagePortTransport(port1);
  const b = messagePortTransport(port2);
  cleanups.push(
    () => a.close(),
    () => b.close(),
  );
  return [a, b];
}

function rawChannel(): [Transport, MessagePort] {
  const { port1, port2 } = new MessageChannel();
  const t = messagePortTransport(port1);
  cleanups.push(
    () => t.close(),
    () => port2.close(),
  );
  return [t, port2];
}

describe('messagePortTransport', () => {
  it('round-trips float64 blobs through a MessageChannel with equal counts on both ends', async () => {
    const [a, b] = channel();
    const values = new Float64Array(4096).map((_, i) => Math.sin(i));
    a.send({ tag: 'online/share', header: { layer: 1 }, blobs: [f64ToBytes(values), new Uint8Array([9])] });
    const got = await expectMessage(b, 'online/share');
    expect(bytesToF64(got.blobs[0]!, 4096)).toEqual(values);
    expect(Array.from(got.blobs[1]!)).toEqual([9]);
    b.send({ tag: 'ack', header: null, blobs: [] });
    await expectMessage(a, 'ack');
    expect(a.stats.bytesSent).toBe(b.stats.bytesReceived);
    expect(b.stats.bytesSent).toBe(a.stats.bytesReceived);
    expect(a.stats.bytesSent).toBe(
      encodeFrame({ tag: 'online/share', header: { layer: 1 }, blobs: [f64ToBytes(values), new Uint8Array([9])] })
        .byteLength,
    );
    expect([a.stats.messagesSent, a.stats.messagesReceived, b.stats.messagesSent, b.stats.messagesReceived]).toEqual([
      1, 1, 1, 1,
    ]);
  });

  it('frames cross a real worker thread; worker death rejects a pending receive with PEER_DISCONNECTED', async () => {
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(ECHO_WORKER, { eval: true, workerData: { port: port2 }, transferList: [port2] });
    const t = messagePortTransport(port1);
    cleanups.push(
      () => t.close(),
      () => worker.terminate(),
    );
    const blob = new Uint8Array(1 << 20).fill(42);
    t.send({ tag: 'echo', header: { big: true }, blobs: [blob] });
    const back = await expectMessage(t, 'echo', { timeoutMs: 5000 });
    expect(back.blobs[0]!.length).toBe(1 << 20);
    expect(back.blobs[0]![12345]).toBe(42);
    const waiting = t.receive({ timeoutMs: 5000 }).catch((e: unknown) => e);
    await worker.terminate();
    expect(await waiting).toMatchObject({ code: 'PEER_DISCONNECTED' });
  });

  it('carries the close reason to the peer', async () => {
    const [a, b] = channel();
    const reason = new Promise<string | undefined>((resolve) => b.onClose(resolve));
    const waiting = b.receive();
    a.close('inference finished');
    expect(await reason).toBe('inference finished');
    await expect(waiting).rejects.toMatchObject({
      code: 'PEER_DISCONNECTED',
      message: expect.stringContaining('inference finished'),
    });
  });

  it('a non-binary payload fails the transport with FRAME_INVALID and tells the peer', async () => {
    const [t, raw] = rawChannel();
    const reply = new Promise<unknown>((resolve) => raw.once('message', resolve));
    raw.postMessage('hello, not a frame');
    await expect(t.receive({ timeoutMs: 2000 })).rejects.toMatchObject({ code: 'FRAME_INVALID' });
    const errorFrame = decodeFrame(new Uint8Array((await reply) as ArrayBuffer));
    expect(errorFrame.tag).toBe('error');
    expect(errorFrame.header).toMatchObject({ code: 'FRAME_INVALID' });
    expect(t.closed).toBe(true);
  });

  it('a truncated frame fails with FRAME_INVALID', async () => {
    const [t, raw] = rawChannel();
    const frame = encodeFrame({ tag: 'x', header: { a: 1 }, blobs: [new Uint8Array(10)] });
    raw.postMessage(frame.slice(0, frame.length - 3).buffer);
    await expect(t.receive({ timeoutMs: 2000 })).rejects.toMatchObject({
      code: 'FRAME_INVALID',
      message: expect.stringContaining('truncated'),
    });
  });

  it('rejects something that is not a MessagePort', () => {
    expect(() => messagePortTransport({} as MessagePort)).toThrow(TypeError);
  });
});
