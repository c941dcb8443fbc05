/**
 * Long fuzz run against a real `ppnn serve` child process: record one real session, then
 * replay it N times with one mutated frame (or the client killed part-way), several at a
 * time against the one server. Exits 1 if the server crashes, any session is silent (a
 * wait after its mutated frame got no message, coded error or close within --silence-ms
 * beyond what that step takes unmutated right now, see Baseline in test/server/fuzzer.ts),
 * any unmutated wait hangs past --hang-ms, idle RSS afterwards exceeds idle-after-warm-up
 * by more than 25 %, or a real session afterwards fails.
 *
 *   node_modules/.bin/node scripts/fuzz-serve.ts --sessions 2000 [--concurrency 3] [--max-seconds 600]
 *
 * Idle RSS is read once the server has settled (no session, RSS steady for 4 s, at most 60 s;
 * see settledRss), the same way after warm-up and after the run, next to a split of the
 * server's memory (V8 heap, external, smaps_rollup). Sessions answered INTERNAL (the server
 * had no proper code for a frame) are listed with their seed and mutation; `--pick REGEX`
 * runs only the seeds whose mutation's JSON matches (e.g. '"kind":"header"') to reproduce one.
 *
 * Cost: a session that gets past its hello takes a fresh session process (~0.5 s of CPU:
 * module loading) and, past `setup`, the key set-up and HE evaluation of the offline stage
 * (~1 s of CPU for the small test network, about the same for a smaller one: the cost is
 * the parameters, not the layers). Without --model the small test network
 * (test/server/helpers.ts) is served; --model mnist works too (slower).
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseCommandArgs } from '../core/cli/args.ts';
import { loadModel } from '../core/model/load.ts';
import { shapeSize } from '../core/model/types.ts';
import { randomInput } from '../test/helpers/random-model.ts';
import { modelFile, model as smallModel } from '../test/server/helpers.ts';
import {
  Baseline,
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
      concurrency: { type: 'int', default: 3, min: 1, max: 64, description: 'sessions at once' },
      seed: { type: 'int', default: 1, min: 0, description: 'first mutation seed' },
      'silence-ms': { type: 'int', default: 2000, min: 100, description: 'longest acceptable extra wait' },
      'hang-ms': { type: 'int', default: 60_000, min: 1000, description: 'longest wait on unmutated traffic' },
      pick: { type: 'string', description: 'only mutations whose JSON matches this regular expression' },
      'max-seconds': { type: 'int', default: 0, min: 0, description: 'stop starting sessions after this (0: none)' },
    },
  },
  process.argv.slice(2),
);

const uptime = () => execFileSync('uptime', { encoding: 'utf8' }).trim();
console.log(`load before: ${uptime()}`);
const modelArg = o.model ?? modelFile();
const model = o.model ? await loadModel(o.model) : smallModel;
const proc = spawn(
  process.execPath,
  ['bin/ppnn.js', 'serve', '--model', modelArg, '--port', '0', '--max-per-address', '64', '--log-level', 'error'],
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
/**
 * Where the server's memory is: its V8 heap and external memory (from its /metrics) and
 * /proc/PID/smaps_rollup (anonymous memory = glibc heaps, WebAssembly, V8; file-backed = code).
 */
async function memorySplit(): Promise<string> {
  const text = await fetch(httpUrl + '/metrics').then(
    (r) => r.text(),
    () => '',
  );
  const metric = (name: string) => Number(new RegExp(`^ppnn_process_${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  const mib = (b: number) => (b / 2 ** 20).toFixed(0);
  const rollup = readFileSync(`/proc/${proc.pid}/smaps_rollup`, 'utf8');
  const kib = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(rollup)?.[1] ?? NaN) * 1024;
  return (
    `heapUsed ${mib(metric('nodejs_heap_size_used_bytes'))}, ` +
    `heapTotal ${mib(metric('nodejs_heap_size_total_bytes'))}, ` +
    `external ${mib(metric('nodejs_external_memory_bytes'))} MiB; smaps: Rss ${mib(kib('Rss'))}, ` +
    `Anonymous ${mib(kib('Anonymous'))}, Private_Dirty ${mib(kib('Private_Dirty'))} MiB`
  );
}
const httpUrl = url.replace(/^ws/, 'http').replace(/\/$/, '');
const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));
/**
 * Idle RSS, measured the same way after warm-up and after the run: wait until the server
 * has no session running and RSS has moved less than 2 MiB over the last 4 s (its spare
 * session process warmed up, its idle collection done), at most 60 s; report the settled
 * figure and how long settling took. A fixed 3 s under load caught a spare still warming.
 */
async function settledRss(): Promise<{ mib: number; waitedS: number }> {
  const t = performance.now();
  const samples: number[] = [];
  for (;;) {
    await settle(500);
    const text = await fetch(httpUrl + '/metrics').then(
      (r) => r.text(),
      () => '',
    );
    const active = Number(/^ppnn_sessions_active (\S+)$/m.exec(text)?.[1] ?? 1);
    samples.push(await rssMiB(proc.pid!));
    const last = samples.slice(-9);
    const stable = active === 0 && last.length === 9 && Math.max(...last) - Math.min(...last) < 2;
    if (stable || performance.now() - t > 60_000)
      return { mib: samples.at(-1)!, waitedS: (performance.now() - t) / 1000 };
    if (active !== 0) samples.length = 0;
  }
}
const inputs = [randomInput(model, 1), randomInput(model, 2)].map((x) => x.subarray(0, shapeSize(model.inputShape)));
const rec = await recordSession(url, inputs);
// warm-up: the same load shape as the run (concurrent replays and a few mutated ones);
// the unmutated replays seed each step's unmutated time
const plain: ReplayOutcome[] = [];
for (let i = 0; i < 2; i++)
  plain.push(...(await Promise.all(Array.from({ length: o.concurrency }, () => replay(url, rec, { kind: 'none' })))));
if (plain.some((r) => r.end !== 'completed'))
  throw new Error(`an unmutated replay did not complete: ${JSON.stringify(plain.map((r) => r.end))}`);
const baseline = Baseline.from(plain);
const opts = { silenceMs: o['silence-ms'], hangMs: o['hang-ms'], baseline };
for (let i = 0; i < 4; i++) await replay(url, rec, randomMutation(rec, 1_000_000 + i), opts);
const idleSettled = await settledRss();
const idle = idleSettled.mib;
console.log(
  `recorded ${rec.events.length} events; idle RSS after warm-up ${idle.toFixed(0)} MiB ` +
    `(settled in ${idleSettled.waitedS.toFixed(1)} s); fuzzing ${o.sessions} ` +
    `sessions, ${o.concurrency} at a time`,
);
console.log(`memory after warm-up: ${await memorySplit()}`);

const pick = o.pick !== undefined ? new RegExp(o.pick) : undefined;
const tally = new Map<string, number>();
const bad: { seed: number; m: Mutation; r: ReplayOutcome }[] = [];
const internal: typeof bad = [];
let done = 0,
  maxAnswer = 0,
  maxExcess = 0,
  maxRss = idle;
const t0 = performance.now();
let nextSeed = o.seed;
const end = o.seed + o.sessions;
const overTime = () => o['max-seconds'] > 0 && performance.now() - t0 > o['max-seconds'] * 1000;
async function lane(): Promise<void> {
  while (nextSeed < end && exited === undefined && !overTime()) {
    const seed = nextSeed++;
    const m = randomMutation(rec, seed);
    if (pick && !pick.test(JSON.stringify(m))) continue;
    const r = await replay(url, rec, m, opts).catch(
      (e: Error) => ({ end: 'stalled', code: e.message, maxWaitMs: 0, answerMs: 0, excessMs: 0, waits: {} }) as const,
    );
    const key = r.code ? `${r.end}:${r.code}` : r.end;
    tally.set(key, (tally.get(key) ?? 0) + 1);
    maxAnswer = Math.max(maxAnswer, r.answerMs);
    maxExcess = Math.max(maxExcess, r.excessMs);
    if (r.end === 'silent' || r.end === 'stalled') bad.push({ seed, m, r });
    // INTERNAL means the server had no proper code for what it got: keep the frame to reproduce it
    if (r.code === 'INTERNAL') internal.push({ seed, m, r });
    if (++done % 100 === 0) {
      const rss = await rssMiB(proc.pid!);
      maxRss = Math.max(maxRss, rss);
      console.log(
        `${done}/${o.sessions} (${((performance.now() - t0) / 1000).toFixed(0)} s), silent/stalled ${bad.length}, ` +
          `RSS ${rss.toFixed(0)} MiB`,
      );
    }
  }
}
await Promise.all(Array.from({ length: o.concurrency }, lane));
const runS = (performance.now() - t0) / 1000;
const crashed = exited !== undefined;
const afterSettled = crashed ? { mib: NaN, waitedS: 0 } : await settledRss();
const after = afterSettled.mib;
if (!crashed) console.log(`memory after the run: ${await memorySplit()}`);
const check = crashed
  ? 'server gone'
  : await recordSession(url, inputs).then(
      () => 'ok',
      (e: Error) => e.message,
    );
const count = (end: string) => bad.filter((b) => b.r.end === end).length;
console.log(
  `outcomes: ${[...tally]
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')}`,
);
console.log(
  `sessions ${done} in ${runS.toFixed(0)} s (concurrency ${o.concurrency}), crashes ${crashed ? 1 : 0}, ` +
    `silent > ${o['silence-ms']} ms: ${count('silent')}, stalled > ${o['hang-ms']} ms: ${count('stalled')}`,
);
console.log(
  `max answer latency after the mutated frame ${maxAnswer.toFixed(0)} ms (at most ${maxExcess.toFixed(0)} ms ` +
    `beyond the step's unmutated time); RSS idle after warm-up ${idle.toFixed(0)} MiB, after ` +
    `${after.toFixed(0)} MiB (${((after / idle - 1) * 100).toFixed(1)} %, settled in ` +
    `${afterSettled.waitedS.toFixed(1)} s), peak seen ${maxRss.toFixed(0)} MiB; ` +
    `a real session afterwards: ${check}`,
);
console.log(`load after: ${uptime()}`);
for (const s of internal.slice(0, 10)) console.log('INTERNAL:', s.seed, JSON.stringify(s.m), s.r.message);
for (const s of bad.slice(0, 10)) console.log(`${s.r.end}:`, s.seed, JSON.stringify(s.m), JSON.stringify(s.r.waits));
proc.kill('SIGTERM');
process.exitCode = crashed || bad.length > 0 || !(after <= 1.25 * idle) || check !== 'ok' ? 1 : 0;
