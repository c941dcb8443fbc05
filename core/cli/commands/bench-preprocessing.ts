/**
 * `ppnn bench --stage preprocessing`: the CKKS preprocessing of every linear map of the
 * merged and of the unmerged network, with the fast and the reference convolution, using
 * the parameters the protocol itself would propose for that network.
 */
import { benchPreprocessing, formatPreprocessingBench, type PreprocessingBench } from '../../he/bench.ts';
import { loadModel } from '../../model/load.ts';
import { ckksServerProviders, type CkksProposal } from '../../protocol/ckks-provider.ts';
import { DEFAULT_MASKS, planServer, type ServerLinearStep } from '../../protocol/plan.ts';
import { interactiveScheme } from '../../schemes/index.ts';
import type { CliIO } from '../command.ts';

export interface PreprocessingBenchRun {
  network: 'merged' | 'unmerged';
  layout: 'fast' | 'reference';
  bench: PreprocessingBench;
}

/** Run the preprocessing bench with `ppnn bench --stage preprocessing`'s options; prints a table or JSON. */
export async function runPreprocessingBench(
  o: { model: string; images: number; workers: number; json: boolean },
  io: CliIO,
): Promise<number> {
  const model = await loadModel(o.model);
  const { images, workers } = o;
  const runs: PreprocessingBenchRun[] = [];
  for (const network of ['merged', 'unmerged'] as const) {
    const steps = planServer(interactiveScheme(network).network(model).model, DEFAULT_MASKS).filter(
      (s): s is ServerLinearStep => s.kind === 'linear',
    );
    const { params } = ckksServerProviders().propose(steps, DEFAULT_MASKS, network).params as CkksProposal;
    for (const layout of ['fast', 'reference'] as const) {
      io.err(`preprocessing bench: ${network} network, ${layout} layout, ${images} images…`);
      const bench = await benchPreprocessing(
        steps.map((s) => s.layer),
        {
          images,
          layout,
          workers,
          params,
          inputShapes: steps.map((s) => (s.layer.kind === 'conv2d' ? s.inShape : undefined)),
          product: steps.map((s) => s.next !== undefined),
        },
      );
      runs.push({ network, layout, bench });
    }
  }
  if (o.json) {
    io.out(JSON.stringify({ model: model.name, images, workers, runs }));
    return 0;
  }
  for (const r of runs) io.out(`\n== ${r.network} network ==\n${formatPreprocessingBench(r.bench)}`);
  io.out('\nsummary (per image):  network   layout      ms   KiB  rotations  ct×pt  measured/predicted');
  for (const r of runs) {
    const t = r.bench.total,
      n = r.bench.images;
    io.out(
      `                      ${r.network.padEnd(9)} ${r.layout.padEnd(9)} ${t.perImage.ms.toFixed(1).padStart(6)} ` +
        `${(t.perImage.bytes / 1024).toFixed(0).padStart(5)} ${(t.ops.rotations / n).toFixed(2).padStart(10)} ` +
        `${(t.ops.ctPtMul / n).toFixed(1).padStart(6)} ${t.ratioMeasuredToPredicted.toFixed(2).padStart(10)}`,
    );
  }
  return 0;
}
