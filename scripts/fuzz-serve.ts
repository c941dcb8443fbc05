/**
 * Long fuzz run against a real `ppnn serve` child process: record one real session, then
 * replay it N times with one mutated frame (or the client killed part-way), a few at a
 * time. Exits 1 if the server crashes, any session is silent for more than --silence-ms
 * beyond what the same step takes unmodified (measured by unmutated replays at the start),
 * or idle RSS afterwards exceeds idle-after-warm-up by more than 25 %.
 *
 *   node_modules/.bin/node scripts/fuzz-serve.ts --sessions 2000 [--model mnist] [--concurrency 2]
 *
 * Without --model the small test network (test/server/helpers.ts) is served: fast, so
 * thousands of sessions fit in minutes. The bundled models work too (--model mnist).
 */
import { spawn } from 'node:child_process';
import { parseCommandArgs } from '../core/cli/args.ts';
import { loadModel } from '../core/model/load.ts';
import { shapeSize } from '../core/model/types.ts';
import { randomInput } from '../test/helpers/random-model.ts';
import { modelFile, model as smallModel } from '../test/server/helpers.ts';
import {
  baselineOf,
  randomMutation,
  recordSession,
  replay,
  rssMiB,
  type Mutation,
  type ReplayOutcome,
} from '../test/server/fuzzer.ts';

const { values: o } = parseCommandArgs(
  {
    options: {
      sessions: { type: 'int', default: 2000, min: 1, description: 'fuzzed sessions' },
      model: { type: 'string', description: 'model to serve (default: the small test network)' },
      concurrency: { type: 'int', default: 2, min: 1, max: 64, description: 'sessions at once' },
      seed: { type: 'int', default: 1, min: 0, description: 'first mutation seed' },
      'silence-ms': { type: 'int', default: 2000, min: 100, description: 'longest acceptable wait for the server' },
    },
  },
  process.argv.slice(2),
);

const modelArg = o.model ?? modelFile();
const model = o.model ? await loadModel(o.model) : smallModel;
const proc = spawn(
  process.execPath,
  ['bin/ppnn.js', 'serve', '--model', modelArg, '--port', '0', '--max-per-address', '64', '--log-level', 'warn'],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
let exited: number | null | undefined;
proc.on('exit', (c) => (exited = c));
const url = await new Promise<string>((resolve, reject) => {
  let out = '';
  proc.stdout!.on('data', (d) => {
    out += String(d);
    const m = /listening (\S+)/.exec(out);
    if (m) resolve(m[1]!);
  });
  proc.on('exit', (c) => reject(new Error(`ppnn serve exited ${c}`)));
});
const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));
const inputs = [randomInput(model, 1), randomInput(model, 2)].map((x) => x.subarray(0, shapeSize(model.inputShape)));
const rec = await recordSession(url, inputs);
// warm-up: the same load shape as the run (concurrent replays and a few mutated ones);
// the unmutated replays also measure how long each step's real work takes
const plain = [];
for (let i = 0; i < 2; i++)
  plain.push(
    ...(await Promise.all(Array.from({ length: o.concurrency }, () => replay(url, rec, { kind: 'none' }, 60_000)))),
  );
if (plain.some((r) => r.end !== 'completed'))
  throw new Error(`an unmutated replay did not complete: ${JSON.stringify(plain.map((r) => r.end))}`);
const baseline = baselineOf(plain);
for (let i = 0; i < 4; i++) await replay(url, rec, randomMutation(rec, 1_000_000 + i), o['silence-ms'], baseline);
await settle(1500);
const idle = await rssMiB(proc.pid!);
console.log(
  `step baseline (ms): ` +
    `${JSON.stringify(Object.fromEntries(Object.entries(baseline).map(([k, v]) => [k, Math.round(v)])))}`,
);
console.log(
  `recorded ${rec.events.length} events; idle RSS after warm-up ${idle.toFixed(0)} MiB; fuzzing ${o.sessions} sessions`,
);

const tally = new Map<string, number>();
const silent: { seed: number; m: Mutation; r: ReplayOutcome }[] = [];
let done = 0,
  maxWait = 0;
const t0 = performance.now();
let nextSeed = o.seed;
const end = o.seed + o.sessions;
async function lane(): Promise<void> {
  while (nextSeed < end && exited === undefined) {
    const seed = nextSeed++;
    const m = randomMutation(rec, seed);
    const r = await replay(url, rec, m, o['silence-ms'], baseline).catch(
      (e: Error) => ({ end: 'silent', code: e.message, maxWaitMs: 0, waits: {} }) as ReplayOutcome,
    );
    const key = r.code ? `${r.end}:${r.code}` : r.end;
    tally.set(key, (tally.get(key) ?? 0) + 1);
    maxWait = Math.max(maxWait, r.maxWaitMs);
    if (r.end === 'silent') silent.push({ seed, m, r });
    if (++done % 100 === 0)
      console.log(
        `${done}/${o.sessions} (${((performance.now() - t0) / 1000).toFixed(0)} s), silent ${silent.length}, RSS ` +
          `${(await rssMiB(proc.pid!)).toFixed(0)} MiB`,
      );
  }
}
await Promise.all(Array.from({ length: o.concurrency }, lane));
await settle(3000);
const crashed = exited !== undefined;
const after = crashed ? NaN : await rssMiB(proc.pid!);
const check = crashed
  ? undefined
  : await recordSession(url, inputs).then(
      () => 'ok',
      (e: Error) => e.message,
    );
console.log(
  `outcomes: ${[...tally]
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')}`,
);
console.log(
  `sessions ${done}, crashes ${crashed ? 1 : 0}, silent > ${o['silence-ms']} ms: ${silent.length}, longest wait ` +
    `${maxWait.toFixed(0)} ms, ` +
    (`RSS idle ${idle.toFixed(0)} → ${after.toFixed(0)} MiB (${((after / idle - 1) * 100).toFixed(1)} %), a real ` +
      `session afterwards: ${check}, `) +
    `${((performance.now() - t0) / 1000).toFixed(0)} s`,
);
for (const s of silent.slice(0, 10)) console.log('silent:', s.seed, JSON.stringify(s.m));
proc.kill('SIGTERM');
process.exitCode = crashed || silent.length > 0 || !(after <= 1.25 * idle) || check !== 'ok' ? 1 : 0;
