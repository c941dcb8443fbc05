import { resolve } from 'node:path';
import { PpnnError } from '../../errors.ts';
import { formatMs } from '../../report/format.ts';
import type { BenchReport, SchemeId } from '../../report/types.ts';
import { writeReport } from '../../report/writers.ts';
import { runBench } from '../../runtime/bench.ts';
import { JSON_OPTION } from '../args.ts';
import { defineCommand, type OptionTable } from '../command.ts';
import { ProgressBar, StageLines } from '../progress.ts';
import { runGcBenchCommand } from './bench-gc.ts';
import { runPreprocessingBench } from './bench-preprocessing.ts';
import {
  DATASET_OPTION,
  MODEL_OPTION,
  PREFETCH_OPTION,
  SCHEMES_OPTION,
  warnDatasetMismatch,
  WORKERS_OPTION,
} from './options.ts';
import { formatBenchSummary } from './report.ts';

/** `ppnn bench`'s options; `--images` and `--workers` belong to `--stage preprocessing`. */
export const BENCH_OPTIONS = {
  model: MODEL_OPTION,
  dataset: {
    ...DATASET_OPTION,
    required: false,
    description: `${DATASET_OPTION.description} (required without --stage)`,
  },
  limit: { type: 'int', default: 100, min: 1, max: 100_000, description: 'images per scheme and repeat' },
  schemes: {
    ...SCHEMES_OPTION,
    default: ['merged', 'unmerged', 'gazelle', 'cryptonets'],
    description: 'schemes to compare',
  },
  repeat: { type: 'int', default: 1, min: 1, max: 100, description: 'runs per scheme (order rotates each repeat)' },
  seed: { type: 'int', default: 1, min: 0, max: 2 ** 31, description: 'seed of the client masks of every run' },
  out: {
    type: 'string',
    default: 'reports/latest',
    placeholder: 'DIR',
    description: 'where report.json/.csv/.html go (rewritten after every run)',
  },
  baseline: {
    type: 'string',
    placeholder: 'LABEL',
    defaultText: 'the first merged run',
    description: "the run every ratio divides by: a scheme name or a run label ('unmerged · local · 20 images')",
  },
  stage: { type: 'string', values: ['preprocessing', 'gc'], description: 'bench one stage alone: preprocessing, gc' },
  images: {
    type: 'int',
    default: 16,
    min: 1,
    max: 4096,
    description: 'with --stage preprocessing: images per batch; with --stage gc: per layer (keep ≤ 4)',
  },
  workers: {
    ...WORKERS_OPTION,
    description: 'with --stage preprocessing: HE worker threads of the server (0 or 1: inline)',
  },
  prefetch: PREFETCH_OPTION,
  json: { ...JSON_OPTION, description: 'print the written file names and the report as JSON' },
} as const satisfies OptionTable;

export const benchCommand = defineCommand({
  name: 'bench',
  summary: 'run schemes side by side on the same images and write report.json / .csv / .html',
  options: BENCH_OPTIONS,
  notes: [
    'without --stage: alternates the schemes (order rotates each repeat) and reports ratios against merged;',
    'with --stage preprocessing: the CKKS preprocessing per layer, merged vs unmerged network, fast vs reference ' +
      'convolution;',
    'with --stage gc: garbling AND gates/s on one core, per ReLU and per activation layer of the ReLU models',
  ].join('\n'),
  async run(args, io) {
    const o = args.values;
    if (o.stage === 'preprocessing') return runPreprocessingBench(o, io);
    if (o.stage === 'gc') return runGcBenchCommand(o, io);
    if (o.dataset === undefined)
      throw new PpnnError('ARGUMENT_INVALID', `--dataset is required: ${DATASET_OPTION.description}`);
    const schemes = o.schemes as SchemeId[];
    await warnDatasetMismatch(io, o.model, o.dataset);
    const dir = resolve(o.out);
    const bar = new ProgressBar('bench', schemes.length * o.repeat * o.limit, io);
    const lines = new StageLines(io);
    let done = 0;
    let sofar: BenchReport | undefined;
    // Ctrl-C: stop the running scheme, keep (and say) what finished, exit 130 like any shell.
    const controller = new AbortController();
    const onSigint = (): void => controller.abort();
    process.once('SIGINT', onSigint);
    try {
      const report = await runBench(
        {
          model: o.model,
          dataset: o.dataset,
          limit: o.limit,
          schemes,
          repeat: o.repeat,
          seed: o.seed,
          ...(o.prefetch > 0 ? { prefetch: o.prefetch } : {}),
          command: `ppnn bench ${process.argv.slice(3).join(' ')}`.trim(),
          ...(o.baseline !== undefined ? { baseline: o.baseline } : {}),
        },
        {
          signal: controller.signal,
          onRunStart: (r) => {
            bar.pause();
            io.err(`bench: run ${r.index + 1}/${r.total}: ${r.scheme} (repeat ${r.repeat + 1}/${o.repeat}) started`);
          },
          onRunEnd: (r, report) => {
            sofar = report;
            writeReport(dir, report);
            bar.pause();
            io.err(
              `bench: run ${r.index + 1}/${r.total}: ${r.scheme} done in ${formatMs(r.wallMs)} (online ` +
                `${formatMs(r.report.perImage.onlineMs)}/image); report so far in ${dir}`,
            );
          },
          onEvent: (scheme, _k, ev) => {
            if (ev.type === 'image') bar.update(++done, scheme);
            else if (ev.type === 'log') io.err(ev.message);
            else lines.event(ev, scheme);
            if (ev.type === 'layer-progress')
              bar.update(done, `${scheme} preprocessing ${ev.layer} ${ev.index + 1}/${ev.total}`);
          },
        },
      );
      bar.done();
      const files = writeReport(dir, report);
      if (o.json) io.out(JSON.stringify({ files, report }));
      else io.out(`${formatBenchSummary(report)}\n\nwrote ${files.json}\n      ${files.csv}\n      ${files.html}`);
      return 0;
    } catch (e) {
      bar.done();
      if (!controller.signal.aborted) throw e;
      if (sofar)
        io.err(`bench: interrupted; ${sofar.runs.length} finished run(s) kept in ${dir}/report.json (.csv, .html)`);
      else io.err('bench: interrupted before any run finished; no report written');
      return 130;
    } finally {
      process.off('SIGINT', onSigint);
    }
  },
});
