/**
 * `ppnn calibrate`: measure per-layer activation bounds on a dataset split (the training
 * split by default: the test split stays unseen) and store them in the model as
 * `meta.inputBounds`, the field the protocol sizes its masks from (core/protocol/plan.ts).
 * Without them every layer falls back to a default bound of 64, far from most models'
 * real ranges, which wastes precision bits (docs/ONNX.md, "Calibration").
 */
import { writeFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { imageToInput, loadDataset, type Split } from '../../data/datasets.ts';
import { calibrateBounds, DEFAULT_BOUND_MARGIN, hasBounds, withBounds } from '../../model/bounds.ts';
import type { Model } from '../../model/types.ts';
import { DEFAULT_MASKS } from '../../protocol/plan.ts';
import { modelToJSON } from '../../model/json.ts';
import { loadModel } from '../../model/load.ts';
import { checkDatasetFits } from '../../model/input.ts';
import { JSON_OPTION } from '../args.ts';
import { defineCommand } from '../command.ts';
import { ProgressBar } from '../progress.ts';
import { DATASET_OPTION, MODEL_OPTION } from './options.ts';

/** Default output file: `foo.onnx` → `foo.calibrated.json` (a built-in name → `./NAME.calibrated.json`). */
export function calibratedPath(model: string): string {
  const ext = extname(model);
  return `${ext ? model.slice(0, -ext.length) : basename(model)}.calibrated.json`;
}

/**
 * The warning `infer` / `serve` print for a model without measured bounds, or undefined
 * when it has them. Names the command that fixes it.
 */
export function missingBoundsWarning(model: Model, modelArg: string, dataset = 'D'): string | undefined {
  if (hasBounds(model)) return undefined;
  return (
    `warning: model '${model.name}' carries no activation bounds (meta.inputBounds): every layer uses the default ` +
    (`bound ${DEFAULT_MASKS.defaultBound}, which costs precision (larger logit errors, lower agreement). Calibrate ` +
      `it once: `) +
    `ppnn calibrate --model ${modelArg} --dataset ${dataset} --out ${calibratedPath(modelArg)}`
  );
}

export const calibrateCommand = defineCommand({
  name: 'calibrate',
  summary: 'measure per-layer activation bounds on a dataset and store them in the model',
  options: {
    model: MODEL_OPTION,
    dataset: DATASET_OPTION,
    split: {
      type: 'string',
      values: ['train', 'test'],
      default: 'train',
      description: 'split measured (train keeps the test split unseen)',
    },
    limit: {
      type: 'int',
      min: 1,
      max: 10_000_000,
      default: 10_000,
      description: 'images measured (the first N of the split)',
    },
    margin: {
      type: 'number',
      min: 0,
      max: 100,
      default: DEFAULT_BOUND_MARGIN,
      description: 'stored bound = (1 + margin) · measured max |input| of each layer',
    },
    out: {
      type: 'string',
      placeholder: 'FILE',
      defaultText: 'MODEL.calibrated.json',
      description: 'model JSON written with the bounds',
    },
    json: JSON_OPTION,
  },
  async run({ values: o }, io) {
    const model = await loadModel(o.model);
    const split = o.split as Split;
    const ds = await loadDataset(o.dataset, split);
    checkDatasetFits(model, ds);
    const n = Math.min(o.limit, ds.count);
    const bar = new ProgressBar('calibrate', n, io);
    const t0 = performance.now();
    function* inputs(): Generator<Float64Array> {
      for (let i = 0; i < n; i++) yield imageToInput(ds, i, model.meta.inputNormalization);
    }
    const measured = calibrateBounds(model, inputs(), (d) => bar.update(d));
    bar.done();
    const calibrated = withBounds(model, measured, { dataset: ds.name, split, images: n, margin: o.margin });
    const out = o.out ?? calibratedPath(o.model);
    writeFileSync(out, JSON.stringify(modelToJSON(calibrated)) + '\n');
    const ms = performance.now() - t0;
    const bounds = calibrated.meta.inputBounds!;
    const result = {
      model: model.name,
      out,
      dataset: ds.name,
      split,
      images: n,
      margin: o.margin,
      ms,
      layers: model.layers.map((l, i) => ({ name: l.name, kind: l.kind, measured: measured[i]!, bound: bounds[i]! })),
    };
    if (o.json) {
      io.out(JSON.stringify(result));
      return 0;
    }
    io.out(
      `${model.name}: bounds of ${model.layers.length} layer inputs from ${n} ${ds.name}/${split} images, margin ` +
        `${o.margin}`,
    );
    for (const l of result.layers)
      io.out(
        `  ${l.name.padEnd(28)} ${l.kind.padEnd(10)} max |input| ${l.measured.toPrecision(4).padStart(10)} → bound ` +
          `${l.bound.toPrecision(4)}`,
      );
    io.out(`wrote ${out} (${(ms / 1000).toFixed(1)} s); run it with --model ${out}`);
    return 0;
  },
});
