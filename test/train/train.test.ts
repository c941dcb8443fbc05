import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runTraining } from '../../core/cli/commands/train.ts';
import { loadDataset } from '../../core/data/datasets.ts';
import { forward } from '../../core/model/forward.ts';
import { parseModel } from '../../core/model/json.ts';
import { architecturePlan } from '../../core/train/architectures.ts';
import { buildNetwork, exportModel, forwardBatch } from '../../core/train/network.ts';
import { loadTf } from '../../core/train/tf.ts';
import { fillBatch, train } from '../../core/train/trainer.ts';

const quiet = { err: () => undefined, isTTY: false };

describe('training (tiny net, 512 images, 1 epoch)', () => {
  it('loss goes down', async () => {
    const tf = await loadTf();
    const plan = architecturePlan('tiny');
    const [tr, te] = await Promise.all([loadDataset('mnist', 'train'), loadDataset('mnist', 'test')]);
    const losses: number[] = [];
    const net = train(
      tf,
      plan,
      tr,
      { ...te, count: 500 },
      {
        epochs: 1,
        batchSize: 32,
        learningRate: 0.01,
        weightDecay: 0,
        seed: 3,
        limit: 512,
        augment: plan.augment,
        clipNorm: 5,
      },
      {
        onBatch: (_d, _t, _running, batch) => losses.push(batch),
      },
    );
    expect(losses.length).toBe(16);
    const head = (losses[0]! + losses[1]!) / 2,
      tail = (losses[14]! + losses[15]!) / 2;
    expect(head).toBeGreaterThan(1.8); // ≈ ln 10 at init
    expect(tail).toBeLessThan(head * 0.7);
    tf.dispose(net.variables);
  }, 60_000);

  it('is reproducible: same seed, same weights', async () => {
    const tf = await loadTf();
    const plan = architecturePlan('tiny');
    const [tr, te] = await Promise.all([loadDataset('mnist', 'train'), loadDataset('mnist', 'test')]);
    const opts = {
      epochs: 1,
      batchSize: 64,
      learningRate: 0.01,
      weightDecay: 0.005,
      seed: 11,
      limit: 256,
      augment: { shift: 2, flip: true },
      clipNorm: 5,
    };
    const weights = (seed: number): number[] => {
      const net = train(tf, plan, tr, { ...te, count: 100 }, { ...opts, seed });
      const flat = net.variables.flatMap((v) => Array.from(v.dataSync()));
      tf.dispose(net.variables);
      return flat;
    };
    const a = weights(11),
      b = weights(11),
      c = weights(12);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  }, 60_000);

  it('writes a valid model JSON with measured meta', async () => {
    const out = path.join(mkdtempSync(path.join(tmpdir(), 'ppnn-train-')), 'tiny.json');
    const summary = await runTraining(
      {
        arch: 'tiny',
        dataset: 'mnist',
        out,
        epochs: 1,
        batchSize: 64,
        learningRate: 0.01,
        weightDecay: 0,
        seed: 1,
        limit: 512,
        measureLimit: 200,
        augment: { shift: 0, flip: false },
        clipNorm: 5,
      },
      quiet,
    );
    const model = parseModel(readFileSync(out, 'utf8'));
    expect(model.layers.map((l) => l.kind)).toEqual([
      'conv2d',
      'avgpool',
      'batchnorm',
      'square',
      'avgpool',
      'flatten',
      'dense',
    ]);
    expect(model.meta.trainedWith).toBe(
      `ppnn train --arch tiny --dataset mnist --epochs 1 --batch 64 --lr 0.01 --wd 0 --seed 1 --limit 512 ` +
        `--measure-limit 200 --out ${out}`,
    );
    expect(model.meta.accuracy).toEqual({
      value: summary.accuracy.value,
      dataset: 'mnist',
      split: 'test',
      images: 200,
    });
    expect(summary.accuracy.value).toBeGreaterThan(0.3); // far above chance after 8 steps
    expect(model.meta.inputBounds).toHaveLength(model.layers.length);
    expect(model.meta.inputBounds![0]).toBeCloseTo((1 - 0.1307) / 0.3081, 6);
    expect(model.meta.labels).toHaveLength(10);
  }, 60_000);
});

describe('exportModel', () => {
  it('float64 forward of the exported IR matches the tfjs network (incl. HWC→CHW flatten order)', async () => {
    const tf = await loadTf();
    const plan = architecturePlan('mnist-square');
    const net = buildNetwork(tf, plan, 7);
    for (const l of net.layers) {
      if (l.kind === 'batchnorm')
        for (let c = 0; c < l.channels; c++) {
          l.movingMean[c] = 0.1 * c - 0.2;
          l.movingVar[c] = 0.5 + 0.1 * c;
        }
    }
    const te = await loadDataset('mnist', 'test');
    const buf = new Float32Array(4 * 784);
    fillBatch(te, [0, 1, 2, 3], plan.normalization, buf);
    const tfLogits = tf.tidy(() => forwardBatch(tf, net, tf.tensor4d(buf, [4, 28, 28, 1]), 'infer').arraySync());
    const model = exportModel(net, 'check', { inputNormalization: plan.normalization });
    for (let n = 0; n < 4; n++) {
      const ours = forward(model, Float64Array.from(buf.subarray(n * 784, (n + 1) * 784)));
      for (let k = 0; k < 10; k++)
        expect(Math.abs(ours[k]! - tfLogits[n]![k]!)).toBeLessThan(1e-3 * (1 + Math.abs(tfLogits[n]![k]!)));
    }
    tf.dispose(net.variables);
  }, 30_000);
});
