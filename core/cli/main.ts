/**
 * `ppnn` dispatcher: picks the subcommand, runs it, and turns every thrown error into
 * one readable line (or one JSON object with --json) plus a non-zero exit code, so no
 * stack trace reaches a user for a mistake they made.
 */
import { isPpnnError, toPpnnError } from '../errors.ts';
import { parseArgs } from './args.ts';
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
};

/** Exit codes: 0 ok, 1 runtime failure, 2 bad usage / bad input. */
const USAGE_CODES = new Set(['ARGUMENT_INVALID', 'MODEL_UNKNOWN', 'DATASET_UNKNOWN', 'FILE_NOT_FOUND', 'MODEL_INVALID', 'DATASET_INVALID', 'SHAPE_MISMATCH', 'MODEL_UNSUPPORTED_OP', 'MODEL_UNSUPPORTED_LAYER', 'REPORT_INVALID']);

export function registerCommand(name: string, load: () => Promise<Command>): void {
  loaders[name] = load;
}

export async function main(argv: readonly string[], io: CliIO): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.out('ppnn — privacy-preserving neural-network inference (PPNN Studio)\n\nusage: ppnn <command> [options]\n\ncommands:');
    for (const [n, load] of Object.entries(loaders)) {
      const c = await load();
      io.out(`  ${n.padEnd(8)} ${c.summary}`);
    }
    io.out('\nppnn <command> --help for its options');
    return name ? 0 : 2;
  }
  const load = loaders[name];
  if (!load) {
    io.err(`error [ARGUMENT_INVALID]: unknown command '${name}' (try: ${Object.keys(loaders).join(', ')})`);
    return 2;
  }
  const args = parseArgs(rest);
  const cmd = await load();
  if (args.flags.help === true || args.flags.h === true) {
    io.out(`${cmd.summary}\n\nusage: ${cmd.usage}`);
    return 0;
  }
  try {
    return await cmd.run(args, io);
  } catch (e) {
    const err = toPpnnError(e);
    if (args.flags.json === true) io.out(JSON.stringify({ error: err.toJSON() }));
    io.err(`error [${err.code}]: ${err.message}`);
    if (!isPpnnError(e) && process.env.PPNN_DEBUG) io.err(String((e as Error).stack));
    return USAGE_CODES.has(err.code) ? 2 : 1;
  }
}
