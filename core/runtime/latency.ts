/**
 * The cost of a message between the two role threads, measured here and now for the plan's
 * time model (core/runtime/predict.ts): the online stage of the float schemes is a chain of
 * small messages — each waits for the previous one — so its time is set by the per-message
 * cost, not by the arithmetic (the round-3 model without it predicted unmerged's online
 * stage 16.8× too fast). An echo worker joined by a MessageChannel, the frames built and
 * parsed by the transport's own encoder, as in runSession: one-way time of a small frame
 * and the extra time per byte (from a 1 MiB frame).
 */
import { MessageChannel, Worker } from 'node:worker_threads';
import { decodeFrame, encodeFrame } from '../transport/frame.ts';

export interface MessageCost {
  /** ms for one small frame from one role thread to the other (half a round trip) */
  readonly oneWayMs: number;
  /** ms per byte of a frame beyond the small one (copy, encode, decode) */
  readonly msPerByte: number;
}

// The echo side as plain JS (an eval worker): it decodes nothing, like a role that only forwards.
const ECHO = `
const { workerData } = require('node:worker_threads');
const port = workerData.port;
port.on('message', (m) => { if (m === 'stop') { port.close(); return; } port.postMessage(m, [m]); });
`;

/** Median time of `reps` round trips of a frame with one blob of `bytes` bytes. */
async function roundTrips(port: import('node:worker_threads').MessagePort, bytes: number, reps: number) {
  const times: number[] = [];
  for (let i = 0; i < reps + 2; i++) {
    // both threads idle first, as a role waiting for its peer is: a wake-up is part of a message's cost
    await new Promise((r) => setTimeout(r, 3));
    const t0 = performance.now();
    const frame = encodeFrame({ tag: 'on.share', header: { step: 1 }, blobs: [new Uint8Array(bytes)] });
    const back = await new Promise<ArrayBuffer>((resolve) => {
      port.once('message', resolve);
      const buf = frame.buffer as ArrayBuffer;
      port.postMessage(buf, [buf]);
    });
    decodeFrame(new Uint8Array(back));
    if (i >= 2) times.push(performance.now() - t0); // the first two warm the JIT and the worker
  }
  return times.sort((a, b) => a - b)[times.length >> 1]!;
}

/** Measure the per-message cost between two threads (~0.2 s). */
export async function measureMessageCost(reps = 31): Promise<MessageCost> {
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(ECHO, { eval: true, workerData: { port: port2 }, transferList: [port2] });
  try {
    const small = await roundTrips(port1, 64, reps);
    const big = await roundTrips(port1, 1 << 20, Math.max(5, reps >> 2));
    return { oneWayMs: small / 2, msPerByte: Math.max(0, (big - small) / 2 / (1 << 20)) };
  } finally {
    port1.postMessage('stop');
    port1.close();
    await worker.terminate();
  }
}
