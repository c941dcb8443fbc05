/** The strict option parser: unknown options, suggestions, ranges, enumerations, help text. */
import { describe, expect, it } from 'vitest';
import { editDistance, formatHelp, parseCommandArgs, suggest } from '../../core/cli/args.ts';
import { defineCommand, type Command } from '../../core/cli/command.ts';
import { isPpnnError } from '../../core/errors.ts';

const demo = defineCommand({
  name: 'demo',
  summary: 'a demo command',
  options: {
    model: { type: 'string', required: true, description: 'the model' },
    limit: { type: 'int', default: 100, min: 1, max: 1000, description: 'images' },
    split: { type: 'string', values: ['test', 'train'], default: 'test', description: 'split' },
    schemes: { type: 'list', values: ['merged', 'unmerged'], default: ['merged'], description: 'schemes' },
    rate: { type: 'number', min: 0, description: 'a rate' },
    json: { type: 'boolean', description: 'json' },
  },
  async run() {
    return 0;
  },
});

function argumentError(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (isPpnnError(e) && e.code === 'ARGUMENT_INVALID') return e.message;
    throw e;
  }
  throw new Error('expected an ARGUMENT_INVALID error');
}

describe('parseCommandArgs', () => {
  it('applies defaults and converts values', () => {
    const a = parseCommandArgs(demo, ['--model', 'm', '--rate=0.5', '--schemes', 'merged, unmerged']);
    expect(a.values).toEqual({
      help: false,
      model: 'm',
      limit: 100,
      split: 'test',
      schemes: ['merged', 'unmerged'],
      rate: 0.5,
      json: false,
    });
    expect([...a.given].sort()).toEqual(['model', 'rate', 'schemes']);
  });

  it('rejects an unknown option and suggests the nearest', () => {
    expect(argumentError(() => parseCommandArgs(demo, ['--model', 'm', '--limt', '5']))).toMatch(
      /unknown option '--limt' \(did you mean --limit\?\)/,
    );
    expect(argumentError(() => parseCommandArgs(demo, ['--modle', 'm']))).toMatch(/did you mean --model\?/);
    // nothing near: no misleading guess
    expect(argumentError(() => parseCommandArgs(demo, ['--model', 'm', '--zzzzzzzz']))).not.toMatch(/did you mean/);
  });

  it('validates enumerated values, naming the allowed ones', () => {
    expect(argumentError(() => parseCommandArgs(demo, ['--model', 'm', '--split', 'trian']))).toMatch(
      /--split must be one of test\|train, got 'trian' \(did you mean train\?\)/,
    );
    expect(argumentError(() => parseCommandArgs(demo, ['--model', 'm', '--schemes', 'merged,magic']))).toMatch(
      /--schemes must be one of merged\|unmerged/,
    );
  });

  it('checks integers and ranges', () => {
    for (const bad of ['ten', '0', '1001', '2.5', '']) {
      expect(argumentError(() => parseCommandArgs(demo, ['--model', 'm', `--limit=${bad}`]))).toMatch(
        /--limit must be an integer in \[1, 1000\]/,
      );
    }
    expect(argumentError(() => parseCommandArgs(demo, ['--model', 'm', '--rate', 'x']))).toMatch(
      /--rate must be a number/,
    );
  });

  it('requires required options, values for string options, no positionals unless declared', () => {
    expect(argumentError(() => parseCommandArgs(demo, []))).toMatch(/--model is required/);
    expect(argumentError(() => parseCommandArgs(demo, ['--model']))).toMatch(/--model/);
    expect(argumentError(() => parseCommandArgs(demo, ['--model', 'm', 'extra']))).toMatch(/extra/);
    expect(argumentError(() => parseCommandArgs(demo, ['--model', 'm', '--json=yes']))).toMatch(/--json/);
  });

  it('--help parses even without the required options', () => {
    expect(parseCommandArgs(demo, ['--help']).values.help).toBe(true);
    expect(parseCommandArgs(demo, ['-h']).values.help).toBe(true);
  });

  it('counts declared positionals', () => {
    const withPaths = { ...demo, positionals: { name: 'PATH', description: 'p', min: 1, max: 1 } };
    expect(parseCommandArgs(withPaths, ['--model', 'm', 'a']).positionals).toEqual(['a']);
    expect(argumentError(() => parseCommandArgs(withPaths, ['--model', 'm']))).toMatch(/expected 1 PATH/);
  });
});

describe('suggest / editDistance', () => {
  it('measures Levenshtein distance', () => {
    expect(editDistance('limt', 'limit')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
  });
  it('suggests near names and prefixes only', () => {
    expect(suggest('limt', ['model', 'limit', 'json'])).toBe('limit');
    expect(suggest('jsn', ['model', 'limit', 'json'])).toBe('json');
    expect(suggest('sche', ['scheme', 'server'])).toBe('scheme');
    expect(suggest('qqqq', ['model', 'limit'])).toBeUndefined();
  });
});

describe('formatHelp', () => {
  it('lists every option with its default', () => {
    const help = formatHelp(demo as unknown as Command);
    for (const line of [
      '--model',
      '--limit N',
      '(default: 100)',
      '--split test|train',
      '(default: test)',
      '-h, --help',
    ]) {
      expect(help).toContain(line);
    }
    expect(help).toMatch(/usage: ppnn demo --model MODEL \[options\]/);
  });
});
