/**
 * The project's one error type. Every failure a user or a peer can cause carries a
 * stable `code` (SCREAMING_SNAKE, never renamed once released) so the CLI can map it
 * to an exit status, the server can send it to the offending session only, and the UI
 * can show a readable message instead of a blank view.
 */
export type ErrorCode =
  | 'MODEL_INVALID' // malformed model JSON / IR, NaN weights, wrong tensor sizes
  | 'MODEL_UNSUPPORTED_OP' // ONNX op or layer kind this engine cannot run
  | 'MODEL_UNSUPPORTED_LAYER' // layer the chosen protocol cannot run (e.g. relu online)
  | 'SHAPE_MISMATCH' // input/dataset shape does not fit the model
  | 'DATASET_INVALID' // IDX magic/size wrong, truncated data
  | 'DATASET_UNKNOWN' // unknown built-in dataset name
  | 'MODEL_UNKNOWN' // unknown built-in model name
  | 'FILE_NOT_FOUND'
  | 'ARGUMENT_INVALID' // CLI / API argument out of range
  | 'HE_ERROR' // node-seal raised an exception
  | 'HE_PARAMS' // no CKKS parameters fit the requested computation within 128-bit security
  | 'CIPHERTEXT_INVALID' // bytes are not a valid ciphertext for this context
  | 'PARAMS_MISMATCH' // peer's CKKS parameters differ from ours
  | 'FRAME_INVALID' // truncated / oversized / undecodable transport frame
  | 'PROTOCOL_VIOLATION' // wrong tag for the current step, unexpected message
  | 'PEER_DISCONNECTED'
  | 'SESSION_LIMIT'
  | 'AUTH_FAILED' // the client could not prove the server's token (wrong, missing or late)
  | 'BUSY' // the server is at its session or memory limit; details.retryAfterMs says when to retry
  | 'POLICY_REFUSED' // a peer asked for weaker security than this side's policy allows (e.g. --min-input-bits)
  | 'ARCH_MISMATCH' // a local reference model's architecture differs from the server's
  | 'CANCELLED'
  | 'TIMEOUT'
  | 'REPORT_INVALID' // report file missing fields or from an unknown format version
  | 'INTERNAL';

export class PpnnError extends Error {
  readonly code: ErrorCode;
  readonly details?: Record<string, unknown>;
  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'PpnnError';
    this.code = code;
    if (details !== undefined) this.details = details;
  }
  /** Plain-data form that crosses worker, socket and IPC boundaries. */
  toJSON(): { code: ErrorCode; message: string; details?: Record<string, unknown> } {
    return this.details
      ? { code: this.code, message: this.message, details: this.details }
      : { code: this.code, message: this.message };
  }
}

/** True when `e` is a PpnnError (also across realms, where instanceof fails). */
export function isPpnnError(e: unknown): e is PpnnError {
  return (
    e instanceof PpnnError ||
    (typeof e === 'object' &&
      e !== null &&
      (e as { name?: unknown }).name === 'PpnnError' &&
      typeof (e as { code?: unknown }).code === 'string')
  );
}

/** Rebuild a PpnnError from its plain-data form (see toJSON). Unknown shapes become INTERNAL. */
export function errorFromJSON(v: unknown): PpnnError {
  if (typeof v === 'object' && v !== null && typeof (v as { code?: unknown }).code === 'string') {
    const o = v as { code: ErrorCode; message?: unknown; details?: Record<string, unknown> };
    return new PpnnError(o.code, String(o.message ?? o.code), o.details);
  }
  return new PpnnError('INTERNAL', String(v));
}

/** Normalise anything thrown into a PpnnError (non-project errors become INTERNAL). */
export function toPpnnError(e: unknown): PpnnError {
  if (isPpnnError(e)) return e as PpnnError;
  if (e instanceof Error) return new PpnnError('INTERNAL', e.message);
  return new PpnnError('INTERNAL', String(e));
}
