import { resolve } from 'node:path';
import { PpnnError } from '../../errors.ts';
import type { SchemeId } from '../../report/types.ts';
import { writeReport } from '../../report/writers.ts';
import { runBench } from '../../runtime/bench.ts';
import { boolFlag, intFlag, requireFlag, stringFlag } from '../args.ts';
import type { Command } from '../command.ts';
import { ProgressBar } from '../progress.ts';
import { runPreprocessingBench } from './bench-preprocessing.ts';
import { formatBenchSummary } from './report.ts';

export const benchCommand: Command = {
  name: 'bench',
  summary: 'run schemes side by side on the same images and write report.json / .csv / .html',
  usage: [
    'ppnn bench --model M --dataset D [--limit N] [--schemes merged,unmerged,gazelle,cryptonets] [--repeat K] [--seed S] [--out DIR] [--json]',
    'ppnn bench --stage preprocessing --model M [--images N] [--workers K] [--json]',
    '  the first form alternates the schemes (order rotates each repeat) and reports ratios against merged;',
    '  the second measures the CKKS preprocessing per layer: merged vs unmerged network, fast vs reference convolution',
  ].join('\n'),
  async run(args, io) {
    const stage = stringFlag(args, 'stage');
    if (stage !== undefined) {
      if (stage !== 'preprocessing') throw new PpnnError('ARGUMENT_INVALID', `--stage supports 'preprocessing' only, got '${stage}'`);
      return runPreprocessingBench(args, io);
    }
    const schemes = (stringFlag(args, 'schemes', 'merged,unmerged,gazelle,cryptonets')!).split(',').map((s) => s.trim()).filter(Boolean) as SchemeId[];
    const limit = intFlag(args, 'limit', 100, 1, 100_000);
    const repeat = intFlag(args, 'repeat', 1, 1, 100);
    const seed = intFlag(args, 'seed', 1, 0, 2 ** 31);
    const out = stringFlag(args, 'out', 'reports/latest')!;
    const bar = new ProgressBar('bench', schemes.length * repeat * limit, io);
    let done = 0;
    const report = await runBench(
      { model: requireFlag(args, 'model', 'a built-in name or a model file'), dataset: requireFlag(args, 'dataset', 'mnist, fashion-mnist or IDX files'), limit, schemes, repeat, seed, command: `ppnn bench ${process.argv.slice(3).join(' ')}`.trim() },
      { onEvent: (scheme, k, ev) => { if (ev.type === 'image') bar.update(++done, `${scheme} #${k + 1}`); else if (ev.type === 'log') io.err(ev.message); } },
    );
    bar.done();
    const files = writeReport(resolve(out), report);
    if (boolFlag(args, 'json')) io.out(JSON.stringify({ files, report }));
    else io.out(`${formatBenchSummary(report)}\n\nwrote ${files.json}\n      ${files.csv}\n      ${files.html}`);
    return 0;
  },
};
