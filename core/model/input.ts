/**
 * From a dataset image to a model's input: the shape check every run does first, and the
 * model's public input normalisation (core/data/datasets.ts normalizePixels).
 */
import type { Dataset } from '../data/datasets.ts';
import { imageToInput } from '../data/datasets.ts';
import { PpnnError } from '../errors.ts';
import type { Model } from './types.ts';
import { shapeSize } from './types.ts';

/** Throws SHAPE_MISMATCH when the dataset's images cannot feed the model. */
export function checkDatasetFits(model: Model, ds: Dataset): void {
  const want = shapeSize(model.inputShape);
  const have = shapeSize(ds.shape);
  if (want !== have) {
    throw new PpnnError(
      'SHAPE_MISMATCH',
      `dataset '${ds.name}' has images of shape [${ds.shape.join(',')}] but model '${model.name}' expects ` +
        `[${model.inputShape.join(',')}]`,
    );
  }
}

/** The model input for image `i` of `ds`, normalised as the model was trained. */
export function modelInput(model: Model, ds: Dataset, i: number): Float64Array {
  return imageToInput(ds, i, model.meta.inputNormalization);
}
