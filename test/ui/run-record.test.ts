import { describe, expect, test } from 'vitest';
import type { InferenceReport } from '../../core/report/types.ts';
import {
  accuracyChart,
  bytesChart,
  compareChart,
  levelChart,
  perImage,
  timeChart,
} from '../../renderer/src/lib/charts.ts';
import { applyEvent, finishRun, newRunRecord, runFraction } from '../../renderer/src/lib/run-record.ts';

const request = { model: 'mnist', dataset: 'mnist', limit: 4, scheme: 'merged' as const };

describe('run record and chart data', () => {
  test('live events build the level, bytes, time and accuracy series', () => {
    const run = newRunRecord('s1', request);
    applyEvent(run, { type: 'stage', stage: 'merging', state: 'end', wallMs: 3 });
    applyEvent(run, { type: 'layer', stage: 'preprocessing', layer: 'conv1', index: 0, total: 2, levels: [3, 2, 2] });
    applyEvent(run, { type: 'layer', stage: 'preprocessing', layer: 'dense1', index: 1, total: 2, levels: [1] });
    applyEvent(run, {
      type: 'progress',
      stage: 'preprocessing',
      imagesDone: 4,
      imagesTotal: 4,
      bytesClientToServer: 2048,
      bytesServerToClient: 4096,
    });
    expect(runFraction(run)).toBeCloseTo(0.5);
    applyEvent(run, {
      type: 'image',
      result: { index: 0, label: 1, secure: 1, plaintext: 1, maxLogitError: 0 },
      runningAccuracy: 1,
      runningAgreement: 1,
    });
    applyEvent(run, {
      type: 'progress',
      stage: 'online',
      imagesDone: 1,
      imagesTotal: 4,
      bytesClientToServer: 512,
      bytesServerToClient: 1024,
    });
    expect(runFraction(run)).toBeCloseTo(5 / 8);
    // levels used (entry − left) stacked on the levels left; the budget line once known
    expect(levelChart(run)).toMatchObject({
      labels: ['conv1', 'dense1'],
      datasets: [{ data: [1, 0] }, { data: [2, 1] }],
    });
    expect(levelChart(run, 3).datasets[2]).toMatchObject({
      type: 'line',
      data: [3, 3],
      label: 'budget: 3 rescalings per fresh ciphertext',
    });
    const b = bytesChart(run);
    expect(b.unit).toBe('KiB');
    expect(b.data.datasets.map((d) => d.data)).toEqual([
      [0, 2, 0.5],
      [0, 4, 1],
    ]);
    // on a log axis a zero is a gap, not a bar
    expect(bytesChart(run, true).data.datasets[0]!.data).toEqual([null, 2, 0.5]);
    expect(timeChart(run).data.datasets[0]!.data).toEqual([3, 0, 0]);
    expect(timeChart(run).unit).toBe('ms');
    expect(accuracyChart(run).datasets.map((d) => d.data)).toEqual([[100], [100]]);
  });

  test('the final report replaces live figures with exact ones', () => {
    const run = newRunRecord('s1', request);
    applyEvent(run, { type: 'layer', stage: 'preprocessing', layer: 'conv1', index: 0, total: 1, levels: [5] });
    const stage = (ms: number) => ({
      wallMs: ms,
      clientMs: ms / 2,
      serverMs: ms / 2,
      bytesClientToServer: ms * 10,
      bytesServerToClient: ms * 20,
      messages: 1,
      rounds: 1,
    });
    const report: InferenceReport = {
      formatVersion: 1,
      scheme: 'merged',
      model: 'm',
      dataset: 'mnist',
      images: 4,
      accuracy: 0.75,
      plaintextAccuracy: 0.75,
      agreement: 1,
      maxLogitError: 1e-5,
      stages: {
        merging: stage(1),
        preprocessing: {
          ...stage(100),
          levels: [{ layer: 'conv1', levelsUsed: 1, levels: [4, 3], ciphertexts: 2, bytes: 10 }],
        },
        online: stage(10),
      },
      perImage: { onlineMs: 2.5, onlineBytes: 75, preprocessingMs: 25, preprocessingBytes: 750 },
      seed: 1,
    };
    finishRun(run, report);
    expect(run.status).toBe('done');
    expect(runFraction(run)).toBe(1);
    expect(run.layerLevels).toEqual([{ layer: 'conv1', entry: 4, left: 3 }]);
    expect(timeChart(run).data.datasets.map((d) => d.label)).toEqual(['wall clock', 'client', 'server']);
    expect(timeChart(run).data.datasets[2]!.data).toEqual([0.5, 50, 5]);
    // key setup, once the report has it, is its own bar; large values change unit
    finishRun(run, { ...report, stages: { ...report.stages, setup: stage(20_000) } });
    const t = timeChart(run);
    expect(t.data.labels).toEqual(['merging', 'key setup', 'preprocessing', 'online']);
    expect(t.unit).toBe('s');
    expect(t.data.datasets[0]!.data).toEqual([0.001, 20, 0.1, 0.01]);
    expect(bytesChart(run).unit).toBe('KiB');
  });

  test('compare charts: one unit per chart, spread over repeats beside the median', () => {
    const stage = {
      wallMs: 1,
      clientMs: 1,
      serverMs: 0,
      bytesClientToServer: 0,
      bytesServerToClient: 0,
      messages: 0,
      rounds: 1,
    };
    const base: InferenceReport = {
      formatVersion: 1,
      scheme: 'merged',
      model: 'm',
      dataset: 'mnist',
      images: 10,
      accuracy: 1,
      plaintextAccuracy: 1,
      agreement: 1,
      maxLogitError: 0,
      stages: { merging: stage, preprocessing: stage, online: stage },
      perImage: { onlineMs: 8, onlineBytes: 3 * 2 ** 20, preprocessingMs: 900, preprocessingBytes: 9 * 2 ** 20 },
      seed: 1,
    };
    const repeated = {
      ...base,
      scheme: 'unmerged',
      label: 'u',
      repeats: {
        runs: 3,
        onlineMs: { min: 12, median: 15, max: 30 },
        preprocessingMs: { min: 1, median: 2, max: 3 },
        totalMs: { min: 1, median: 2, max: 3 },
      },
    };
    const time = compareChart([base, repeated], 'online', (r) => perImage(r).onlineMs, {
      kind: 'time',
      spread: (r) => r.repeats?.onlineMs,
    });
    expect(time.unit).toBe('ms');
    expect(time.data.datasets[0]!.data).toEqual([8, 15]); // the median over repeats
    expect(time.data.datasets[1]!.data).toEqual([null, [12, 30]]);
    const bytes = compareChart([base, repeated], 'bytes', (r) => r.perImage.onlineBytes, { kind: 'bytes' });
    expect(bytes.unit).toBe('MiB');
    expect(bytes.data.datasets[0]!.data).toEqual([3, 3]);
  });
});
