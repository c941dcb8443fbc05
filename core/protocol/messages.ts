/**
 * Message tags of the two-party protocol and ONE typed decoder per tag (DELPHI habit: a
 * tagged union on the wire; a receiver that gets another tag, or a header that does not
 * validate, raises PROTOCOL_VIOLATION instead of misreading bytes). Both roles decode
 * through these functions, so a field is checked in exactly one place.
 *
 *   hello      C→S  { protocol, scheme, inputBits }
 *   arch       S→C  { architecture, masks, provider: { kind, params }, maxBatch }   (no weights)
 *   setup      C→S  provider set-up blobs (e.g. Galois keys)
 *   batch      C→S  { count }: a batch of `count` images starts (offline, then online)
 *   pre.masks  C→S  { step, count } + request blobs of one step (e.g. Enc(r))
 *   pre.shares S→C  { step, serverMs } + response blobs of that step
 *   on.input   C→S  { step } x − r1 (one image)
 *   on.act     S→C  { step } d = y_s − a (one activation)
 *   on.share   C→S  { step } <z>c − r(i+1)
 *   on.enc     C→S  { step } gazelle: Enc(<v>c)
 *   on.eval    S→C  { step } gazelle: Enc(M·A(<v>c + <v>s) − s)
 *   on.result  S→C  { serverMs } the server's share of the logits
 *   bye        C→S  end of session
 *   error      both  PpnnError.toJSON()
 */
import { PpnnError } from '../errors.ts';
import { architectureFromJSON } from '../model/json.ts';
import type { Architecture } from '../model/types.ts';
import { expectMessage, type Message, type ReceiveOptions, type Transport } from '../transport/transport.ts';

export const PROTOCOL_ID = 'ppnn/2';

export const TAG = {
  hello: 'hello',
  arch: 'arch',
  setup: 'setup',
  batch: 'batch',
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

/** Largest images per batch either side accepts (bounds the server's per-batch state). */
export const MAX_BATCH = 4096;

const violation = (where: string, what: string): never => {
  throw new PpnnError('PROTOCOL_VIOLATION', `${where}: ${what}`);
};

function headerObject(msg: Message): Record<string, unknown> {
  const h = msg.header;
  if (typeof h !== 'object' || h === null || Array.isArray(h)) return violation(msg.tag, 'header must be an object');
  return h as Record<string, unknown>;
}

/** An integer header field in [min, max], or PROTOCOL_VIOLATION. */
export function intField(
  h: Record<string, unknown>,
  field: string,
  where: string,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const v = h[field];
  if (!Number.isInteger(v) || (v as number) < min || (v as number) > max) {
    return violation(where, `header.${field} must be an integer in [${min}, ${max}], got ${JSON.stringify(v)}`);
  }
  return v as number;
}

/** A finite non-negative number (e.g. a duration the peer reports), or PROTOCOL_VIOLATION. */
function msField(h: Record<string, unknown>, field: string, where: string): number {
  const v = h[field];
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
    return violation(where, `header.${field} must be a finite number ≥ 0`);
  return v;
}

function blobCount(msg: Message, min: number, max: number): Uint8Array[] {
  if (msg.blobs.length < min || msg.blobs.length > max) {
    return violation(msg.tag, `expected ${min === max ? min : `${min}..${max}`} blob(s), got ${msg.blobs.length}`);
  }
  return msg.blobs;
}

export interface Hello {
  protocol: string;
  scheme: string;
  inputBits: number;
}

export function decodeHello(msg: Message): Hello {
  const h = headerObject(msg);
  if (h.protocol !== PROTOCOL_ID) {
    violation('hello', `unsupported protocol ${JSON.stringify(h.protocol)} (this side speaks ${PROTOCOL_ID})`);
  }
  if (typeof h.scheme !== 'string' || !/^[a-z][a-z0-9-]{0,31}$/.test(h.scheme))
    violation('hello', 'header.scheme must be a scheme id');
  return { protocol: PROTOCOL_ID, scheme: h.scheme as string, inputBits: intField(h, 'inputBits', 'hello', 0, 40) };
}

/** The public mask parameters the server reports (informational for the client: it sizes its own masks). */
export interface ArchMasks {
  inputBits: number;
  shareBits: number;
  defaultBound: number;
}

export interface ProviderInfoWire {
  kind: string;
  params: unknown;
}

export interface ArchMessage {
  architecture: Architecture;
  masks: ArchMasks;
  provider: ProviderInfoWire;
  maxBatch: number;
}

/** Validates the architecture (layer fields, shapes chain, bounds) as the client must: it comes from the peer. */
export function decodeArch(msg: Message): ArchMessage {
  const h = headerObject(msg);
  let architecture: Architecture;
  try {
    architecture = architectureFromJSON(h.architecture);
  } catch (e) {
    return violation('arch', `invalid architecture: ${(e as Error).message}`);
  }
  const m = h.masks;
  if (typeof m !== 'object' || m === null) return violation('arch', 'header.masks must be an object');
  const mo = m as Record<string, unknown>;
  const defaultBound = mo.defaultBound;
  if (typeof defaultBound !== 'number' || !(defaultBound > 0) || !Number.isFinite(defaultBound))
    violation('arch', 'masks.defaultBound must be > 0');
  const masks = {
    inputBits: intField(mo, 'inputBits', 'arch.masks', 0, 40),
    shareBits: intField(mo, 'shareBits', 'arch.masks', 0, 40),
    defaultBound: defaultBound as number,
  };
  const p = h.provider;
  if (typeof p !== 'object' || p === null || typeof (p as { kind?: unknown }).kind !== 'string')
    return violation('arch', 'header.provider.kind missing');
  const provider = { kind: (p as { kind: string }).kind, params: (p as { params?: unknown }).params };
  return { architecture, masks, provider, maxBatch: intField(h, 'maxBatch', 'arch', 1, MAX_BATCH) };
}

export function decodeBatch(msg: Message, maxBatch: number): { count: number } {
  return { count: intField(headerObject(msg), 'count', 'batch', 1, maxBatch) };
}

/** A message of one protocol step: header.step must name the step the receiver is at. */
export function decodeStep(msg: Message, step: number, blobs: [number, number] = [1, 1]): Uint8Array[] {
  const got = intField(headerObject(msg), 'step', msg.tag, 0, 1 << 16);
  if (got !== step) violation(msg.tag, `expected step ${step}, got step ${got}`);
  return blobCount(msg, blobs[0], blobs[1]);
}

export function decodePreMasks(msg: Message, step: number, count: number): Uint8Array[] {
  const h = headerObject(msg);
  if (intField(h, 'count', 'pre.masks', 1, MAX_BATCH) !== count)
    violation('pre.masks', `header.count must be the batch's ${count}`);
  return decodeStep(msg, step, [0, 1 << 20]);
}

export function decodePreShares(msg: Message, step: number): { blobs: Uint8Array[]; serverMs: number } {
  const blobs = decodeStep(msg, step, [0, 1 << 20]);
  return { blobs, serverMs: msField(headerObject(msg), 'serverMs', 'pre.shares') };
}

export function decodeResult(msg: Message): { share: Uint8Array; serverMs: number } {
  const share = blobCount(msg, 1, 1)[0]!;
  return { share, serverMs: msField(headerObject(msg), 'serverMs', 'on.result') };
}

/** Receive the next message, requiring one of `tags`; the peer's error message is rethrown as its PpnnError. */
export function receive(t: Transport, tags: string | readonly string[], opts: ReceiveOptions): Promise<Message> {
  return expectMessage(t, tags, opts);
}
