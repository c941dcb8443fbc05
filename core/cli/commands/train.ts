/**
 * `ppnn train`: train one of the bundled architectures with TensorFlow.js (wasm backend)
 * and save it, unmerged, in the project's JSON format with the metadata the secure
 * protocol needs (input normalisation, float64 test accuracy, per-layer input bounds).
 */
import { defineCommand, type CliIO, type OptionTable, type ParsedArgs } from '../command.ts';
import { JSON_OPTION } from '../args.ts';
import { ProgressBar } from '../progress.ts';
import { PpnnError } from '../../errors.ts';
import { loadDataset } from '../../data/datasets.ts';
import { architecturePlan, ARCHITECTURES } from '../../train/architectures.ts';
import { exportModel } from '../../train/network.ts';
import { float64Accuracy, measureInputBounds, saveModel } from '../../train/finalize.ts';
import { loadTf } from '../../train/tf.ts';
import type { EpochReport, TrainOptions } from '../../train/trainer.ts';
import { recalibrateBatchNorms, train } from '../../train/trainer.ts';

export interface TrainRequest extends TrainOptions {
  arch: string;
  dataset: string;
  out: string;
  /** images used for the float64 accuracy and the input bounds (0 = whole splits) */
  measureLimit: number;
}

export interface TrainSummary {
  out: string;
  arch: string;
  dataset: string;
  trainedWith: string;
  epochs: EpochReport[];
  /** float64 forward of the saved JSON over the test split */
  accuracy: { value: number; images: number };
  inputBounds: number[];
  trainSeconds: number;
  secondsPerEpoch: number;
}

/** The canonical command line recorded in meta.trainedWith (defaults spelled out). */
export function trainCommandLine(r: TrainRequest): string {
  const parts = [
    'ppnn train',
    `--arch ${r.arch}`,
    `--dataset ${r.dataset}`,
    `--epochs ${r.epochs}`,
    `--batch ${r.batchSize}`,
    `--lr ${r.learningRate}`,
    `--wd ${r.weightDecay}`,
    `--seed ${r.seed}`,
  ];
  const plan = architecturePlan(r.arch);
  // augmentation flags only when they differ from the architecture's defaults
  if (r.augment.shift !== plan.augment.shift) parts.push(`--shift ${r.augment.shift}`);
  if (r.augment.flip !== plan.augment.flip) parts.push(`--flip ${r.augment.flip ? 'on' : 'off'}`);
  if (r.limit > 0) parts.push(`--limit ${r.limit}`);
  if (r.measureLimit > 0) parts.push(`--measure-limit ${r.measureLimit}`);
  parts.push(`--out ${r.out}`);
  return parts.join(' ');
}

/**
 * Train, save, re-read and measure. Returns the summary; the file at `r.out` holds the
 * model with meta.accuracy and meta.inputBounds filled in. Throws DATASET_* errors from
 * loading and ARGUMENT_INVALID for an unknown architecture.
 */
export async function runTraining(r: TrainRequest, io: Pick<CliIO, 'err' | 'isTTY'>): Promise<TrainSummary> {
  const plan = architecturePlan(r.arch);
  const [trainSet, testSet] = await Promise.all([loadDataset(r.dataset, 'train'), loadDataset(r.dataset, 'test')]);
  for (const ds of [trainSet, testSet]) {
    if (ds.shape[1] !== 28 || ds.shape[2] !== 28 || ds.labelNames.length !== 10) {
      throw new PpnnError(
        'SHAPE_MISMATCH',
        `--dataset ${r.dataset} (${ds.split}): the architectures take 28×28 images in 10 classes, got ` +
          `${ds.shape[1]}×${ds.shape[2]} in ${ds.labelNames.length}`,
      );
    }
  }
  const tf = await loadTf();
  const epochs: EpochReport[] = [];
  let bar: ProgressBar | undefined;
  const t0 = Date.now();
  const net = train(tf, plan, trainSet, testSet, r, {
    onBatch(done, total, loss) {
      if (done <= r.batchSize)
        bar = new ProgressBar(`epoch ${epochs.length + 1}/${r.epochs}`, total, { isTTY: io.isTTY });
      bar?.update(done, `loss ${loss.toFixed(4)}`);
    },
    onEpoch(e) {
      bar?.done();
      epochs.push(e);
      io.err(
        `epoch ${e.epoch}/${r.epochs}  loss ${e.loss.toFixed(4)}  train ${(100 * e.trainAccuracy).toFixed(2)}%  ` +
          `test ${(100 * e.testAccuracy).toFixed(2)}% (tfjs)  ${e.seconds.toFixed(1)}s`,
      );
    },
  });
  const trainSeconds = (Date.now() - t0) / 1000;
  recalibrateBatchNorms(tf, net, trainSet, plan.normalization, r.limit > 0 ? Math.min(r.limit, 20000) : 20000);
  const trainedWith = trainCommandLine(r);
  const meta = {
    dataset: r.dataset,
    labels: [...trainSet.labelNames],
    inputNormalization: plan.normalization,
    seed: r.seed,
    trainedWith,
    architecture: r.arch,
  };
  // save once, re-read, and measure on exactly what is on disk
  let model = await saveModel(exportModel(net, r.arch, meta), r.out);
  tf.dispose(net.variables);
  const progress = (label: string) => {
    let b: ProgressBar | undefined;
    return {
      done: () => b?.done(),
      cb: (done: number, total: number) => {
        b ??= new ProgressBar(label, total, { isTTY: io.isTTY });
        b.update(done);
      },
    };
  };
  const accBar = progress('float64 test accuracy');
  const accuracy = float64Accuracy(model, testSet, r.measureLimit, accBar.cb);
  accBar.done();
  const boundBar = progress('input bounds (train)');
  const inputBounds = measureInputBounds(model, trainSet, r.measureLimit, boundBar.cb);
  boundBar.done();
  model = {
    ...model,
    meta: {
      ...model.meta,
      accuracy: { value: accuracy.value, dataset: r.dataset, split: 'test', images: accuracy.images },
      inputBounds,
    },
  };
  await saveModel(model, r.out);
  io.err(`saved ${r.out}: float64 test accuracy ${(100 * accuracy.value).toFixed(2)}% on ${accuracy.images} images`);
  return {
    out: r.out,
    arch: r.arch,
    dataset: r.dataset,
    trainedWith,
    epochs,
    accuracy,
    inputBounds,
    trainSeconds,
    secondsPerEpoch: trainSeconds / Math.max(1, r.epochs),
  };
}

/** `ppnn train`'s options; defaults are the ones the bundled models were tuned with. */
export const TRAIN_OPTIONS = {
  arch: {
    type: 'string',
    required: true,
    placeholder: 'ARCH',
    values: Object.keys(ARCHITECTURES),
    description: 'architecture to train',
  },
  out: { type: 'string', required: true, placeholder: 'FILE', description: 'path of the model JSON to write' },
  dataset: {
    type: 'string',
    placeholder: 'NAME|PATH',
    defaultText: "the arch's dataset",
    description: 'mnist | fashion-mnist | IDX directory | IMAGES:LABELS',
  },
  epochs: {
    type: 'int',
    default: 20,
    min: 1,
    max: 1000,
    description: 'training epochs (the bundled square models use 30)',
  },
  batch: { type: 'int', default: 256, min: 1, max: 65536, description: 'mini-batch size' },
  lr: {
    type: 'number',
    default: 0.01,
    min: 1e-7,
    max: 1,
    placeholder: 'X',
    description: 'peak AdamW learning rate (warm-up + cosine decay)',
  },
  wd: {
    type: 'number',
    default: 5e-3,
    min: 0,
    max: 1,
    placeholder: 'X',
    description: 'decoupled weight decay on conv/dense weights',
  },
  seed: { type: 'int', default: 1, min: 0, max: 2 ** 31 - 1, description: 'init, shuffling and augmentation seed' },
  shift: {
    type: 'int',
    min: 0,
    max: 8,
    defaultText: "the arch's",
    description: 'augmentation: random shifts of ±N pixels',
  },
  flip: {
    type: 'string',
    values: ['on', 'off'],
    defaultText: "the arch's",
    description: 'augmentation: random horizontal flips',
  },
  limit: { type: 'int', default: 0, min: 0, description: 'train on the first N training images only (0: all)' },
  'measure-limit': {
    type: 'int',
    default: 0,
    min: 0,
    description: 'measure accuracy / input bounds on N images (0: whole splits)',
  },
  json: { ...JSON_OPTION, description: 'print a JSON summary on stdout' },
} as const satisfies OptionTable;

/** Read the request from the parsed options, filling the architecture's defaults. */
export function parseTrainRequest(args: ParsedArgs<typeof TRAIN_OPTIONS>): TrainRequest {
  const o = args.values;
  const plan = architecturePlan(o.arch);
  return {
    arch: o.arch,
    dataset: o.dataset ?? plan.dataset,
    out: o.out,
    epochs: o.epochs,
    batchSize: o.batch,
    learningRate: o.lr,
    weightDecay: o.wd,
    seed: o.seed,
    limit: o.limit,
    measureLimit: o['measure-limit'],
    augment: { shift: o.shift ?? plan.augment.shift, flip: o.flip === undefined ? plan.augment.flip : o.flip === 'on' },
    clipNorm: 5,
  };
}

export const trainCommand = defineCommand({
  name: 'train',
  summary: 'train a bundled architecture (tfjs wasm) and save it as a ppnn model JSON',
  options: TRAIN_OPTIONS,
  async run(args, io) {
    const summary = await runTraining(parseTrainRequest(args), io);
    if (args.values.json) io.out(JSON.stringify(summary));
    else
      io.out(
        `${summary.out}: ${(100 * summary.accuracy.value).toFixed(2)}% (${summary.accuracy.images} test images, ` +
          `float64 forward)`,
      );
    return 0;
  },
});
