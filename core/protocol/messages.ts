/**
 * Message tags of the two-party protocol (a tagged union on the wire: every frame names
 * its step, and a receiver that gets another tag raises PROTOCOL_VIOLATION).
 *
 *   hello      C→S  { protocol, scheme, inputBits }
 *   arch       S→C  { architecture, masks, provider: { kind, params } }   (no weights)
 *   setup      C→S  provider set-up blobs (e.g. Galois keys)
 *   pre.masks  C→S  { count, steps: [{ step, blobs }] } + request blobs of every linear step
 *   pre.shares S→C  { steps: [{ step, blobs }], serverMs } + response blobs
 *   on.input   C→S  x − r1 (one image)
 *   on.act     S→C  d = y_s − a (one activation)
 *   on.share   C→S  <z>c − r(i+1)
 *   on.result  S→C  the server's share of the logits, { serverMs }
 *   on.enc     C→S  gazelle: Enc(<v>c) for linear step { step }
 *   on.eval    S→C  gazelle: Enc(M·A(<v>c + <v>s) − s)
 *   bye        C→S  end of session
 *   error      both  PpnnError.toJSON()
 */
import { PpnnError } from '../errors.ts';

export const PROTOCOL_ID = 'ppnn/1';

export const TAG = {
  hello: 'hello',
  arch: 'arch',
  setup: 'setup',
  preMasks: 'pre.masks',
  preShares: 'pre.shares',
  onInput: 'on.input',
  onAct: 'on.act',
  onShare: 'on.share',
  onResult: 'on.result',
  onEnc: 'on.enc',
  onEval: 'on.eval',
  bye: 'bye',
} as const;

export interface StepBlobs {
  step: number;
  blobs: number;
}

/** Split a message's blobs by the per-step counts in its header; PROTOCOL_VIOLATION when they don't add up. */
export function splitBlobs(header: unknown, blobs: Uint8Array[], where: string): Map<number, Uint8Array[]> {
  const steps = (header as { steps?: unknown } | null)?.steps;
  if (!Array.isArray(steps)) throw new PpnnError('PROTOCOL_VIOLATION', `${where}: header.steps missing`);
  const out = new Map<number, Uint8Array[]>();
  let at = 0;
  for (const s of steps as StepBlobs[]) {
    if (!Number.isInteger(s?.step) || !Number.isInteger(s?.blobs) || s.blobs < 0) throw new PpnnError('PROTOCOL_VIOLATION', `${where}: malformed step entry`);
    out.set(s.step, blobs.slice(at, at + s.blobs));
    at += s.blobs;
  }
  if (at !== blobs.length) throw new PpnnError('PROTOCOL_VIOLATION', `${where}: header announces ${at} blobs, message has ${blobs.length}`);
  return out;
}

/** Read a non-negative integer header field or raise PROTOCOL_VIOLATION. */
export function headerInt(header: unknown, field: string, where: string, max = Number.MAX_SAFE_INTEGER): number {
  const v = (header as Record<string, unknown> | null)?.[field];
  if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > max) throw new PpnnError('PROTOCOL_VIOLATION', `${where}: header.${field} must be an integer in [0, ${max}]`);
  return v as number;
}
