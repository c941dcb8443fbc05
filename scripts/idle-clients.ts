/**
 * Idle-connection flood against a real `ppnn serve --model mnist`: N idle connections
 * (half bare TCP, half upgraded WebSockets that never say hello) held for --hold-s
 * seconds — each one the server cuts is reopened at once, as an attacker would — and a
 * real client session started after them must complete. Prints what happened; exits 1
 * when the real session fails.
 *
 *   node_modules/.bin/node scripts/idle-clients.ts --idle 300 --hold-s 60
 */
import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { parseCommandArgs } from '../core/cli/args.ts';
import { loadDataset } from '../core/data/datasets.ts';
import { modelInput } from '../core/model/input.ts';
import { loadModel } from '../core/model/load.ts';
import { cryptoMasks } from '../core/protocol/random.ts';
import { runClientSession } from '../core/schemes/index.ts';
import { wsConnect } from '../core/transport/websocket.ts';

const { values: o } = parseCommandArgs(
  {
    options: {
      idle: { type: 'int', default: 300, min: 1, description: 'idle connections' },
      'hold-s': { type: 'int', default: 60, min: 1, description: 'how long to hold them' },
      'start-after-s': { type: 'int', default: 5, min: 0, description: 'when the real client starts' },
    },
  },
  process.argv.slice(2),
);

const proc = spawn(
  process.execPath,
  ['bin/ppnn.js', 'serve', '--model', 'mnist', '--port', '0', '--log-level', 'warn'],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
const url = await new Promise<string>((resolve) => {
  let out = '';
  proc.stdout!.on('data', (d) => {
    out += String(d);
    const m = /listening (\S+)/.exec(out);
    if (m) resolve(m[1]!);
  });
});
const port = Number(new URL(url.replace(/^ws/, 'http')).port);
let cut = 0,
  opened = 0,
  holding = true;
const live = new Set<Socket>();
function idleConnection(upgrade: boolean): void {
  if (!holding) return;
  const s = connect(port, '127.0.0.1');
  opened++;
  live.add(s);
  s.on('error', () => {});
  s.once('connect', () => {
    if (upgrade)
      s.write(
        `GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ` +
          `dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
  });
  s.once('close', () => {
    live.delete(s);
    if (!holding) return;
    cut++;
    idleConnection(upgrade); // reopen at once: hold N at all times
  });
}
const t0 = performance.now();
for (let i = 0; i < o.idle; i++) idleConnection(i % 2 === 1);
await new Promise((r) => setTimeout(r, o['start-after-s'] * 1000));
const model = await loadModel('mnist');
const ds = await loadDataset('mnist', 'test');
const c0 = performance.now();
let result: string;
try {
  const t = await wsConnect(url);
  const r = await runClientSession(t, [modelInput(model, ds, 0)], { scheme: 'merged', random: cryptoMasks });
  t.close();
  result =
    `completed in ${((performance.now() - c0) / 1000).toFixed(1)} s (predicted ` +
    `${r.logits[0]!.indexOf(Math.max(...r.logits[0]!))}, label ${ds.labels[0]})`;
} catch (e) {
  result = `FAILED: ${(e as Error).message}`;
}
const rest = o['hold-s'] * 1000 - (performance.now() - t0);
if (rest > 0) await new Promise((r) => setTimeout(r, rest));
holding = false;
console.log(
  `${o.idle} idle connections held ${((performance.now() - t0) / 1000).toFixed(0)} s (${live.size} open at the end, ` +
    `${cut} cut by the server and reopened, ${opened} opened in all); ` +
    `real client started at ${o['start-after-s']} s: ${result}`,
);
for (const s of live) s.destroy();
proc.kill('SIGTERM');
process.exitCode = result.startsWith('FAILED') ? 1 : 0;
