/**
 * House style, checked from the code (STYLE.md, issue 10): no line of a tracked source file
 * under core/, electron/, renderer/, scripts/, test/ or bin/ is wider than 120 characters,
 * and no source file outside test/ is longer than 400 lines unless its first line gives the
 * reason, starting `// Long file:` (`<!-- Long file:` in Svelte).
 * Characters are counted as code points, not bytes or UTF-16 units, so "→" or "χ²" count
 * one each, as an editor shows them. The files are the ones git tracks, so a scratch file
 * left in a worktree does not fail the suite. The checkers are also run on synthetic texts
 * to show they find what they claim to.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const MAX_COLUMNS = 120;
const DIRS = ['core', 'electron', 'renderer', 'scripts', 'test', 'bin'];
const MAX_LINES = 400;
const REASON = /^(\/\/|<!--) Long file: \S/;

/** The tracked .ts/.js/.svelte files under `DIRS`, relative to the repository root. */
export function trackedSources(): string[] {
  const out = execFileSync('git', ['ls-files', '-z', '--', ...DIRS], { cwd: ROOT, encoding: 'utf8' });
  return out.split('\0').filter((f) => /\.(ts|js|svelte)$/.test(f));
}

/** "file:line (width)" for every line of `text` wider than `max` code points. */
export function longLines(file: string, text: string, max = MAX_COLUMNS): string[] {
  const found: string[] = [];
  text.split('\n').forEach((line, i) => {
    const width = [...line].length;
    if (width > max) found.push(`${file}:${i + 1} (${width})`);
  });
  return found;
}

/** "file (n lines)" when `text` is longer than `max` lines and its first line gives no reason. */
export function longFileWithoutReason(file: string, text: string, max = MAX_LINES): string | undefined {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop(); // a final newline ends the last line; it starts none
  if (lines.length <= max || REASON.test(lines[0] ?? '')) return undefined;
  return `${file} (${lines.length} lines)`;
}

describe('line length', () => {
  it('the checker counts code points: 120 arrows pass, 121 fail, and it names file and line', () => {
    const ok = '→'.repeat(120);
    expect(Buffer.byteLength(ok)).toBe(360); // 360 bytes, still 120 characters
    expect(longLines('a.ts', `x\n${ok}\n`)).toEqual([]);
    expect(longLines('a.ts', `x\n${ok}→\ny`)).toEqual(['a.ts:2 (121)']);
  });

  it(`no tracked source line is wider than ${MAX_COLUMNS} characters`, () => {
    const files = trackedSources();
    expect(files.length).toBeGreaterThan(100); // git answered and the walk found the project
    const long = files.flatMap((f) => longLines(f, readFileSync(join(ROOT, f), 'utf8')));
    expect(long, 'split these lines by hand so they read well').toEqual([]);
  });
});

describe('file length', () => {
  it('the checker passes 400 lines, fails 401, and accepts a reason only on the first line', () => {
    const body = (n: number): string => 'x;\n'.repeat(n);
    expect(longFileWithoutReason('a.ts', body(400))).toBeUndefined();
    expect(longFileWithoutReason('a.ts', body(401))).toBe('a.ts (401 lines)');
    expect(longFileWithoutReason('a.ts', '// Long file: one state machine.\n' + body(400))).toBeUndefined();
    expect(longFileWithoutReason('a.svelte', '<!-- Long file: one view. -->\n' + body(400))).toBeUndefined();
    expect(longFileWithoutReason('a.ts', 'x;\n// Long file: too late.\n' + body(400))).toBe('a.ts (402 lines)');
    expect(longFileWithoutReason('a.ts', '// Long file:\n' + body(400))).toBe('a.ts (401 lines)'); // empty reason
  });

  it(`no tracked source file outside test/ is longer than ${MAX_LINES} lines without a reason at its top`, () => {
    const files = trackedSources().filter((f) => !f.startsWith('test/'));
    expect(files.length).toBeGreaterThan(100);
    const long = files.flatMap((f) => longFileWithoutReason(f, readFileSync(join(ROOT, f), 'utf8')) ?? []);
    expect(long, 'split these at a clean seam, or start them with "// Long file: <why>"').toEqual([]);
  });
});
