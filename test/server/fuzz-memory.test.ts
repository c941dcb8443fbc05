/**
 * The bounded fuzzer in the suite, against a real `ppnn serve` child process: a recorded
 * session replayed with one mutated frame (or the client killed part-way) 30 times. No
 * crash, no session silent for more than 2 s beyond what the step takes unmutated, and
 * the server's idle RSS (VmRSS) back within 25 % of its idle figure after warm-up, normal,
 * killed and fuzzed sessions included. The long run is scripts/fuzz-serve.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forward } from '../../core/model/forward.ts';
import { randomInput, relErr } from '../helpers/random-model.ts';
import {
  Baseline,
  randomMutation,
  recordSession,
  replay,
  rssMiB,
  type Recording,
  type ReplayOutcome,
} from './fuzzer.ts';
import { model, modelFile } from './helpers.ts';

let proc: ChildProcess;
let url = '';
let stderr = '';
const inputs = [randomInput(model, 1), randomInput(model, 2)];
const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  proc = spawn(
    process.execPath,
    ['bin/ppnn.js', 'serve', '--model', modelFile(), '--port', '0', '--max-per-address', '32', '--log-level', 'warn'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  proc.stderr!.on('data', (d) => (stderr += String(d)));
  url = await new Promise<string>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d) => {
      out += String(d);
      const m = /listening (\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    proc.on('exit', (c) => reject(new Error(`ppnn serve exited ${c}: ${stderr}`)));
  });
});
afterAll(() => {
  proc?.kill('SIGTERM');
});

describe('fuzzed sessions against ppnn serve', () => {
  let rec: Recording;
  let baseline: Baseline;
  let idle = 0;

  it('records a real session (its logits match the plaintext network)', async () => {
    rec = await recordSession(url, inputs);
    rec.logits.forEach((y, i) => expect(relErr(y, forward(model, inputs[i]!))).toBeLessThan(5e-4));
    expect(rec.events.filter((e) => e.dir === 'send').length).toBeGreaterThan(5);
  });

  it('warm-up: unmutated replays complete; idle RSS measured', async () => {
    const plain: ReplayOutcome[] = [];
    for (let i = 0; i < 2; i++)
      plain.push(...(await Promise.all([replay(url, rec, { kind: 'none' }), replay(url, rec, { kind: 'none' })])));
    expect(plain.map((r) => r.end)).toEqual(['completed', 'completed', 'completed', 'completed']);
    baseline = Baseline.from(plain);
    for (let i = 0; i < 3; i++) await replay(url, rec, randomMutation(rec, 500 + i), { baseline });
    await settle(1500);
    idle = await rssMiB(proc.pid!);
    expect(idle).toBeGreaterThan(20);
  });

  it('30 fuzzed + 3 killed sessions: no crash, none silent, RSS back within 25 %', async () => {
    const outcomes: ReplayOutcome[] = [];
    const jobs = [
      ...Array.from({ length: 30 }, (_, i) => randomMutation(rec, 1 + i)),
      ...[3, 7, 11].map((at) => ({ kind: 'kill' as const, at })),
    ];
    for (let i = 0; i < jobs.length; i += 2) {
      outcomes.push(...(await Promise.all(jobs.slice(i, i + 2).map((m) => replay(url, rec, m, { baseline })))));
    }
    const silent = outcomes.filter((o) => o.end === 'silent' || o.end === 'stalled');
    expect(silent, JSON.stringify(silent)).toEqual([]);
    expect(outcomes.some((o) => o.end === 'error')).toBe(true);
    for (const o of outcomes.filter((x) => x.end === 'error')) expect(o.code).toMatch(/^[A-Z_]+$/);
    expect(proc.exitCode).toBeNull();
    await settle(2500);
    const after = await rssMiB(proc.pid!);
    expect(
      after,
      `idle RSS ${idle.toFixed(0)} MiB after warm-up, ${after.toFixed(0)} MiB after the fuzzed sessions`,
    ).toBeLessThanOrEqual(1.25 * idle);
    // and it still serves a real session correctly
    const again = await recordSession(url, inputs);
    again.logits.forEach((y, i) => expect(relErr(y, forward(model, inputs[i]!))).toBeLessThan(5e-4));
  }, 400_000); // 33 sessions: ~70 s on an idle machine, minutes under the shared machine's load
});
