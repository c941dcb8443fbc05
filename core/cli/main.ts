/**
 * `ppnn` dispatcher: picks the subcommand, parses its options strictly against the
 * command's table, runs it, and turns every thrown error into one readable line (or one
 * JSON object with --json) plus a non-zero exit code, so no stack trace reaches a user
 * for a mistake they made.
 */
import { readFileSync } from 'node:fs';
import { isPpnnError, PpnnError, toPpnnError } from '../errors.ts';
import { formatHelp, parseCommandArgs, suggest } from './args.ts';
import type { CliIO, Command } from './command.ts';
import { evalCommand } from './commands/eval.ts';
import { infoCommand } from './commands/info.ts';
import { mergeCommand } from './commands/merge.ts';

const loaders: Record<string, () => Promise<Command>> = {
  eval: async () => evalCommand,
  merge: async () => mergeCommand,
  info: async () => infoCommand,
  train: async () => (await import('./commands/train.ts')).trainCommand,
  infer: async () => (await import('./commands/infer.ts')).inferCommand,
  serve: async () => (await import('./commands/serve.ts')).serveCommand,
  report: async () => (await import('./commands/report.ts')).reportCommand,
  bench: async () => (await import('./commands/bench.ts')).benchCommand,
  app: async () => (await import('./commands/app.ts')).appCommand,
  calibrate: async () => (await import('./commands/calibrate.ts')).calibrateCommand,
  plan: async () => (await import('./commands/plan.ts')).planCommand,
};

/** Exit codes: 0 ok, 1 runtime failure, 2 bad usage / bad input. */
const USAGE_CODES = new Set([
  'ARGUMENT_INVALID',
  'MODEL_UNKNOWN',
  'DATASET_UNKNOWN',
  'FILE_NOT_FOUND',
  'MODEL_INVALID',
  'DATASET_INVALID',
  'SHAPE_MISMATCH',
  'MODEL_UNSUPPORTED_OP',
  'MODEL_UNSUPPORTED_LAYER',
  'REPORT_INVALID',
  'AUTH_FAILED',
  'ARCH_MISMATCH',
  'POLICY_REFUSED',
]);

/** Add (or replace) a subcommand; the loader runs only when the command is used or listed. */
export function registerCommand(name: string, load: () => Promise<Command>): void {
  loaders[name] = load;
}

/** The version in package.json (the one `ppnn --version` prints). */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}

function reportError(e: unknown, json: boolean, io: CliIO): number {
  const err = toPpnnError(e);
  if (json) io.out(JSON.stringify({ error: err.toJSON() }));
  io.err(`error [${err.code}]: ${err.message}`);
  if (!isPpnnError(e) && process.env.PPNN_DEBUG) io.err(String((e as Error).stack));
  return USAGE_CODES.has(err.code) ? 2 : 1;
}

/** Run `ppnn ARGV…` and return the exit code (0 ok, 1 runtime failure, 2 bad usage). */
export async function main(argv: readonly string[], io: CliIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-V' || name === 'version') {
    io.out(packageVersion());
    return 0;
  }
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.out(`ppnn ${packageVersion()} — privacy-preserving neural-network inference (PPNN Studio)\n`);
    io.out('usage: ppnn <command> [options]\n\ncommands:');
    for (const [n, load] of Object.entries(loaders)) {
      const c = await load();
      io.out(`  ${n.padEnd(8)} ${c.summary}`);
    }
    io.out('\nppnn <command> --help lists its options with their defaults; ppnn --version prints the version');
    return name ? 0 : 2;
  }
  // --json anywhere asks for a JSON error object too, even when the options do not parse
  const json = rest.includes('--json');
  const load = loaders[name];
  if (!load) {
    const near = suggest(name, Object.keys(loaders));
    const hint = near ? `did you mean '${near}'? ` : '';
    return reportError(
      new PpnnError(
        'ARGUMENT_INVALID',
        `unknown command '${name}' (${hint}commands: ${Object.keys(loaders).join(', ')})`,
      ),
      json,
      io,
    );
  }
  const cmd = await load();
  try {
    const args = parseCommandArgs(cmd, rest);
    if (args.values.help === true) {
      io.out(formatHelp(cmd));
      return 0;
    }
    return await cmd.run(args, io);
  } catch (e) {
    return reportError(e, json, io);
  }
}
