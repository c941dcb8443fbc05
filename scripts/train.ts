/**
 * Stand-alone runner for `ppnn train` (same flags), for use before/without the CLI
 * dispatcher: ./node_modules/.bin/node scripts/train.ts --arch mnist-square --out assets/models/mnist.json
 */
import { parseCommandArgs } from '../core/cli/args.ts';
import { trainCommand } from '../core/cli/commands/train.ts';
import { isPpnnError } from '../core/errors.ts';

try {
  const code = await trainCommand.run(parseCommandArgs(trainCommand, process.argv.slice(2)), {
    out: (t) => process.stdout.write(t + '\n'),
    err: (t) => process.stderr.write(t + '\n'),
    isTTY: process.stderr.isTTY === true,
  });
  process.exitCode = code;
} catch (e) {
  process.stderr.write(
    isPpnnError(e) ? `error [${(e as { code: string }).code}]: ${(e as Error).message}\n` : `${(e as Error).stack}\n`,
  );
  process.exitCode = 1;
}
