import { describe, expect, it } from 'vitest';
import { PpnnError } from '../../core/errors.ts';
import { bytesToF64, encodeFrame, f64ToBytes, type Message } from '../../core/transport/frame.ts';
import { memoryPair } from '../../core/transport/memory.ts';
import { expectMessage, sendError } from '../../core/transport/transport.ts';

const msg = (tag: string, header: unknown = null, blobs: Uint8Array[] = []): Message => ({ tag, header, blobs });

describe('memoryPair', () => {
  it('round-trips messages with blobs in both directions and counts encoded bytes on both ends', async () => {
    const [client, server] = memoryPair();
    const input = new Float64Array([0.5, -1.25, 3e10]);
    const sent = [
      msg('offline/keys', { n: 8192 }, [new Uint8Array([1, 2, 3])]),
      msg('online/input', { len: 3 }, [f64ToBytes(input)]),
    ];
    for (const m of sent) client.send(m); // queued before anyone receives
    const first = await expectMessage(server, 'offline/keys');
    expect(first.header).toEqual({ n: 8192 });
    expect(Array.from(first.blobs[0]!)).toEqual([1, 2, 3]);
    const second = await expectMessage(server, ['online/input', 'online/other']);
    expect(Array.from(bytesToF64(second.blobs[0]!, 3))).toEqual(Array.from(input));
    server.send(msg('online/result', { label: 7 }));
    expect((await client.receive()).header).toEqual({ label: 7 });

    const clientFrameBytes = sent.reduce((sum, m) => sum + encodeFrame(m).byteLength, 0);
    const serverFrameBytes = encodeFrame(msg('online/result', { label: 7 })).byteLength;
    expect(client.stats).toEqual({
      bytesSent: clientFrameBytes,
      bytesReceived: serverFrameBytes,
      messagesSent: 2,
      messagesReceived: 1,
    });
    expect(server.stats).toEqual({
      bytesSent: serverFrameBytes,
      bytesReceived: clientFrameBytes,
      messagesSent: 1,
      messagesReceived: 2,
    });
    client.close();
  });

  it('delivers to concurrent receives in FIFO order', async () => {
    const [a, b] = memoryPair();
    const r1 = b.receive();
    const r2 = b.receive();
    a.send(msg('one'));
    a.send(msg('two'));
    expect([(await r1).tag, (await r2).tag]).toEqual(['one', 'two']);
    a.close();
  });

  it('a wrong tag is a PROTOCOL_VIOLATION naming both tags', async () => {
    const [a, b] = memoryPair();
    a.send(msg('online/relu'));
    await expect(expectMessage(b, 'online/input')).rejects.toMatchObject({
      code: 'PROTOCOL_VIOLATION',
      message: "expected 'online/input', got 'online/relu'",
    });
    a.close();
  });

  it("an 'error' message is rethrown as the peer's PpnnError", async () => {
    const [a, b] = memoryPair();
    expect(sendError(a, new PpnnError('PARAMS_MISMATCH', 'poly modulus differs', { ours: 8192, theirs: 4096 }))).toBe(
      true,
    );
    const err = await expectMessage(b, 'offline/keys').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PpnnError);
    expect(err).toMatchObject({
      code: 'PARAMS_MISMATCH',
      message: 'poly modulus differs',
      details: { ours: 8192, theirs: 4096 },
    });
    sendError(a, new Error('plain bug'));
    await expect(expectMessage(b, 'x')).rejects.toMatchObject({ code: 'INTERNAL', message: 'plain bug' });
    a.close();
    expect(sendError(a, new Error('late'))).toBe(false);
  });

  it('peer close while waiting rejects with PEER_DISCONNECTED; earlier messages are still delivered', async () => {
    const [a, b] = memoryPair();
    const waiting = a.receive();
    b.close('client done');
    await expect(waiting).rejects.toMatchObject({
      code: 'PEER_DISCONNECTED',
      message: 'the peer closed the connection: client done',
    });

    const [c, d] = memoryPair();
    c.send(msg('last-words'));
    c.close();
    expect((await d.receive()).tag).toBe('last-words');
    await expect(d.receive()).rejects.toMatchObject({ code: 'PEER_DISCONNECTED' });
    expect(d.closed).toBe(true);
  });

  it('a closed transport refuses to send or receive', async () => {
    const [a, b] = memoryPair();
    b.send(msg('dropped'));
    await Promise.resolve(); // let it arrive, then drop it with the local close
    a.close('bye');
    expect(a.closed).toBe(true);
    expect(() => a.send(msg('x'))).toThrow(expect.objectContaining({ code: 'PEER_DISCONNECTED' }));
    await expect(a.receive()).rejects.toMatchObject({ code: 'PEER_DISCONNECTED' });
  });

  it('times out with TIMEOUT and leaves later messages for the next receive', async () => {
    const [a, b] = memoryPair();
    const started = Date.now();
    await expect(b.receive({ timeoutMs: 30 })).rejects.toMatchObject({ code: 'TIMEOUT' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
    a.send(msg('late'));
    expect((await b.receive({ timeoutMs: 1000 })).tag).toBe('late');
    a.close();
  });

  it('an abort signal cancels a receive with CANCELLED', async () => {
    const [a, b] = memoryPair();
    const controller = new AbortController();
    const waiting = b.receive({ signal: controller.signal });
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'CANCELLED' });
    await expect(b.receive({ signal: controller.signal })).rejects.toMatchObject({ code: 'CANCELLED' });
    a.send(msg('still-works'));
    expect((await b.receive()).tag).toBe('still-works');
    a.close();
  });

  it('validates receive options', async () => {
    const [a] = memoryPair();
    await expect(a.receive({ timeoutMs: -1 })).rejects.toThrow(RangeError);
    await expect(a.receive({ timeoutMs: Number.NaN })).rejects.toThrow(/timeoutMs/);
    await expect(a.receive({ signal: {} as AbortSignal })).rejects.toThrow(TypeError);
    a.close();
  });

  it('runs onClose callbacks once on both ends, with the reason', async () => {
    const [a, b] = memoryPair();
    const seen: string[] = [];
    a.onClose((r) => seen.push(`a:${r}`));
    b.onClose((r) => seen.push(`b:${r}`));
    a.close('finished');
    a.close('again');
    await new Promise((r) => setTimeout(r, 0));
    b.onClose((r) => seen.push(`late:${r}`));
    await Promise.resolve();
    expect(seen).toEqual(['a:finished', 'b:finished', 'late:finished']);
  });

  it('an oversized send throws FRAME_INVALID and the transport stays usable', async () => {
    const [a, b] = memoryPair({ maxFrameBytes: 1024 });
    expect(() => a.send(msg('big', null, [new Uint8Array(2048)]))).toThrow(
      expect.objectContaining({ code: 'FRAME_INVALID' }),
    );
    expect(a.stats.messagesSent).toBe(0);
    a.send(msg('small', null, [new Uint8Array(16)]));
    expect((await b.receive()).blobs[0]!.length).toBe(16);
    a.close();
  });
});
