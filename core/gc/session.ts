/**
 * One garbled-circuit session per two-party session: the base OTs (run once), the
 * IKNP state that extends them, and the tweak counter that keeps every hash input unique
 * across all layers. The server garbles and sends OT messages; the client evaluates and
 * receives. Layer protocols (core/gc/activation.ts) take one of these.
 */
import { randomFillSync } from 'node:crypto';
import type { Transport } from '../transport/transport.ts';
import { FixedKeyPermutation } from './hash.ts';
import type { IknpReceiver, IknpSender } from './iknp.ts';
import { otAccept, otComplete, otOffer, otSetupReceiver, otSetupSender } from './ot.ts';

/**
 * What both ends hold alike: the fixed-key hash and the tweak counter, which must advance
 * identically on both sides, and the OT extension state (sender or receiver).
 */
abstract class GcSessionBase<Ot> {
  readonly perm = new FixedKeyPermutation();
  /** next unused tweak; both sides advance it identically */
  tweak = 0;
  readonly ot: Ot;
  protected constructor(ot: Ot) {
    this.ot = ot;
  }
}

/** The server's (garbler's) session state. */
export class GcServerSession extends GcSessionBase<IknpSender> {
  /** Run the base OTs with the client over `t` (it must call GcClientSession.open on its end). */
  static async open(t: Transport): Promise<GcServerSession> {
    return new GcServerSession(await otSetupSender(t));
  }
  /**
   * The same without a transport, for a session whose first server message carries `offer`
   * (8 KiB) and whose client set-up message carries the reply: complete(reply) builds the session.
   */
  static offer(): { offer: Uint8Array; complete(reply: Uint8Array): GcServerSession } {
    const { offer, pending } = otOffer();
    return { offer, complete: (reply) => new GcServerSession(otComplete(pending, reply)) };
  }
}

/** The client's (evaluator's) session state. */
export class GcClientSession extends GcSessionBase<IknpReceiver> {
  /** Run the base OTs with the server over `t` (it must call GcServerSession.open on its end). */
  static async open(t: Transport): Promise<GcClientSession> {
    return new GcClientSession(await otSetupReceiver(t));
  }
  /** Answer the server's offer (see GcServerSession.offer): the reply (32 B) to send and the session. */
  static accept(offer: Uint8Array): { reply: Uint8Array; session: GcClientSession } {
    const { reply, receiver } = otAccept(offer);
    return { reply, session: new GcClientSession(receiver) };
  }
}

/**
 * `count` uniform elements of Z_p from the OS CSPRNG by rejection sampling (no modulo
 * bias): draw 7 bytes, keep the low n = ceil(log2 p) bits, retry while ≥ p (probability
 * < 1/2 per draw). Exact in float64 since p < 2^52.
 */
export function uniformBelow(p: number, count: number): Float64Array {
  if (!Number.isSafeInteger(p) || p < 2 || p > 2 ** 52) throw new RangeError('p must be an integer in [2, 2^52]');
  const n = Math.ceil(Math.log2(p));
  const hiBits = Math.max(0, n - 32);
  const out = new Float64Array(count);
  const buf = new Uint32Array(2 * Math.max(64, count));
  let at = buf.length;
  for (let i = 0; i < count;) {
    if (at >= buf.length) {
      randomFillSync(buf);
      at = 0;
    }
    // Uint32Array entries are exact non-negative integers, so % 2^k keeps their k low bits
    const lo = n >= 32 ? buf[at]! : buf[at]! % 2 ** n;
    const hi = hiBits > 0 ? buf[at + 1]! % 2 ** hiBits : 0;
    at += 2;
    const v = hi * 4294967296 + lo;
    if (v < p) out[i++] = v;
  }
  return out;
}
