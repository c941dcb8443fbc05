/**
 * Server side of token authentication (protocol in core/transport/auth.ts): where the
 * token comes from, and the gate every connection passes before its hello is read.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { PpnnError, toPpnnError } from '../errors.ts';
import {
  AUTH_CHALLENGE_TAG,
  AUTH_NONCE_BYTES,
  AUTH_RESPONSE_TAG,
  fromHex,
  toHex,
  verifyAuthProof,
} from '../transport/auth.ts';
import type { Message, Transport } from '../transport/transport.ts';

/** Environment variable holding the token when no file is given. */
export const TOKEN_ENV = 'PPNN_TOKEN';
const MIN_TOKEN_BYTES = 16;

/**
 * Read the shared token: the file's contents (surrounding whitespace trimmed) or, without
 * a file, $PPNN_TOKEN. Returns undefined when neither is set. Throws FILE_NOT_FOUND for a
 * missing file and ARGUMENT_INVALID for a token shorter than 16 bytes (guessable).
 */
export function loadToken(file: string | undefined, env: NodeJS.ProcessEnv = process.env): Uint8Array | undefined {
  let text: string | undefined;
  if (file !== undefined) {
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new PpnnError('FILE_NOT_FOUND', `cannot read the token file ${file}: ${(e as Error).message}`);
    }
  } else text = env[TOKEN_ENV];
  if (text === undefined) return undefined;
  const token = new TextEncoder().encode(text.trim());
  if (token.length < MIN_TOKEN_BYTES) {
    throw new PpnnError(
      'ARGUMENT_INVALID',
      `the token must be at least ${MIN_TOKEN_BYTES} bytes (e.g. openssl rand -hex 32 > token)`,
    );
  }
  return token;
}

/**
 * Greet a new connection with a fresh challenge and, when `token` is set, require the
 * right answer before the deadline. Resolves once the connection may go on; rejects with
 * AUTH_FAILED for a wrong, missing or late answer (the caller reports it and closes).
 */
export async function authenticate(t: Transport, token: Uint8Array | undefined, deadlineMs: number): Promise<void> {
  const nonce = new Uint8Array(randomBytes(AUTH_NONCE_BYTES));
  t.send({ tag: AUTH_CHALLENGE_TAG, header: { v: 1, nonce: toHex(nonce), required: token !== undefined }, blobs: [] });
  if (!token) return;
  let msg: Message;
  try {
    msg = await t.receive({ timeoutMs: deadlineMs });
  } catch (e) {
    const err = toPpnnError(e);
    if (err.code === 'TIMEOUT')
      throw new PpnnError('AUTH_FAILED', `no authentication within the ${deadlineMs} ms handshake deadline`);
    throw err;
  }
  if (msg.tag !== AUTH_RESPONSE_TAG)
    throw new PpnnError('AUTH_FAILED', 'this server requires a token (pass --token-file FILE or set PPNN_TOKEN)');
  const h = msg.header as { mac?: unknown } | null;
  const mac = fromHex(h?.mac);
  const onlyMac = typeof h === 'object' && h !== null && Object.keys(h).length === 1;
  if (!mac || !onlyMac || msg.blobs.length !== 0 || !verifyAuthProof(token, nonce, mac)) {
    throw new PpnnError('AUTH_FAILED', 'wrong token');
  }
}
