/**
 * OT over a transport: session set-up (128 base OTs, the server speaking first), random-OT batches (IKNP), and the
 * Beaver derandomisation of a batch once the choices and messages exist. The evaluator
 * (client) is the OT receiver, the garbler (server) the OT sender; see core/gc/iknp.ts for
 * the message flow and why the sender's view is independent of the choices.
 */
import { randomFillSync } from 'node:crypto';
import type { Transport } from '../transport/transport.ts';
import { expectMessage } from '../transport/transport.ts';
import {
  baseOtReceiverFinish,
  baseOtReceiverStart,
  baseOtSend,
  POINT_BYTES,
  type BaseOtReceiverState,
} from './base-ot.ts';
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

/** Server (IKNP sender = base-OT receiver with random s), step 1: its first message and what it keeps. */
export function otOffer(): { offer: Uint8Array; pending: { s: Uint8Array; state: BaseOtReceiverState } } {
  const s = new Uint8Array(KAPPA);
  randomFillSync(s);
  for (let j = 0; j < KAPPA; j++) s[j]! &= 1;
  const { state, message } = baseOtReceiverStart(s);
  return { offer: message, pending: { s, state } };
}

/** Client (IKNP receiver = base-OT sender): answer the server's offer. Returns the reply (32 B) and its IKNP state. */
export function otAccept(offer: Uint8Array): { reply: Uint8Array; receiver: IknpReceiver } {
  const { message, keys0, keys1 } = baseOtSend(offer, KAPPA);
  return { reply: message, receiver: new IknpReceiver(keys0, keys1) };
}

/** Server, step 2: its IKNP state from the client's reply. Throws PROTOCOL_VIOLATION for a bad reply. */
export function otComplete(pending: { s: Uint8Array; state: BaseOtReceiverState }, reply: Uint8Array): IknpSender {
  return new IknpSender(pending.s, baseOtReceiverFinish(pending.state, reply));
}

/** Client: the base OTs over a transport (the server runs otSetupSender). Resolves with the IKNP receiver. */
export async function otSetupReceiver(t: Transport): Promise<IknpReceiver> {
  const msg = await expectMessage(t, GC_TAG.otBase);
  expectCount(msg, 'count', KAPPA);
  const [offer] = blobsOfSize(msg, [2 * POINT_BYTES * KAPPA]);
  const { reply, receiver } = otAccept(offer!);
  t.send({ tag: GC_TAG.otReply, header: { count: KAPPA }, blobs: [reply] });
  return receiver;
}

/** Server: the base OTs over a transport (the client runs otSetupReceiver). Resolves with the IKNP sender. */
export async function otSetupSender(t: Transport): Promise<IknpSender> {
  const { offer, pending } = otOffer();
  t.send({ tag: GC_TAG.otBase, header: { count: KAPPA }, blobs: [offer] });
  const msg = await expectMessage(t, GC_TAG.otReply);
  expectCount(msg, 'count', KAPPA);
  const [reply] = blobsOfSize(msg, [POINT_BYTES]);
  return otComplete(pending, reply!);
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
