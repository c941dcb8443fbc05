/**
 * OT over a transport: session set-up (128 base OTs), random-OT batches (IKNP), and the
 * Beaver derandomisation of a batch once the choices and messages exist. The evaluator
 * (client) is the OT receiver, the garbler (server) the OT sender; see core/gc/iknp.ts for
 * the message flow and why the sender's view is independent of the choices.
 */
import { randomFillSync } from 'node:crypto';
import type { Transport } from '../transport/transport.ts';
import { expectMessage } from '../transport/transport.ts';
import { baseOtReceive, baseOtSenderFinish, baseOtSenderStart, POINT_BYTES } from './base-ot.ts';
import { blockBytes, bytesToBlocks } from './hash.ts';
import { packBits, unpackBits } from './bits.ts';
import {
  derandomiseChoices,
  derandomiseReceive,
  derandomiseSend,
  IknpReceiver,
  IknpSender,
  KAPPA,
  type RandomOtReceived,
  type RandomOtSent,
} from './iknp.ts';
import { blobsOfSize, expectCount, GC_TAG } from './messages.ts';

/** Largest random-OT batch accepted in one message (2^24 OTs = 256 MiB of columns at most). */
export const MAX_OT_BATCH = 1 << 24;

/** Client (OT receiver): run the base OTs as their sender. Resolves with the IKNP receiver. */
export async function otSetupReceiver(t: Transport): Promise<IknpReceiver> {
  const { state, message } = baseOtSenderStart();
  t.send({ tag: GC_TAG.otBase, header: { count: KAPPA }, blobs: [message] });
  const reply = await expectMessage(t, GC_TAG.otReply);
  expectCount(reply, 'count', KAPPA);
  const [R] = blobsOfSize(reply, [POINT_BYTES * KAPPA]);
  const { keys0, keys1 } = baseOtSenderFinish(state, R!, KAPPA);
  return new IknpReceiver(keys0, keys1);
}

/** Server (OT sender): run the base OTs as their receiver with a random s. Resolves with the IKNP sender. */
export async function otSetupSender(t: Transport): Promise<IknpSender> {
  const msg = await expectMessage(t, GC_TAG.otBase);
  expectCount(msg, 'count', KAPPA);
  const [S] = blobsOfSize(msg, [POINT_BYTES]);
  const s = new Uint8Array(KAPPA);
  randomFillSync(s);
  for (let j = 0; j < KAPPA; j++) s[j]! &= 1;
  const { message, keys } = baseOtReceive(S!, s);
  t.send({ tag: GC_TAG.otReply, header: { count: KAPPA }, blobs: [message] });
  return new IknpSender(s, keys);
}

/** Client: `m` random OTs (choices unknown to anyone yet). */
export function randomOtReceive(t: Transport, rx: IknpReceiver, m: number): RandomOtReceived {
  const { message, received } = rx.extend(m);
  t.send({ tag: GC_TAG.otExt, header: { m }, blobs: [message] });
  return received;
}

/** Server: its side of `m` random OTs. */
export async function randomOtSend(t: Transport, tx: IknpSender, m: number): Promise<RandomOtSent> {
  if (!Number.isSafeInteger(m) || m <= 0 || m > MAX_OT_BATCH) throw new RangeError(`m must be in [1, ${MAX_OT_BATCH}]`);
  const msg = await expectMessage(t, GC_TAG.otExt);
  expectCount(msg, 'm', m);
  const [u] = blobsOfSize(msg, [(KAPPA * (Math.ceil(m / KAPPA) * KAPPA)) / 8]);
  return tx.extend(m, u!);
}

/** Client: send d = b ⊕ r for the real choices `b`. */
export function chooseSend(t: Transport, received: RandomOtReceived, b: Uint8Array): void {
  const d = derandomiseChoices(received, b);
  t.send({
    tag: GC_TAG.otChoice,
    header: { m: b.length },
    blobs: [packBits(d)],
  });
}

/** Server: answer the client's d with e0, e1 for messages x0, x1 (block buffers). */
export async function transferSend(t: Transport, sent: RandomOtSent, x0: Uint32Array, x1: Uint32Array): Promise<void> {
  const m = x0.length >>> 2;
  const msg = await expectMessage(t, GC_TAG.otChoice);
  expectCount(msg, 'm', m);
  const [dp] = blobsOfSize(msg, [(m + 7) >>> 3]);
  const { e0, e1 } = derandomiseSend(sent, unpackBits(dp!, m), x0, x1);
  t.send({
    tag: GC_TAG.otMsgs,
    header: { m },
    blobs: [blockBytes(e0), blockBytes(e1)],
  });
}

/** Client: receive x_b for every OT of the batch. */
export async function transferReceive(t: Transport, received: RandomOtReceived, b: Uint8Array): Promise<Uint32Array> {
  const m = b.length;
  const msg = await expectMessage(t, GC_TAG.otMsgs);
  expectCount(msg, 'm', m);
  const [e0, e1] = blobsOfSize(msg, [16 * m, 16 * m]);
  return derandomiseReceive(received, b, bytesToBlocks(e0!), bytesToBlocks(e1!));
}
