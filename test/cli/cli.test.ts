/** The `ppnn` command as a user runs it: exit codes and coded errors for bad input. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { writeIdx } from '../../core/data/idx.ts';

const dir = mkdtempSync(join(tmpdir(), 'ppnn-cli-'));
function ppnn(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['bin/ppnn.js', ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const errorCode = (stdout: string): string | undefined =>
  (JSON.parse(stdout.trim().split('\n').pop()!) as { error?: { code: string } }).error?.code;

describe('ppnn CLI', () => {
  it('lists its commands', () => {
    const r = ppnn('--help');
    for (const c of ['eval', 'merge', 'info', 'infer', 'serve', 'bench', 'report', 'train'])
      expect(r.stdout).toContain(c);
  });

  it("--version prints package.json's version", () => {
    const r = ppnn('--version');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe((JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version);
  });

  it('an unknown option exits 2 and names the option meant', () => {
    const r = ppnn('eval', '--model', 'mnist', '--dataset', 'mnist', '--limt', '5');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/error \[ARGUMENT_INVALID\]: unknown option '--limt' \(did you mean --limit\?\)/);
  });

  it('an enumerated value is validated: eval --split trian names train|test', () => {
    const r = ppnn('eval', '--model', 'mnist', '--dataset', 'mnist', '--split', 'trian', '--json');
    expect(r.code).toBe(2);
    expect(errorCode(r.stdout)).toBe('ARGUMENT_INVALID');
    expect(r.stderr).toMatch(/--split must be one of test\|train/);
  });

  it("every command's --help lists each option with its default", async () => {
    const { main } = await import('../../core/cli/main.ts');
    for (const name of ['eval', 'merge', 'info', 'train', 'infer', 'serve', 'report', 'bench', 'app']) {
      const out: string[] = [];
      const code = await main([name, '--help'], { out: (t) => out.push(t), err: () => {}, isTTY: false });
      expect(code).toBe(0);
      const help = out.join(' ').replace(/\s+/g, ' ');
      const mod = (await import(`../../core/cli/commands/${name}.ts`)) as Record<
        string,
        { options: Record<string, { default?: unknown; defaultText?: string; type: string }> }
      >;
      const cmd = Object.values(mod).find((v) => typeof v === 'object' && v !== null && 'options' in v && 'run' in v)!;
      for (const [opt, spec] of Object.entries(cmd.options)) {
        expect(help, `${name} --${opt}`).toContain(`--${opt}`);
        const d = spec.defaultText ?? (Array.isArray(spec.default) ? spec.default.join(',') : spec.default);
        if (d !== undefined && spec.type !== 'boolean')
          expect(help, `${name} --${opt} default`).toContain(`default: ${String(d)}`);
      }
    }
    const infer: string[] = [];
    await main(['infer', '--help'], { out: (t) => infer.push(t), err: () => {}, isTTY: false });
    expect(infer.join(' ')).toMatch(/--input-bits K\s+statistical hiding bits of the client's input masks/);
    expect(infer.join(' ')).toMatch(/--share-bits K\s+statistical hiding bits of the server's share masks/);
  });

  it('a model trained on another dataset is run with a warning on stderr', () => {
    const r = ppnn('eval', '--model', 'fashion-mnist', '--dataset', 'mnist', '--limit', '20', '--json');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/warning: model 'fashion-mnist' was trained on fashion-mnist, not mnist/);
    expect(ppnn('eval', '--model', 'mnist', '--dataset', 'mnist', '--limit', '5').stderr).not.toMatch(/warning/);
  });

  it('info says which schemes can run the model and labels merged layers by their content', () => {
    const relu = JSON.parse(ppnn('info', '--model', 'mnist-relu', '--json').stdout) as {
      schemes: { id: string; ok: boolean; reason?: string }[];
    };
    const merged = relu.schemes.find((s) => s.id === 'merged')!;
    expect(merged.ok).toBe(false);
    expect(merged.reason).toMatch(/maxpool|relu/);
    const square = JSON.parse(ppnn('info', '--model', 'mnist', '--json').stdout) as {
      name: string;
      schemes: { ok: boolean }[];
      merged: { name: string; kind: string }[];
    };
    expect(square.name).toBe('mnist'); // the name you load it by, everywhere
    expect(square.schemes.every((s) => s.ok)).toBe(true);
    expect(square.merged[0]).toMatchObject({ name: 'conv2d1+avgpool1+bn1', kind: 'conv2d+avgpool+batchnorm' });
  });

  it('merge --json prints one object with layers before/after and the counts', () => {
    const r = ppnn('merge', '--model', 'mnist', '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as {
      before: { layers: unknown[]; counts: { linearMaps: number } };
      after: { layers: unknown[]; counts: { linearMaps: number } };
      decisions: unknown[];
    };
    expect(j.after.layers.length).toBeLessThan(j.before.layers.length);
    expect(j.after.counts.linearMaps).toBeLessThan(j.before.counts.linearMaps);
    expect(j.decisions.length).toBeGreaterThan(0);
  });

  it('eval on a few images prints accuracy as JSON', () => {
    const r = ppnn('eval', '--model', 'mnist', '--dataset', 'mnist', '--limit', '200', '--json');
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { accuracy: number }).accuracy).toBeGreaterThan(0.95);
  });

  const cases: [string, () => string[], string][] = [
    ['unknown model name', () => ['info', '--model', 'no-such-model', '--json'], 'MODEL_UNKNOWN'],
    [
      'malformed model JSON',
      () => {
        const f = join(dir, 'bad.json');
        writeFileSync(f, '{"format":"ppnn-model",');
        return ['info', '--model', f, '--json'];
      },
      'MODEL_INVALID',
    ],
    [
      'unknown dataset name',
      () => ['eval', '--model', 'mnist', '--dataset', 'cifar-1000', '--json'],
      'DATASET_UNKNOWN',
    ],
    [
      'IDX file with a wrong magic number',
      () => {
        const img = join(dir, 'bad-images.idx'),
          lab = join(dir, 'bad-labels.idx');
        writeFileSync(img, Uint8Array.from([9, 9, 8, 3, 0, 0, 0, 1, 0, 0, 0, 28, 0, 0, 0, 28]));
        writeFileSync(lab, writeIdx([1], new Uint8Array([1])));
        return ['eval', '--model', 'mnist', '--dataset', `${img}:${lab}`, '--json'];
      },
      'DATASET_INVALID',
    ],
    [
      'truncated IDX data',
      () => {
        const img = join(dir, 't-images.idx'),
          lab = join(dir, 't-labels.idx');
        writeFileSync(img, writeIdx([2, 28, 28], new Uint8Array(2 * 784)).subarray(0, 500));
        writeFileSync(lab, writeIdx([2], new Uint8Array([1, 2])));
        return ['eval', '--model', 'mnist', '--dataset', `${img}:${lab}`, '--json'];
      },
      'DATASET_INVALID',
    ],
    [
      'dataset whose images do not fit the model',
      () => {
        const img = join(dir, 's-images.idx'),
          lab = join(dir, 's-labels.idx');
        writeFileSync(img, writeIdx([2, 10, 10], new Uint8Array(200)));
        writeFileSync(lab, writeIdx([2], new Uint8Array([1, 2])));
        return ['eval', '--model', 'mnist', '--dataset', `${img}:${lab}`, '--json'];
      },
      'SHAPE_MISMATCH',
    ],
    [
      'a ReLU model in the secure online stage',
      () => ['infer', '--model', 'mnist-relu', '--dataset', 'mnist', '--limit', '1', '--json'],
      'MODEL_UNSUPPORTED_LAYER',
    ],
    [
      'bad scheme',
      () => ['infer', '--model', 'mnist', '--dataset', 'mnist', '--scheme', 'magic', '--json'],
      'ARGUMENT_INVALID',
    ],
    [
      'bad --limit',
      () => ['eval', '--model', 'mnist', '--dataset', 'mnist', '--limit', 'ten', '--json'],
      'ARGUMENT_INVALID',
    ],
  ];
  for (const [what, args, code] of cases) {
    it(`${what} → ${code}, non-zero exit`, () => {
      const r = ppnn(...args());
      expect(r.code).not.toBe(0);
      expect(errorCode(r.stdout)).toBe(code);
      expect(r.stderr).toContain(`error [${code}]`);
    });
  }
});
