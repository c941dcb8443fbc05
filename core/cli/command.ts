/**
 * Contract between `ppnn` subcommands and the dispatcher (core/cli/main.ts).
 * A command declares its options in one table (name → type, default, description,
 * allowed values); the dispatcher parses argv strictly against that table
 * (core/cli/args.ts, on node:util parseArgs), so a command receives typed values and
 * never sees an option it did not declare. Errors thrown as PpnnError are printed by the
 * dispatcher as `error [CODE]: message` (or JSON with --json) and mapped to a non-zero
 * exit code, so commands need no try/catch of their own.
 *
 * Adding an option is one line in the command's table, e.g.
 *   'max-images': { type: 'int', default: 100, min: 1, description: 'images per session' },
 */

interface OptionBase {
  /** what the option does, shown by `--help` */
  readonly description: string;
  /** the value's name in help (`--limit N`); defaults to a name derived from the type */
  readonly placeholder?: string;
  /** how `--help` states the default when it is not a constant (e.g. "the whole split") */
  readonly defaultText?: string;
  /** one-letter alias, e.g. 'h' for --help */
  readonly short?: string;
}

export interface StringOption extends OptionBase {
  readonly type: 'string';
  readonly default?: string;
  /** the only values accepted (checked, with a suggestion for a near miss) */
  readonly values?: readonly string[];
  readonly required?: boolean;
}
export interface NumberOption extends OptionBase {
  /** 'int' accepts integers only */
  readonly type: 'int' | 'number';
  readonly default?: number;
  readonly min?: number;
  readonly max?: number;
  readonly required?: boolean;
}
export interface BooleanOption extends OptionBase {
  readonly type: 'boolean';
}
/** A comma-separated list (`--schemes merged,unmerged`), each item checked against `values`. */
export interface ListOption extends OptionBase {
  readonly type: 'list';
  readonly default?: readonly string[];
  readonly values?: readonly string[];
}

export type OptionSpec = StringOption | NumberOption | BooleanOption | ListOption;
export type OptionTable = Readonly<Record<string, OptionSpec>>;

type ValueOf<S> = S extends { type: 'boolean' }
  ? boolean
  : S extends { type: 'int' | 'number' }
    ? number
    : S extends { type: 'list' }
      ? string[]
      : S extends { values: readonly (infer V)[] }
        ? V
        : string;
/** Always present: booleans (false), lists ([]), options with a default or marked required. */
type Present<S> = S extends { type: 'boolean' } | { type: 'list' } | { default: unknown } | { required: true }
  ? true
  : false;

/** Typed option values of a table: absent optional options are `undefined`. */
export type OptionValues<O extends OptionTable> = {
  readonly [K in keyof O]: Present<O[K]> extends true ? ValueOf<O[K]> : ValueOf<O[K]> | undefined;
};

export interface ParsedArgs<O extends OptionTable = OptionTable> {
  /** option values, defaults applied, numbers and lists converted and range-checked; `help` is always accepted */
  readonly values: OptionValues<O> & { readonly help: boolean };
  /** the options the user actually wrote (to tell "default" from "asked for") */
  readonly given: ReadonlySet<string>;
  readonly positionals: readonly string[];
}

export interface CliIO {
  /** machine output (JSON with --json, tables otherwise) */
  out(text: string): void;
  /** human diagnostics and progress; never parsed */
  err(text: string): void;
  /** true when stderr is a TTY: draw progress bars only then */
  readonly isTTY: boolean;
}

export interface Command<O extends OptionTable = OptionTable> {
  readonly name: string;
  /** one line for `ppnn --help` */
  readonly summary: string;
  /** the option table: the only options the command accepts */
  readonly options: O;
  /** positional arguments, when the command takes any: their name in help and how many */
  readonly positionals?: {
    readonly name: string;
    readonly description: string;
    readonly min: number;
    readonly max: number;
  };
  /** extra lines for `ppnn NAME --help`, after the options */
  readonly notes?: string;
  run(args: ParsedArgs<O>, io: CliIO): Promise<number>;
}

/** Identity that lets TypeScript infer the option table's literal type for `run`'s values. */
export function defineCommand<const O extends OptionTable>(command: Command<O>): Command<O> {
  return command;
}
