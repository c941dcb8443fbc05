/**
 * Shared parts of the plan's predictions (core/runtime/predict.ts, predict-gazelle.ts): the
 * result types, frame sizes by the transport's own encoder, a real response ciphertext's
 * size, the per-op cost model from measured medians, and the per-message time.
 */
import type { CkksParams } from '../he/index.ts';
import { HeContext } from '../he/context.ts';
import type { OpCostMs } from '../he/bench.ts';
import { DEFAULT_COSTS, type CostModel, type CostedOp } from '../he/layout.ts';
import { Scope } from '../he/seal.ts';
import type { Model } from '../model/types.ts';
import { schemeById } from '../schemes/index.ts';
import { encodeFrame } from '../transport/frame.ts';
import type { MessageCost } from './latency.ts';

/** One stage's prediction (per image; setup once per session). */
export interface StagePrediction {
  readonly ms: number;
  readonly bytesClientToServer: number;
  readonly bytesServerToClient: number;
}

export interface SchemePlan {
  readonly scheme: string;
  readonly label: string;
  readonly ok: boolean;
  /** why the scheme cannot run the model */
  readonly reason?: string;
  /** why there is no prediction (schemes the cost model does not cover) */
  readonly notModelled?: string;
  readonly params?: { polyModulusDegree: number; coeffModulusBits: readonly number[]; scaleBits: number };
  /** the ring schemes' BFV parameters (instead of `params`) */
  readonly bfv?: { polyModulusDegree: number; coeffModulusBits: readonly number[]; plainModulus: number };
  readonly stages?: {
    merging: StagePrediction;
    setup: StagePrediction;
    preprocessing: StagePrediction;
    online: StagePrediction;
  };
  readonly perStep?: readonly {
    name: string;
    preprocessingMs: number;
    bytesClientToServer: number;
    bytesServerToClient: number;
    predictedLogitError: number;
  }[];
  readonly logitError?: { predicted: number; target: number; meetsTarget: boolean; advice?: string };
  readonly batch?: number;
}

/** Bytes of a frame with blobs of these sizes, encoded as the transport does. */
export const frameBytes = (tag: string, header: unknown, blobs: readonly number[]): number =>
  encodeFrame({ tag, header, blobs: blobs.map((n) => new Uint8Array(n)) }).byteLength;

/** Size of a real level-0 ciphertext (what a response carries) under `params`. */
export async function responseCiphertextBytes(params: CkksParams): Promise<number> {
  const he = await HeContext.create(params);
  const s = new Scope();
  try {
    const kg = s.own(new he.seal.KeyGenerator(he.context));
    const pk = s.own(kg.createPublicKey());
    const enc = s.own(new he.seal.Encryptor(he.context, pk));
    const pt = he.encode(
      s,
      Float64Array.from({ length: he.slots }, () => Math.random() * 2 - 1),
      he.scale,
      0,
    );
    const ct = s.own(new he.seal.Ciphertext());
    enc.encrypt(pt, ct);
    return he.saveBytes(ct, 'share').byteLength;
  } finally {
    s.free();
    he.delete();
  }
}

/**
 * The per-op cost model from measured medians (measureOpCosts); entries that are missing or not
 * positive keep the defaults (a conjugation missing costs what a rotation measured: both key switches).
 */
export function costModelFrom(m: Readonly<Partial<OpCostMs>>): CostModel {
  const pick = (k: CostedOp | 'load' | 'save', alt?: CostedOp): number => {
    const v = m[k] ?? (alt ? m[alt] : undefined);
    return typeof v === 'number' && v > 0 ? v : DEFAULT_COSTS[k];
  };
  return {
    encodes: pick('encodes'),
    encryptions: pick('encryptions'),
    load: pick('load'),
    ctPtMul: pick('ctPtMul'),
    additions: pick('additions'),
    rotations: pick('rotations'),
    conjugations: pick('conjugations', 'rotations'),
    zeroEncryptions: pick('zeroEncryptions'),
    rescales: pick('rescales'),
    save: pick('save'),
    decryptions: pick('decryptions'),
    msPerByte: 0, // in-process transports: frames are copied, not sent over a link (time is in the ops)
    // an upload is a seeded ciphertext at the input level: loading it expands the seed (not a response's cost)
    loadMask: typeof m.loadMask === 'number' && m.loadMask > 0 ? m.loadMask : pick('load'),
  };
}

/** Time of `messages` frames of `bytes` bytes in all, sent one after the other between the role threads. */
export const messagesMs = (c: MessageCost, messages: number, bytes: number): number =>
  messages * c.oneWayMs + bytes * c.msPerByte;

/**
 * The part of a CKKS plan its parameters and key upload decide: the parameters, merging (no messages)
 * and setup (the key upload, one message).
 */
export function ckksPlanHead(
  params: CkksParams,
  mergeMs: number,
  msg: MessageCost,
  setupBytes: number,
): { params: NonNullable<SchemePlan['params']>; merging: StagePrediction; setup: StagePrediction } {
  return {
    params: {
      polyModulusDegree: params.polyModulusDegree,
      coeffModulusBits: params.coeffModulusBits,
      scaleBits: params.scaleBits,
    },
    merging: { ms: mergeMs, bytesClientToServer: 0, bytesServerToClient: 0 },
    setup: { ms: messagesMs(msg, 1, setupBytes), bytesClientToServer: setupBytes, bytesServerToClient: 0 },
  };
}

/**
 * The network interactive scheme `id` runs for `model` (merged or not, as the scheme does),
 * with its best-of-two merge time. Throws TypeError for a scheme that is not interactive.
 */
export function schemeNetwork(id: string, model: Model): { net: Model; mergeMs: number; label: string } {
  const scheme = schemeById(id);
  if (scheme.kind !== 'interactive') throw new TypeError(`${id} is not interactive`);
  return { ...timedMerge(() => scheme.network({ ...model }).model), label: scheme.label };
}

/** Run `merge` twice and keep the faster time: the first run also pays for loading and JIT warm-up. */
export function timedMerge<M>(merge: () => M): { net: M; mergeMs: number } {
  let mergeMs = Infinity;
  let net: M | undefined;
  for (let i = 0; i < 2; i++) {
    const m0 = performance.now();
    net = merge();
    mergeMs = Math.min(mergeMs, performance.now() - m0);
  }
  return { net: net!, mergeMs };
}

/**
 * ms per image the CKKS server's zero pool (core/he/reuse.ts) adds to a batch's online stage.
 * After a batch's preprocessing has taken its Enc_pk(0)s, the server makes the next batch's
 * `zeros` again in the background, one encryption per macrotask, while it waits for the
 * client; so each burst of client messages that reaches it finds an encryption under way
 * and waits for the rest of it (half of one, on average) until the refill is done. The
 * refill lasts `zeros × encryptZeroMs` of the server's idle time, i.e. about that many ms of
 * online images. (Found from the round-5 plan-check gap: merged/unmerged online 4–12× over
 * a fresh-thread timing without HE material, bimodal 5 ms / 25–45 ms images; the ring
 * schemes, whose BFV server has no pool, did not show it.)
 */
export function zeroRefillMs(o: {
  zeros: number;
  encryptZeroMs: number;
  /** client→server bursts per image (the server waits for the client once per burst) */
  bursts: number;
  /** ms per image without the refill */
  baseMs: number;
  batch: number;
}): number {
  const perImage = (o.bursts * o.encryptZeroMs) / 2;
  const refillMs = o.zeros * o.encryptZeroMs;
  const images = Math.min(o.batch, refillMs / Math.max(1e-9, o.baseMs + perImage));
  return (images * perImage) / o.batch;
}
