/**
 * The app's "Check server" (bridge server:connect → wsProbe) against a real token + TLS server on
 * 127.0.0.1: the certificate is verified (pin / CA file), the token proved, no session started; a
 * wrong token is AUTH_FAILED and the token appears in no answer or server log line.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createBridgeHandlers } from '../../core/bridge/handlers.ts';
import { LogCapture, makeCerts, startServer, stopServers } from './helpers.ts';

afterAll(stopServers);

describe('server:connect (probe)', () => {
  it('pin or CA file + right token: authenticated, no session; wrong token: AUTH_FAILED', async () => {
    const certs = makeCerts();
    const token = 'a1'.repeat(20);
    const tokenFile = join(certs.dir, 'token');
    writeFileSync(tokenFile, `${token}\n`);
    const logs = new LogCapture();
    const s = await startServer({
      token: new TextEncoder().encode(token),
      tls: { cert: certs.cert, key: certs.key },
      logs,
    });
    const h = createBridgeHandlers(() => {}).handlers;
    const ok = await h['server:connect']({ url: s.url, token, pin: certs.pin });
    expect(ok).toMatchObject({ ok: true, value: { reachable: true, authenticated: true } });
    const viaFiles = await h['server:connect']({ url: s.url, tokenFile, caFile: certs.certFile });
    expect(viaFiles).toMatchObject({ ok: true, value: { authenticated: true } });
    const wrong = await h['server:connect']({ url: s.url, token: 'b2'.repeat(20), pin: certs.pin });
    expect(wrong).toMatchObject({ ok: false, error: { code: 'AUTH_FAILED' } });
    const none = await h['server:connect']({ url: s.url, pin: certs.pin });
    expect(none).toMatchObject({ ok: false, error: { code: 'AUTH_FAILED' } });
    const untrusted = await h['server:connect']({ url: s.url, token });
    expect(untrusted).toMatchObject({ ok: false, error: { code: 'AUTH_FAILED' } });
    const badPin = await h['server:connect']({ url: s.url, token, pin: 'sha256:12' });
    expect(badPin).toMatchObject({ ok: false, error: { code: 'ARGUMENT_INVALID' } });
    expect(JSON.stringify([wrong, none, untrusted, badPin])).not.toContain(token);
    expect(logs.text.match(/probe answered/g)).toHaveLength(2);
    expect(logs.text).not.toContain('session started');
    expect(logs.text).not.toContain(token);
  }, 60_000);
});
