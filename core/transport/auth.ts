/**
 * Token authentication of a connection, challenge–response (both sides live here so they
 * cannot drift apart; the server's gate is core/server/auth.ts).
 *
 *   client                                   server
 *                     ◀──────────────────── auth.challenge { v: 1, nonce (32 random bytes, hex), required }
 *   auth.response { mac } ───────────────▶  mac == HMAC-SHA256(token, nonce ‖ AUTH_CONTEXT)?  (constant time)
 *   hello …                                 otherwise: error AUTH_FAILED, close
 *
 * Why challenge–response rather than the token in a header: the token itself never
 * crosses the wire, so a log line, a proxy or a plain ws:// hop that sees the exchange
 * learns a MAC over a nonce it will never be asked again. The context string binds the
 * MAC to this protocol (a MAC made for something else does not verify here). Against an
 * active impostor the client relies on TLS server verification (--ca / --pin), not on
 * this exchange.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const AUTH_CHALLENGE_TAG = 'auth.challenge';
export const AUTH_RESPONSE_TAG = 'auth.response';
/** Domain separation: a MAC over the nonce alone, or for another protocol, does not verify. */
export const AUTH_CONTEXT = 'ppnn/1 auth v1';
export const AUTH_NONCE_BYTES = 32;
/**
 * Instead of a hello, an authenticated client may send a probe: the server answers probe.ok and closes,
 * so a "check server" button learns that the address, the certificate and the token are all right
 * without starting a session (no slot, no keys).
 */
export const PROBE_TAG = 'probe';
export const PROBE_OK_TAG = 'probe.ok';

/** HMAC-SHA256(token, nonce ‖ AUTH_CONTEXT). Throws TypeError for non-byte arguments. */
export function authProof(token: Uint8Array, nonce: Uint8Array): Uint8Array {
  if (!(token instanceof Uint8Array) || token.length === 0) throw new TypeError('token must be a non-empty Uint8Array');
  if (!(nonce instanceof Uint8Array)) throw new TypeError('nonce must be a Uint8Array');
  const mac = createHmac('sha256', token);
  mac.update(nonce);
  mac.update(AUTH_CONTEXT);
  return new Uint8Array(mac.digest());
}

/**
 * True when `mac` is the proof for (`token`, `nonce`). The comparison is constant-time
 * (crypto.timingSafeEqual) so response timing reveals nothing about how many leading
 * bytes were right; a MAC of the wrong length is rejected before comparing.
 */
export function verifyAuthProof(token: Uint8Array, nonce: Uint8Array, mac: Uint8Array): boolean {
  const expected = authProof(token, nonce);
  if (!(mac instanceof Uint8Array) || mac.length !== expected.length) return false;
  return timingSafeEqual(expected, mac);
}

/** Parse a lower-case or upper-case hex string; undefined when it is not hex of even length. */
export function fromHex(text: unknown): Uint8Array | undefined {
  if (typeof text !== 'string' || text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) return undefined;
  return new Uint8Array(Buffer.from(text, 'hex'));
}

/** Lower-case hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}
