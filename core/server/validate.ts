/**
 * Strict shape checks of what a client sends, applied by the connection relay before a
 * message reaches the session worker. The protocol code (core/protocol/server.ts) reads
 * only the fields it needs; a header with the right fields plus junk, or a `null` setup
 * header replaced by an object, used to pass and leave the session in a state where it
 * waited on — the silent fuzzed sessions of issue 13. Here every known tag has an exact
 * header shape (no unknown keys, exact types and ranges), so a mutated header is refused
 * with a coded PROTOCOL_VIOLATION at once.
 *
 * Unknown tags (a layer protocol's own step messages) are passed through: the session's own tag check rejects them, and
 * a scheme
 * added later (core/schemes/) need not be listed here to be served. Adding a field to a
 * known message means adding it here as well (the relay test will say so).
 */
import { PpnnError, type ErrorCode } from '../errors.ts';
import type { Message } from '../transport/transport.ts';

type Check = (header: unknown, blobs: number) => string | undefined;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown, min = 0, max = Number.MAX_SAFE_INTEGER): boolean =>
  Number.isInteger(v) && (v as number) >= min && (v as number) <= max;

function exactKeys(h: Record<string, unknown>, keys: readonly string[]): string | undefined {
  const extra = Object.keys(h).filter((k) => !keys.includes(k));
  if (extra.length) return `unexpected header field(s) ${extra.map((k) => JSON.stringify(k)).join(', ')}`;
  const missing = keys.filter((k) => !(k in h));
  return missing.length ? `missing header field(s) ${missing.join(', ')}` : undefined;
}

const nullHeader: Check = (h) => (h === null ? undefined : 'header must be null');

/** A header of exactly the integer fields `keys`, each in [min, max]. */
function intHeader(keys: readonly string[], min = 0, max = 1 << 16): Check {
  return (h) => {
    if (!isObj(h)) return `header must be { ${keys.join(', ')} }`;
    const bad = exactKeys(h, keys);
    if (bad) return bad;
    const wrong = keys.find((k) => !isInt(h[k], min, max));
    return wrong ? `header.${wrong} must be an integer in [${min}, ${max}]` : undefined;
  };
}

const blobs =
  (min: number, max = Infinity): Check =>
  (_h, n) =>
    n >= min && n <= max ? undefined : `expected ${min === max ? min : `${min}..${max}`} blob(s), got ${n}`;
const all =
  (...checks: Check[]): Check =>
  (h, n) =>
    checks.reduce<string | undefined>((p, c) => p ?? c(h, n), undefined);

/**
 * Client → server message shapes of protocol ppnn/2 (core/protocol/messages.ts): the
 * decoders there check the fields they read; these also refuse what they would ignore.
 */
const CLIENT_CHECKS: Record<string, Check> = {
  hello: all(
    (h) => {
      if (!isObj(h)) return 'header must be { protocol, scheme, inputBits }';
      const bad = exactKeys(h, ['protocol', 'scheme', 'inputBits']);
      if (bad) return bad;
      if (typeof h.protocol !== 'string' || typeof h.scheme !== 'string')
        return 'header.protocol and header.scheme must be strings';
      return isInt(h.inputBits, 0, 40) ? undefined : 'header.inputBits must be an integer in [0, 40]';
    },
    blobs(0, 0),
  ),
  setup: nullHeader,
  batch: all(intHeader(['count'], 1, 1 << 16), blobs(0, 0)),
  'pre.masks': intHeader(['step', 'count'], 0, 1 << 16),
  'on.input': all(intHeader(['step']), blobs(1, 1)),
  'on.share': all(intHeader(['step']), blobs(1, 1)),
  'on.enc': all(intHeader(['step']), blobs(1)),
  bye: all(nullHeader, blobs(0, 0)),
  error: (h) => (isObj(h) && typeof h.code === 'string' ? undefined : 'error header must be { code, message }'),
};

/**
 * Check one message from a client. Returns nothing; throws PpnnError('PROTOCOL_VIOLATION')
 * naming the tag and what is wrong. Tags this module does not know pass unchecked.
 */
export function checkClientMessage(msg: Message): void {
  const check = CLIENT_CHECKS[msg.tag];
  if (!check) return;
  const problem = check(msg.header, msg.blobs.length);
  if (problem) throw new PpnnError('PROTOCOL_VIOLATION', `${msg.tag}: ${problem}`);
}

/**
 * The role-level order of a session's client messages, checked as they arrive: a
 * `pre.masks` must carry its batch's count and a step above the previous one of that
 * batch. The session worker checks the same, but only when it reaches the message: a
 * mutated request queued behind seconds of HE evaluation of the steps before it was
 * refused only after that work. Here it is refused at once.
 */
export class ClientSequence {
  #count = 0;
  #lastStep = -1;
  /** Check `msg` (after checkClientMessage); throws PpnnError('PROTOCOL_VIOLATION'). */
  check(msg: Message): void {
    if (msg.tag === 'batch') {
      this.#count = (msg.header as { count: number }).count;
      this.#lastStep = -1;
    } else if (msg.tag === 'pre.masks') {
      const { step, count } = msg.header as { step: number; count: number };
      if (this.#count === 0) throw new PpnnError('PROTOCOL_VIOLATION', "pre.masks before any 'batch'");
      if (count !== this.#count)
        throw new PpnnError('PROTOCOL_VIOLATION', `pre.masks: header.count must be the batch's ${this.#count}`);
      if (step <= this.#lastStep)
        throw new PpnnError('PROTOCOL_VIOLATION', `pre.masks: step ${step} after step ${this.#lastStep}`);
      this.#lastStep = step;
    }
  }
}

/** The hello fields the server layer needs for its policies (call after checkClientMessage). */
export function helloFields(msg: Message): { protocol: string; scheme: string; inputBits: number } {
  const h = msg.header as { protocol: string; scheme: string; inputBits: number };
  return { protocol: h.protocol, scheme: h.scheme, inputBits: h.inputBits };
}

/**
 * Codes a client may report instead of its hello (its own failures before a session):
 * a fixed set, so a client cannot invent metric label values (failed/refused counters are
 * labelled by code) nor claim the server's INTERNAL.
 */
const CLIENT_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'CANCELLED',
  'TIMEOUT',
  'ARGUMENT_INVALID',
  'SHAPE_MISMATCH',
  'ARCH_MISMATCH',
  'PARAMS_MISMATCH',
  'POLICY_REFUSED',
  'MODEL_INVALID',
  'DATASET_INVALID',
  'HE_ERROR',
  'HE_PARAMS',
]);

/**
 * The error a client reports instead of its hello: its code when the header is a
 * well-formed error ({ code, message: string }) with a code from CLIENT_CODES, else
 * PROTOCOL_VIOLATION — a malformed report is the client's fault, never the server's INTERNAL.
 */
export function clientReportedError(header: unknown): PpnnError {
  const h = header as { code?: unknown; message?: unknown } | null;
  if (typeof h === 'object' && h !== null && typeof h.message === 'string' && CLIENT_CODES.has(h.code as ErrorCode))
    return new PpnnError(h.code as ErrorCode, `the client reported: ${h.message.slice(0, 200)}`);
  return new PpnnError(
    'PROTOCOL_VIOLATION',
    "an 'error' frame instead of hello without a valid { code, message } header",
  );
}
