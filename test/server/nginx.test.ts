/**
 * Scale-out behind a real load balancer: Debian's nginx terminates TLS in front of two
 * `ppnn serve` replicas on 127.0.0.1 (WebSocket upgrade proxied, long read timeout), 32
 * client sessions × 5 mnist images through it. Every session succeeds, both replicas
 * served sessions (their /metrics say so), and every session's logits agree with a local
 * run with the same mask seed (CKKS noise aside: same predictions, |Δ| < 1e-3).
 *
 * nginx runs as root from a temporary prefix (daemon off, one worker, error_log in the
 * temp dir); the test is skipped where no nginx binary exists.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDataset } from '../../core/data/datasets.ts';
import { argmax } from '../../core/model/forward.ts';
import { modelInput } from '../../core/model/input.ts';
import { loadModel } from '../../core/model/load.ts';
import { seededMasks } from '../../core/protocol/random.ts';
import { runClientSession, serveSession } from '../../core/schemes/index.ts';
import { memoryPair } from '../../core/transport/memory.ts';
import { makeCerts } from './helpers.ts';

const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));
const CLIENT_THREADS = 4,
  SESSIONS = 32,
  IMAGES = 5,
  SEED = 20251201;
const procs: ChildProcess[] = [];
afterAll(() => {
  for (const p of procs) if (p.exitCode === null) p.kill('SIGTERM');
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function replica(tokenFile: string): Promise<{ url: string; port: number }> {
  const p = spawn(
    process.execPath,
    [
      'bin/ppnn.js',
      'serve',
      '--model',
      'mnist',
      '--port',
      '0',
      '--token-file',
      tokenFile,
      '--trust-proxy',
      '--max-per-address',
      '64',
      '--queue',
      '64',
      '--queue-timeout-ms',
      '600000',
      '--log-level',
      'warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  procs.push(p);
  let err = '';
  p.stderr!.on('data', (d) => (err += String(d)));
  return new Promise((resolve, reject) => {
    let out = '';
    p.stdout!.on('data', (d) => {
      out += String(d);
      const m = /listening ws:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m) resolve({ url: `ws://127.0.0.1:${m[1]}`, port: Number(m[1]) });
    });
    p.on('exit', (c) => reject(new Error(`replica exited ${c}: ${err}`)));
  });
}

function nginxConfig(dir: string, port: number, upstreams: number[], cert: string, key: string): string {
  return `user root;
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  upstream ppnn { ${upstreams.map((p) => `server 127.0.0.1:${p};`).join(' ')} }
  map $http_upgrade $connection_upgrade { default upgrade; '' close; }
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${cert};
    ssl_certificate_key ${key};
    location / {
      proxy_pass http://ppnn;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_read_timeout 600s;
      proxy_send_timeout 600s;
      proxy_buffering off;
      proxy_request_buffering off;
      client_max_body_size 0;
    }
  }
}
`;
}

async function sessionsServed(url: string): Promise<number> {
  const text = await (await fetch(url.replace(/^ws/, 'http') + '/metrics')).text();
  return Number(/^ppnn_sessions_total (\d+)/m.exec(text)?.[1] ?? NaN);
}

describe.skipIf(!NGINX)('nginx (TLS) in front of two ppnn serve replicas', () => {
  it(`${SESSIONS} sessions × ${IMAGES} images: 0 failures, both replicas used, logits as a local run`, async () => {
    const certs = makeCerts();
    const token = randomBytes(32).toString('hex');
    const tokenFile = join(certs.dir, 'token');
    writeFileSync(tokenFile, token);
    const [a, b] = await Promise.all([replica(tokenFile), replica(tokenFile)]);
    const dir = join(certs.dir, 'nginx');
    mkdirSync(dir);
    const port = await freePort();
    writeFileSync(join(dir, 'nginx.conf'), nginxConfig(dir, port, [a.port, b.port], certs.certFile, certs.keyFile));
    const check = spawnSync(NGINX!, ['-t', '-p', dir, '-c', join(dir, 'nginx.conf')], { encoding: 'utf8' });
    expect(check.status, check.stderr).toBe(0);
    const nginx = spawn(NGINX!, ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'ignore' });
    procs.push(nginx);
    const url = `wss://127.0.0.1:${port}`;
    await expect
      .poll(async () => fetch(`http://127.0.0.1:${a.port}/healthz`).then((r) => r.status), { timeout: 10_000 })
      .toBe(200);
    // nginx is up once its TLS port answers
    await expect
      .poll(
        () =>
          new Promise<boolean>((r) => {
            const s = createServer();
            s.once('error', () => r(true));
            s.listen(port, '127.0.0.1', () => s.close(() => r(false)));
          }),
        { timeout: 10_000 },
      )
      .toBe(true);

    const model = await loadModel('mnist');
    const ds = await loadDataset('mnist', 'test');
    const inputs = Array.from({ length: IMAGES }, (_, i) => modelInput(model, ds, i));
    // the local reference: the same images and mask seed, both roles in this process
    const [ct, st] = memoryPair();
    const [local] = await Promise.all([
      runClientSession(ct, inputs, { scheme: 'merged', random: seededMasks(SEED), batchSize: IMAGES }),
      serveSession(st, { model }),
    ]);

    const t0 = performance.now();
    const per = SESSIONS / CLIENT_THREADS;
    const results = (
      await Promise.all(
        Array.from(
          { length: CLIENT_THREADS },
          () =>
            new Promise<{ logits: number[][] | null; error?: string }[]>((resolve, reject) => {
              const w = new Worker(new URL('./lb-client-worker.ts', import.meta.url), {
                workerData: { url, ca: certs.cert, token, sessions: per, inputs, seed: SEED },
              });
              w.once('message', resolve);
              w.once('error', reject);
            }),
        ),
      )
    ).flat();
    const seconds = (performance.now() - t0) / 1000;
    const failures = results.filter((r) => !r.logits);
    expect(
      failures,
      `${failures.length} failed: ${failures.map((f) => f.error).join('; ')}; nginx: ` +
        `${readFileSync(join(dir, 'error.log'), 'utf8').slice(-500)}`,
    ).toEqual([]);
    expect(results).toHaveLength(SESSIONS);
    let maxDiff = 0;
    for (const r of results) {
      r.logits!.forEach((y, i) => {
        expect(argmax(y)).toBe(argmax(local.logits[i]!));
        for (let k = 0; k < y.length; k++) maxDiff = Math.max(maxDiff, Math.abs(y[k]! - local.logits[i]![k]!));
      });
    }
    expect(maxDiff).toBeLessThan(1e-3);
    const [na, nb] = await Promise.all([sessionsServed(a.url), sessionsServed(b.url)]);
    console.log(
      `nginx test: ${SESSIONS} sessions × ${IMAGES} images in ${seconds.toFixed(0)} s; replica A ${na}, B ${nb}; ` +
        `max |logit − local| ${maxDiff.toExponential(2)}`,
    );
    expect(na + nb).toBe(SESSIONS);
    expect(na).toBeGreaterThan(0);
    expect(nb).toBeGreaterThan(0);
  }, 900_000);
});
