/**
 * Strict option parsing for `ppnn` commands on node:util `parseArgs` (strict mode): every
 * option must be in the command's table (core/cli/command.ts), a near miss gets a
 * "did you mean --limit?" suggestion, numbers are range-checked and enumerated values
 * validated — all as ARGUMENT_INVALID, which the dispatcher maps to exit code 2.
 */
import { parseArgs as nodeParseArgs, type ParseArgsConfig } from 'node:util';
import { PpnnError } from '../errors.ts';
import type { BooleanOption, Command, OptionSpec, OptionTable, ParsedArgs } from './command.ts';

/** Every command accepts --help / -h. */
export const HELP_OPTION: BooleanOption = { type: 'boolean', short: 'h', description: 'show this help and exit' };
/** The common `--json` option: one JSON object on stdout instead of text. */
export const JSON_OPTION: BooleanOption = {
  type: 'boolean',
  description: 'print one JSON object on stdout instead of text',
};

/** Levenshtein distance (insert, delete, substitute: cost 1 each). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}

/**
 * The candidate nearest to `word` (a prefix of it counts as near), or undefined when
 * none is within max(2, a third of the word's length) edits — far guesses mislead.
 */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  const prefixed = candidates.filter((c) => word.length >= 2 && c.startsWith(word));
  if (prefixed.length === 1) return prefixed[0];
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best;
}

const didYouMean = (s: string | undefined, prefix = ''): string =>
  s === undefined ? '' : ` (did you mean ${prefix}${s}?)`;

function invalid(message: string): PpnnError {
  return new PpnnError('ARGUMENT_INVALID', message);
}

function checkEnumerated(name: string, value: string, values: readonly string[] | undefined): void {
  if (values === undefined || values.includes(value)) return;
  throw invalid(`--${name} must be one of ${values.join('|')}, got '${value}'${didYouMean(suggest(value, values))}`);
}

function convert(name: string, spec: OptionSpec, raw: string | boolean): unknown {
  if (spec.type === 'boolean') return raw === true;
  const text = String(raw);
  if (spec.type === 'string') {
    checkEnumerated(name, text, spec.values);
    return text;
  }
  if (spec.type === 'list') {
    const items = text
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
    if (items.length === 0)
      throw invalid(`--${name} needs at least one value${spec.values ? ` of ${spec.values.join('|')}` : ''}`);
    for (const item of items) checkEnumerated(name, item, spec.values);
    return items;
  }
  const n = text.trim() === '' ? NaN : Number(text);
  const min = spec.min ?? -Infinity,
    max = spec.max ?? Infinity;
  const ok = spec.type === 'int' ? Number.isInteger(n) : Number.isFinite(n);
  if (!ok || n < min || n > max) {
    const range = `${Number.isFinite(min) ? `[${min}` : '(-∞'}, ${Number.isFinite(max) ? `${max}]` : '∞)'}`;
    throw invalid(`--${name} must be ${spec.type === 'int' ? 'an integer' : 'a number'} in ${range}, got '${text}'`);
  }
  return n;
}

/** node's parseArgs messages name the option; drop its "To specify a positional…" advice. */
function fromNodeError(e: unknown): PpnnError {
  const message = (e as Error).message.split('. To specify')[0]!.replace(/\s+$/, '');
  return invalid(message);
}

/**
 * Parse `argv` (the words after the command name) against `command`'s option table.
 * Returns typed values with defaults applied. Throws ARGUMENT_INVALID for an unknown
 * option (with a suggestion), a missing or malformed value, a value outside its range or
 * list, a missing required option, or a wrong number of positional arguments.
 */
export function parseCommandArgs<O extends OptionTable>(
  command: Pick<Command<O>, 'options' | 'positionals'>,
  argv: readonly string[],
): ParsedArgs<O> {
  const table: OptionTable = { help: HELP_OPTION, ...command.options };
  const names = Object.keys(table);
  const nodeOptions: NonNullable<ParseArgsConfig['options']> = {};
  for (const [name, spec] of Object.entries(table)) {
    nodeOptions[name] = {
      type: spec.type === 'boolean' ? 'boolean' : 'string',
      ...(spec.short ? { short: spec.short } : {}),
    };
  }
  // A lenient pass first, only to name unknown options with a suggestion: node's strict
  // error says "Unknown option" without one.
  const loose = nodeParseArgs({
    args: [...argv],
    options: nodeOptions,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  for (const t of loose.tokens ?? []) {
    if (t.kind !== 'option' || t.name in table) continue;
    throw invalid(`unknown option '${t.rawName}'${didYouMean(suggest(t.name, names), '--')}; see --help`);
  }
  let parsed: ReturnType<typeof nodeParseArgs>;
  try {
    parsed = nodeParseArgs({
      args: [...argv],
      options: nodeOptions,
      strict: true,
      allowPositionals: command.positionals !== undefined,
    });
  } catch (e) {
    throw fromNodeError(e);
  }
  const values: Record<string, unknown> = {};
  const given = new Set<string>();
  for (const [name, spec] of Object.entries(table)) {
    const raw = parsed.values[name];
    if (raw !== undefined) given.add(name);
    if (raw !== undefined) values[name] = convert(name, spec, raw as string | boolean);
    else if (spec.type === 'boolean') values[name] = false;
    else if (spec.type === 'list') values[name] = [...(spec.default ?? [])];
    else values[name] = spec.default;
  }
  const positionals = parsed.positionals;
  if (values.help !== true) {
    for (const [name, spec] of Object.entries(table)) {
      if (
        (spec.type === 'string' || spec.type === 'int' || spec.type === 'number') &&
        spec.required &&
        values[name] === undefined
      ) {
        throw invalid(`--${name} is required: ${spec.description}`);
      }
    }
    const p = command.positionals;
    if (p && (positionals.length < p.min || positionals.length > p.max)) {
      const want = p.min === p.max ? `${p.min}` : `${p.min} to ${p.max}`;
      throw invalid(`expected ${want} ${p.name} argument(s), got ${positionals.length}`);
    }
  }
  return { values: values as ParsedArgs<O>['values'], given, positionals };
}

function placeholder(name: string, spec: OptionSpec): string {
  if (spec.type === 'boolean') return '';
  if (spec.placeholder) return spec.placeholder;
  if ((spec.type === 'string' || spec.type === 'list') && spec.values && spec.values.length <= 6) {
    return spec.values.join(spec.type === 'list' ? ',' : '|');
  }
  return spec.type === 'int' || spec.type === 'number' ? 'N' : spec.type === 'list' ? 'A,B' : name.toUpperCase();
}

function defaultOf(spec: OptionSpec): string | undefined {
  if (spec.defaultText !== undefined) return spec.defaultText;
  if (spec.type === 'boolean') return undefined;
  if (spec.type === 'list') return spec.default && spec.default.length > 0 ? spec.default.join(',') : undefined;
  return spec.default === undefined ? undefined : String(spec.default);
}

const HELP_WIDTH = 100;

/** Greedy word wrap to lines of at most `width` characters (a longer word gets its own line). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

/** The text of `ppnn NAME --help`: synopsis, one line per option with its default, notes. */
export function formatHelp(command: Command): string {
  const table: OptionTable = { ...command.options, help: HELP_OPTION };
  const required = Object.entries(table).filter(([, s]) => 'required' in s && s.required);
  const synopsis = ['ppnn', command.name, ...required.map(([n, s]) => `--${n} ${placeholder(n, s)}`), '[options]'];
  if (command.positionals) synopsis.push(command.positionals.name);
  const rows = Object.entries(table).map(([name, spec]) => {
    const short = spec.short ? `-${spec.short}, ` : '';
    const value = spec.type === 'boolean' ? '' : ` ${placeholder(name, spec)}`;
    const left = `${short}--${name}${value}`;
    const notes: string[] = [];
    if ('required' in spec && spec.required) notes.push('required');
    const d = defaultOf(spec);
    if (d !== undefined) notes.push(`default: ${d}`);
    const listed = spec.type === 'string' || spec.type === 'list' ? spec.values : undefined;
    if (listed && (listed.length > 6 || spec.placeholder)) notes.push(`one of ${listed.join('|')}`);
    return { left, right: `${spec.description}${notes.length ? ` (${notes.join('; ')})` : ''}` };
  });
  const width = Math.min(30, Math.max(...rows.map((r) => r.left.length)) + 2);
  const indent = ' '.repeat(width + 2);
  const lines = [`${command.summary}`, '', `usage: ${synopsis.join(' ')}`];
  if (command.positionals) lines.push(`  ${command.positionals.name}: ${command.positionals.description}`);
  lines.push('', 'options:');
  for (const r of rows) {
    const text = wrap(r.right, HELP_WIDTH - width - 2).join(`\n${indent}`);
    lines.push(r.left.length + 2 > width ? `  ${r.left}\n${indent}${text}` : `  ${r.left.padEnd(width)}${text}`);
  }
  if (command.notes) lines.push('', command.notes);
  return lines.join('\n');
}
