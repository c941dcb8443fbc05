/**
 * After training: measure what the secure protocol needs with the project's own float64
 * engine (core/model/forward.ts), not with tfjs. The accuracy written into a model's
 * meta is the float64 forward pass of the *saved* weights over the whole test split,
 * and `inputBounds[i]` is max |input of layer i| over the whole training split.
 */
import { writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Dataset } from '../data/datasets.ts';
import { imageToInput } from '../data/datasets.ts';
import { argmax, forward } from '../model/forward.ts';
import { modelToJSON, parseModel } from '../model/json.ts';
import type { Model } from '../model/types.ts';

/** Float64 top-1 accuracy of `model` on `ds` (all images unless `limit` > 0), with the model's input normalisation. */
export function float64Accuracy(
  model: Model,
  ds: Dataset,
  limit = 0,
  onProgress?: (done: number, total: number) => void,
): { value: number; images: number } {
  const norm = model.meta.inputNormalization ?? { mean: 0, std: 1 };
  const n = limit > 0 ? Math.min(limit, ds.count) : ds.count;
  let correct = 0;
  for (let i = 0; i < n; i++) {
    if (argmax(forward(model, imageToInput(ds, i, norm))) === ds.labels[i]) correct++;
    if (onProgress && (i % 500 === 499 || i === n - 1)) onProgress(i + 1, n);
  }
  return { value: correct / n, images: n };
}

/** Per-layer max |input| (index i = input of layer i) over `ds` (all images unless `limit` > 0), float64 forward. */
export function measureInputBounds(
  model: Model,
  ds: Dataset,
  limit = 0,
  onProgress?: (done: number, total: number) => void,
): number[] {
  const norm = model.meta.inputNormalization ?? { mean: 0, std: 1 };
  const n = limit > 0 ? Math.min(limit, ds.count) : ds.count;
  const bounds = new Array<number>(model.layers.length).fill(0);
  const maxAbs = (v: Float64Array): number => {
    let m = 0;
    for (let i = 0; i < v.length; i++) {
      const a = Math.abs(v[i]!);
      if (a > m) m = a;
    }
    return m;
  };
  for (let i = 0; i < n; i++) {
    const x = imageToInput(ds, i, norm);
    bounds[0] = Math.max(bounds[0]!, maxAbs(x));
    forward(model, x, (layer, out) => {
      if (layer + 1 < bounds.length) bounds[layer + 1] = Math.max(bounds[layer + 1]!, maxAbs(out));
    });
    if (onProgress && (i % 1000 === 999 || i === n - 1)) onProgress(i + 1, n);
  }
  return bounds;
}

/**
 * Write `model` (float32 tensors, what training produced) to `file`, read it back with
 * parseModel and return the parsed model, so later measurements use exactly the bytes on disk.
 */
export async function saveModel(model: Model, file: string): Promise<Model> {
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  const text = JSON.stringify(modelToJSON(model, 'float32'), null, 1) + '\n';
  await writeFile(file, text);
  return parseModel(text);
}
