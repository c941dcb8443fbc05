import { PpnnError } from '../errors.ts';
import type { ParsedArgs } from './command.ts';

/** Split argv into --flags and positionals. `--a b`, `--a=b` and bare `--a` (true) are accepted. */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  const flags: Record<string, string | true> = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      if (eq > 0) flags[a.slice(2, eq)] = a.slice(eq + 1);
      else {
        const next = argv[i + 1];
        if (next !== undefined && !next.startsWith('--')) { flags[a.slice(2)] = next; i++; } else flags[a.slice(2)] = true;
      }
    } else positionals.push(a);
  }
  return { flags, positionals };
}

/** String flag value, `fallback` when absent. Throws ARGUMENT_INVALID when given without a value. */
export function stringFlag(args: ParsedArgs, name: string, fallback?: string): string | undefined {
  const v = args.flags[name];
  if (v === undefined) return fallback;
  if (v === true) throw new PpnnError('ARGUMENT_INVALID', `--${name} needs a value`);
  return v;
}

/** Required string flag. */
export function requireFlag(args: ParsedArgs, name: string, hint: string): string {
  const v = stringFlag(args, name);
  if (v === undefined) throw new PpnnError('ARGUMENT_INVALID', `--${name} is required (${hint})`);
  return v;
}

/** Integer flag within [min, max]. */
export function intFlag(args: ParsedArgs, name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const v = stringFlag(args, name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new PpnnError('ARGUMENT_INVALID', `--${name} must be an integer in [${min}, ${max}], got '${v}'`);
  return n;
}

/** Number flag within [min, max]. */
export function numberFlag(args: ParsedArgs, name: string, fallback: number, min = -Infinity, max = Infinity): number {
  const v = stringFlag(args, name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max) throw new PpnnError('ARGUMENT_INVALID', `--${name} must be a number in [${min}, ${max}], got '${v}'`);
  return n;
}

export function boolFlag(args: ParsedArgs, name: string): boolean {
  const v = args.flags[name];
  return v === true || v === 'true' || v === '1';
}
