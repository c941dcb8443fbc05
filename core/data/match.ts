/**
 * Is a dataset the one a model was trained on? A pure check (no I/O) that the CLI, the
 * bridge and the app all use, so a fashion-mnist model on MNIST is never a silent 8 %.
 */

/** The built-in dataset names a model's metadata can name. */
const KNOWN_DATASETS = new Set(['mnist', 'fashion-mnist']);

/**
 * A warning when the model's metadata names a dataset other than `datasetName` (both
 * built-in names): its accuracy there means nothing. Undefined when they agree or when
 * either side is not a known name (a file dataset, a model without metadata).
 */
export function datasetMismatch(
  modelName: string,
  modelDataset: string | undefined,
  datasetName: string,
): string | undefined {
  if (
    !modelDataset ||
    !KNOWN_DATASETS.has(modelDataset) ||
    !KNOWN_DATASETS.has(datasetName) ||
    modelDataset === datasetName
  )
    return undefined;
  return (
    `model '${modelName}' was trained on ${modelDataset}, not ${datasetName}: its accuracy on ${datasetName} ` +
    `is not meaningful`
  );
}
