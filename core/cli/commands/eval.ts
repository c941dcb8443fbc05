import { loadDataset } from '../../data/datasets.ts';
import { loadModel } from '../../model/load.ts';
import { evaluatePlaintext } from '../../runtime/plaintext.ts';
import { boolFlag, intFlag, requireFlag, stringFlag } from '../args.ts';
import type { Command } from '../command.ts';
import { ProgressBar } from '../progress.ts';

export const evalCommand: Command = {
  name: 'eval',
  summary: 'plaintext accuracy of a model on a dataset split',
  usage: 'ppnn eval --model M --dataset D [--split test|train] [--limit N] [--json]\n  M: built-in name (mnist, fashion-mnist, …) or a .json/.onnx file; D: mnist, fashion-mnist or IDX files',
  async run(args, io) {
    const model = await loadModel(requireFlag(args, 'model', 'a built-in name or a model file'));
    const split = stringFlag(args, 'split', 'test') === 'train' ? 'train' : 'test';
    const ds = await loadDataset(requireFlag(args, 'dataset', 'mnist, fashion-mnist or IDX files'), split);
    const limit = intFlag(args, 'limit', ds.count, 1);
    const bar = new ProgressBar('eval', Math.min(limit, ds.count), io);
    const r = evaluatePlaintext(model, ds, { limit, onProgress: (d) => bar.update(d) });
    bar.done();
    if (boolFlag(args, 'json')) io.out(JSON.stringify(r));
    else io.out(`${r.model} on ${r.dataset}/${r.split}: accuracy ${(100 * r.accuracy).toFixed(2)} % (${r.correct}/${r.images}) in ${(r.ms / 1000).toFixed(1)} s`);
    return 0;
  },
};
