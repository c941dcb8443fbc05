import { loadDataset } from '../../data/datasets.ts';
import { datasetMismatch } from '../../data/match.ts';
import { loadModel } from '../../model/load.ts';
import { evaluatePlaintext } from '../../runtime/plaintext.ts';
import { JSON_OPTION } from '../args.ts';
import { defineCommand } from '../command.ts';
import { ProgressBar } from '../progress.ts';
import { DATASET_OPTION, MODEL_OPTION } from './options.ts';

export const evalCommand = defineCommand({
  name: 'eval',
  summary: 'plaintext accuracy of a model on a dataset split',
  options: {
    model: MODEL_OPTION,
    dataset: DATASET_OPTION,
    split: { type: 'string', values: ['test', 'train'], default: 'test', description: 'which split of the dataset' },
    limit: { type: 'int', min: 1, defaultText: 'the whole split', description: 'evaluate the first N images only' },
    json: JSON_OPTION,
  },
  async run({ values: o }, io) {
    const model = await loadModel(o.model);
    const ds = await loadDataset(o.dataset, o.split);
    const warning = datasetMismatch(model.name, model.meta.dataset, ds.name);
    if (warning) io.err(`warning: ${warning}`);
    const limit = o.limit ?? ds.count;
    const bar = new ProgressBar('eval', Math.min(limit, ds.count), io);
    const r = evaluatePlaintext(model, ds, { limit, onProgress: (d) => bar.update(d) });
    bar.done();
    if (o.json) io.out(JSON.stringify(r));
    else
      io.out(
        `${r.model} on ${r.dataset}/${r.split}: accuracy ${(100 * r.accuracy).toFixed(2)} % ` +
          `(${r.correct}/${r.images}) in ${(r.ms / 1000).toFixed(1)} s`,
      );
    return 0;
  },
});
