/**
 * Progress as a user sees it without a terminal (CI, pipes): stage and layer lines on
 * stderr before the first image, and a bench interrupted with Ctrl-C (SIGINT) that keeps
 * the runs it finished in report.json and exits 130. Real secure runs (node-seal, worker
 * threads), a few images each.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseReport } from '../../core/report/read.ts';
import { StageLines } from '../../core/cli/progress.ts';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Spawn `ppnn ARGS` with pipes (stderr is not a TTY); `onErr` sees stderr as it comes. */
function ppnn(args: string[], onErr?: (sofar: string, kill: (signal: NodeJS.Signals) => void) => void) {
  const child = spawn(process.execPath, ['bin/ppnn.js', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '',
    stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    onErr?.(stderr, (s) => child.kill(s));
  });
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('progress without a terminal', () => {
  it('infer prints stage and per-layer preprocessing lines before the first image line', async () => {
    const r = await ppnn(['infer', '--model', 'mnist', '--dataset', 'mnist', '--limit', '2', '--seed', '1']);
    expect(r.code).toBe(0);
    const lines = r.stderr.split('\n');
    const firstImage = lines.findIndex((l) => /^image 1\/2: label \d, secure \d, plaintext \d$/.test(l));
    const firstLayer = lines.findIndex((l) => /^preprocessing layer 1\/\d+ \S+ \(2 images\)/.test(l));
    const preStart = lines.indexOf('stage preprocessing start');
    expect(firstImage).toBeGreaterThan(0);
    expect(preStart).toBeGreaterThanOrEqual(0);
    expect(firstLayer).toBeGreaterThan(preStart);
    expect(firstLayer).toBeLessThan(firstImage);
    // every linear layer reported, with an estimate of the time left
    const layerLines = lines.filter((l) => l.startsWith('preprocessing layer '));
    const total = Number(/^preprocessing layer 1\/(\d+)/.exec(layerLines[0]!)![1]);
    expect(layerLines.length).toBeGreaterThanOrEqual(total);
    expect(layerLines.some((l) => / eta \d/.test(l))).toBe(true);
    expect(lines.filter((l) => l.startsWith('image ')).length).toBe(2);
    expect(r.stdout).toMatch(/^merged · /); // the report on stdout, progress only on stderr
  }, 240_000);

  it('bench interrupted by SIGINT keeps what finished and exits 130', async () => {
    const out = mkdtempSync(join(tmpdir(), 'ppnn-bench-int-'));
    dirs.push(out);
    let killed = false;
    const r = await ppnn(
      ['bench', '--model', 'mnist', '--dataset', 'mnist', '--limit', '2', '--schemes', 'merged,unmerged', '--out', out],
      (err, kill) => {
        // once the first run is written and the second has started, press Ctrl-C
        if (!killed && /run 2\/2: unmerged \(repeat 1\/1\) started/.test(err)) {
          killed = true;
          kill('SIGINT');
        }
      },
    );
    expect(killed).toBe(true);
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/bench: run 1\/2: merged done in .*; report so far in/);
    expect(r.stderr).toMatch(/bench: interrupted; 1 finished run\(s\) kept in /);
    expect(r.stderr).not.toMatch(/unmerged done/);
    const report = parseReport(readFileSync(join(out, 'report.json'), 'utf8'));
    expect(report.schemes.map((s) => s.label)).toEqual(['merged · local · 2 images']);
    expect(report.baseline).toBe('merged · local · 2 images');
    expect(report.runs).toHaveLength(1);
    for (const f of ['report.csv', 'report.html']) expect(existsSync(join(out, f))).toBe(true);
  }, 240_000);
});

describe('StageLines', () => {
  it('one line per stage, layer and image event; nothing on a terminal', () => {
    const got: string[] = [];
    const lines = new StageLines({ err: (t) => got.push(t), isTTY: false });
    lines.event({ type: 'stage', stage: 'preprocessing', state: 'start' });
    lines.event({
      type: 'layer-progress',
      stage: 'preprocessing',
      layer: 'conv1+bn1',
      index: 0,
      total: 3,
      imagesInBatch: 4,
      etaMs: 2500,
    });
    lines.event({
      type: 'progress',
      stage: 'online',
      imagesDone: 0,
      imagesTotal: 4,
      bytesClientToServer: 0,
      bytesServerToClient: 0,
    });
    lines.event(
      {
        type: 'image',
        result: { index: 0, label: 7, secure: 7, plaintext: 7, maxLogitError: 0 },
        runningAccuracy: 1,
        runningAgreement: 1,
      },
      'merged',
    );
    expect(got).toEqual([
      'stage preprocessing start',
      'preprocessing layer 1/3 conv1+bn1 (4 images) eta 2.50 s',
      '[merged] image 1/4: label 7, secure 7, plaintext 7',
    ]);
    const tty: string[] = [];
    new StageLines({ err: (t) => tty.push(t), isTTY: true }).event({ type: 'stage', stage: 'online', state: 'start' });
    expect(tty).toEqual([]);
  });
});
