import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { WebSocket } from 'ws';
import { startWebHost, type WebHost } from '../../core/bridge/web-host.ts';

let host: WebHost;
beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ppnn-webhost-'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>PPNN Studio</title>');
  writeFileSync(join(dir, 'app.js'), 'console.log(1)');
  host = await startWebHost({ port: 0, staticDir: dir, log: () => {} });
});
afterAll(() => host.close());

function connect(headers: Record<string, string> = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${host.port}/bridge`, { headers });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function call(
  ws: WebSocket,
  id: number,
  channel: string,
  payload: unknown,
): Promise<{ id: number; result: { ok: boolean; value?: unknown; error?: { code: string } } }> {
  return new Promise((resolve) => {
    const onMessage = (data: Buffer): void => {
      const msg = JSON.parse(String(data));
      if (msg.id === id) {
        ws.off('message', onMessage);
        resolve(msg);
      }
    };
    ws.on('message', onMessage);
    ws.send(JSON.stringify({ id, channel, payload }));
  });
}

describe('web host', () => {
  test('listens on 127.0.0.1 and serves the built renderer', async () => {
    expect(host.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const index = await fetch(host.url);
    expect(index.headers.get('content-type')).toMatch(/text\/html/);
    expect(await index.text()).toContain('PPNN Studio');
    expect((await fetch(new URL('app.js', host.url))).headers.get('content-type')).toMatch(/javascript/);
    // Paths outside the folder never leave it.
    expect(await (await fetch(new URL('/%2e%2e/%2e%2e/etc/passwd', host.url))).text()).not.toContain('root:');
  });

  test('answers the bridge contract over WebSocket', async () => {
    const ws = await connect();
    const list = await call(ws, 1, 'model:list', {});
    expect(list.result.ok).toBe(true);
    expect((list.result.value as { schemes: string[] }).schemes).toContain('merged');
    const unknown = await call(ws, 2, 'fs:read', { path: '/etc/passwd' });
    expect(unknown.result).toMatchObject({ ok: false, error: { code: 'ARGUMENT_INVALID' } });
    const bad = await call(ws, 3, 'report:import', { fileName: 'r.json', text: '[]' });
    expect(bad.result).toMatchObject({ ok: false, error: { code: 'REPORT_INVALID' } });
    ws.close();
  });

  test('refuses pages from other origins', async () => {
    const ws = await connect({ origin: 'http://evil.example' });
    const code = await new Promise<number>((resolve) => ws.once('close', (c) => resolve(c)));
    expect(code).toBe(1008);
  });

  test('fails clearly when no renderer is built', async () => {
    await expect(startWebHost({ staticDir: join(tmpdir(), 'no-such-renderer-dir') })).rejects.toMatchObject({
      code: 'FILE_NOT_FOUND',
    });
  });
});
