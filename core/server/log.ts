/**
 * Structured JSON logs (pino) of the server: one object per line with a session id and
 * the peer address, never a secret. The token is not a field of anything that is logged;
 * `redact` is a second line of defence should a future log call pass an options object.
 */
import { pino, type Logger } from 'pino';

/** Field paths removed from every log line whatever a caller passes. */
export const REDACTED_PATHS = [
  'token',
  '*.token',
  'mac',
  '*.mac',
  'key',
  '*.key',
  'tlsKey',
  '*.tlsKey',
  'authorization',
  '*.authorization',
];

/** A logger writing JSON lines to `fd` (default 2, stderr) synchronously, so lines survive an exit. */
export function createLogger(opts: { level?: string; fd?: number; destination?: NodeJS.WritableStream } = {}): Logger {
  const dest = opts.destination ?? pino.destination({ fd: opts.fd ?? 2, sync: true });
  return pino(
    {
      level: opts.level ?? 'info',
      base: { svc: 'ppnn-serve' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    },
    dest as pino.DestinationStream,
  );
}

export type { Logger };
