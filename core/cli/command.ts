/**
 * Contract between `ppnn` subcommands and the dispatcher (core/cli/main.ts).
 * A command parses its own flags from `args` (already split into flags/positionals),
 * writes through `io`, and returns the process exit code. Errors thrown as PpnnError
 * are printed by the dispatcher as `error [CODE]: message` (or JSON with --json) and
 * mapped to a non-zero exit code, so commands need no try/catch of their own.
 */
export interface ParsedArgs {
  /** --name value / --name=value / --flag (true) */
  readonly flags: Readonly<Record<string, string | true>>;
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

export interface Command {
  readonly name: string;
  /** one line for `ppnn --help` */
  readonly summary: string;
  /** full usage text for `ppnn NAME --help` */
  readonly usage: string;
  run(args: ParsedArgs, io: CliIO): Promise<number>;
}
