/**
 * `ppnn serve` and `ppnn infer` as an operator runs them (real processes, bundled mnist):
 * token + TLS, a client without the token exits 2 with AUTH_FAILED, one with it runs over
 * wss:// at agreement 1; the token is absent from the server's logs; SIGTERM lets a
 * running session finish, refuses new ones and exits 0.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeCerts, ppnn } from './helpers.ts';

const certs = makeCerts();
const token = randomBytes(32).toString('hex');
const tokenFile = join(certs.dir, 'token');
writeFileSync(tokenFile, token + '\n');
const procs: ChildProcess[] = [];
afterAll(() => {
  for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
});

/** `ppnn infer` of the bundled mnist model on `limit` test images, then `more` flags. */
function infer(limit: number, ...more: string[]): string[] {
  return ['infer', '--model', 'mnist', '--dataset', 'mnist', '--limit', String(limit), ...more];
}

function serve(args: string[]): Promise<{ proc: ChildProcess; url: string; log: () => string }> {
  const proc = spawn(process.execPath, ['bin/ppnn.js', 'serve', '--model', 'mnist', '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  procs.push(proc);
  let err = '';
  proc.stderr!.on('data', (d) => (err += String(d)));
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d) => {
      out += String(d);
      const m = /listening (wss?:\/\/\S+)/.exec(out);
      if (m) resolve({ proc, url: m[1]!, log: () => err });
    });
    proc.on('exit', (c) => reject(new Error(`ppnn serve exited ${c}: ${err}`)));
  });
}

describe('ppnn serve --token-file --tls-cert --tls-key', () => {
  it('no token: exit 2, error [AUTH_FAILED]; token over wss://: agreement 1; token not in the logs', async () => {
    const s = await serve(['--token-file', tokenFile, '--tls-cert', certs.certFile, '--tls-key', certs.keyFile]);
    expect(s.url).toMatch(/^wss:/);
    const start = JSON.parse(
      s
        .log()
        .split('\n')
        .find((l) => l.includes('per session'))!,
    ) as { perSessionMiB: number; maxSessions: number };
    expect(start.perSessionMiB).toBeGreaterThan(0);
    expect(start.maxSessions).toBeGreaterThan(0);
    const denied = await ppnn(infer(2, '--server', s.url, '--ca', certs.certFile));
    expect(denied.code).toBe(2);
    expect(denied.stderr).toContain('error [AUTH_FAILED]');
    const ok = await ppnn(infer(2, '--server', s.url, '--ca', certs.certFile, '--token-file', tokenFile, '--json'));
    expect(ok.code, ok.stderr).toBe(0);
    const report = JSON.parse(ok.stdout) as { agreement: number; images: number };
    expect(report).toMatchObject({ agreement: 1, images: 2 });
    expect(s.log()).toContain('session done');
    expect(s.log()).not.toContain(token);
    s.proc.kill('SIGTERM');
  });

  it('SIGTERM: the running session finishes, new connections are refused, exit 0', async () => {
    const s = await serve(['--drain-ms', '60000']);
    const running = ppnn(infer(3, '--server', s.url, '--json'));
    await expect.poll(() => s.log().includes('session started'), { timeout: 60_000, interval: 100 }).toBe(true);
    const exited = new Promise<number | null>((r) => s.proc.on('exit', r));
    s.proc.kill('SIGTERM');
    await expect.poll(() => s.log().includes('draining'), { timeout: 10_000, interval: 50 }).toBe(true);
    const late = await ppnn(infer(1, '--server', s.url));
    expect(late.code).not.toBe(0);
    const r = await running;
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ images: 3, agreement: 1 });
    expect(await exited).toBe(0);
  });
});
