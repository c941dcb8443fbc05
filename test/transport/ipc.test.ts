/**
 * core/transport/ipc.ts over a real forked child process (the way `ppnn serve` talks to a
 * session process): frames cross a process boundary twice, control events on the same
 * channel are left alone, and a broken payload, an oversized frame or the child's exit end
 * the transport with a code, not a hang.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bytesToF64, f64ToBytes } from '../../core/transport/frame.ts';
import { ipcTransport, type IpcChannel } from '../../core/transport/ipc.ts';
import { expectMessage } from '../../core/transport/transport.ts';

// plain JS child: echoes every frame message back, answers 'event' with a control event
// (no ppnnFrame), sends a non-binary frame on 'bad', 4 KiB of bytes on 'big', exits on 'exit'
const CHILD = `
process.on('message', (m) => {
  if (m && m.ppnnFrame) process.send({ ppnnFrame: m.ppnnFrame });
  else if (m === 'event') process.send({ type: 'done', images: 1 });
  else if (m === 'bad') process.send({ ppnnFrame: 'not bytes' });
  else if (m === 'big') process.send({ ppnnFrame: new Uint8Array(4096) });
  else if (m === 'exit') process.exit(0);
});`;

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

const childFile = join(mkdtempSync(join(tmpdir(), 'ppnn-ipc-')), 'child.cjs');
writeFileSync(childFile, CHILD);

function child(): ChildProcess {
  const c = fork(childFile, [], {
    execArgv: [],
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.push(c);
  return c;
}

describe('ipcTransport', () => {
  it('round-trips blobs through a child process and leaves control events to other listeners', async () => {
    const c = child();
    const events: unknown[] = [];
    c.on('message', (m) => events.push(m));
    const t = ipcTransport(c as unknown as IpcChannel);
    const values = new Float64Array(100_000).map((_, i) => Math.cos(i));
    c.send('event');
    t.send({ tag: 'online/share', header: { layer: 2 }, blobs: [f64ToBytes(values)] });
    const got = await expectMessage(t, 'online/share');
    expect(got.header).toEqual({ layer: 2 });
    expect(bytesToF64(got.blobs[0]!, values.length)).toEqual(values);
    expect(t.stats.bytesReceived).toBe(t.stats.bytesSent);
    expect(events).toContainEqual({ type: 'done', images: 1 });
    t.close();
  });

  it('a non-binary frame payload fails the transport with FRAME_INVALID', async () => {
    const c = child();
    const t = ipcTransport(c as unknown as IpcChannel);
    c.send('bad');
    await expect(t.receive()).rejects.toMatchObject({ code: 'FRAME_INVALID' });
  });

  it('a frame over the limit fails with a code; the child leaving closes the transport', async () => {
    const c = child();
    const t = ipcTransport(c as unknown as IpcChannel, { maxFrameBytes: 1024 });
    c.send('big');
    await expect(t.receive()).rejects.toMatchObject({ code: 'FRAME_INVALID', message: /exceeds the limit/ });
    const c2 = child();
    const t2 = ipcTransport(c2 as unknown as IpcChannel);
    c2.send('exit');
    await expect(t2.receive()).rejects.toMatchObject({ code: 'PEER_DISCONNECTED' });
    expect(t2.closed).toBe(true);
  });

  it('refuses something that is not an IPC channel', () => {
    expect(() => ipcTransport({} as IpcChannel)).toThrow(TypeError);
  });
});
