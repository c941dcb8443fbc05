import { schemeIds } from '../../core/schemes/index.ts';
import { describe, expect, test } from 'vitest';
import type { BridgeResult, BridgeHandlers } from '../../core/bridge/contract.ts';
import { createBridgeHandlers } from '../../core/bridge/handlers.ts';
import { reportsFromJSON, reportsToCSV, reportsToHTML, reportsToJSON } from '../../core/bridge/report-files.ts';
import { modelToJSON } from '../../core/model/json.ts';
import type { InferenceReport } from '../../core/report/types.ts';
import { randomModel } from '../helpers/random-model.ts';
import { sampleReport, STAGE } from '../helpers/report-fixtures.ts';

const b64 = (s: string): string => Buffer.from(s).toString('base64');
function value<T>(r: BridgeResult<T>): T {
  if (!r.ok) throw new Error(`expected ok, got ${r.error.code}: ${r.error.message}`);
  return r.value;
}
function errorCode(r: BridgeResult<unknown>): string {
  if (r.ok) throw new Error('expected an error');
  return r.error.code;
}

const report: InferenceReport = sampleReport({
  stages: {
    merging: STAGE,
    preprocessing: {
      ...STAGE,
      levels: [{ layer: 'conv1', levelsUsed: 1, levels: [2, 2], ciphertexts: 2, bytes: 4096 }],
    },
    online: STAGE,
  },
  ckks: { polyModulusDegree: 8192, coeffModulusBits: [60, 40, 40, 60], scaleBits: 40, slots: 4096 },
});

function handlers(): BridgeHandlers {
  return createBridgeHandlers(() => {}).handlers;
}

describe('bridge handlers (node side)', () => {
  test('model:list names the schemes and built-in datasets', async () => {
    const v = value(await handlers()['model:list']({}));
    expect(v.schemes).toEqual(schemeIds());
    expect(v.schemes).toEqual(
      expect.arrayContaining(['merged', 'unmerged', 'gazelle', 'cryptonets', 'merged-ring', 'delphi']),
    );
    expect(v.datasets).toEqual(['mnist', 'fashion-mnist']);
    expect(Array.isArray(v.models)).toBe(true);
  });

  test('model:load of a model file merges it and reports layers before and after', async () => {
    const model = randomModel(7, { activationProb: 0.2 });
    const v = value(
      await handlers()['model:load']({
        source: 'file',
        name: 'net.json',
        bytes: b64(JSON.stringify(modelToJSON(model))),
      }),
    );
    expect(v.source).toBe('file');
    expect(v.before.layers.map((l) => l.name)).toEqual(model.layers.map((l) => l.name));
    expect(v.after.layers.length).toBeLessThanOrEqual(v.before.layers.length);
    expect(v.after.counts.linearMaps).toBeLessThanOrEqual(v.before.counts.linearMaps);
    expect(v.ref).toMatch(/net\.json$/);
  });

  test('bad model files answer MODEL_INVALID, unknown names MODEL_UNKNOWN', async () => {
    const h = handlers();
    expect(errorCode(await h['model:load']({ source: 'file', name: 'bad.json', bytes: b64('{"layers": ') }))).toBe(
      'MODEL_INVALID',
    );
    expect(errorCode(await h['model:load']({ source: 'file', name: 'weights.bin', bytes: b64('xx') }))).toBe(
      'MODEL_INVALID',
    );
    expect(errorCode(await h['model:load']({ source: 'builtin', name: 'no-such-model' }))).toBe('MODEL_UNKNOWN');
  });

  test('dataset:load and dataset:samples give MNIST test images as base64 pixels', async () => {
    const h = handlers();
    const ds = value(await h['dataset:load']({ source: 'builtin', name: 'mnist' }));
    expect(ds).toMatchObject({ count: 10000, shape: [1, 28, 28], split: 'test' });
    const samples = value(await h['dataset:samples']({ ref: ds.ref, offset: 9998, count: 5 }));
    expect(samples.map((s) => s.index)).toEqual([9998, 9999]);
    expect(Buffer.from(samples[0]!.pixels, 'base64')).toHaveLength(784);
    expect(errorCode(await h['dataset:load']({ source: 'builtin', name: 'cifar' }))).toBe('DATASET_UNKNOWN');
  });

  test('session:start and server:connect validate their inputs first', async () => {
    const h = handlers();
    expect(errorCode(await h['session:start']({ model: 'm', dataset: 'mnist', limit: 0, scheme: 'merged' }))).toBe(
      'ARGUMENT_INVALID',
    );
    expect(
      errorCode(await h['session:start']({ model: 'm', dataset: 'mnist', limit: 2, scheme: 'nope' as 'merged' })),
    ).toBe('ARGUMENT_INVALID');
    expect(errorCode(await h['server:connect']({ url: 'http://example' }))).toBe('ARGUMENT_INVALID');
    expect(errorCode(await h['server:connect']({ url: 'ws://127.0.0.1:1' }))).toBe('PEER_DISCONNECTED');
    expect(value(await h['session:cancel']({ sessionId: 'none' }))).toEqual({ cancelled: false });
  });

  test('report:export writes the bench files (JSON / CSV / HTML) that report:import reads back', async () => {
    const h = handlers();
    const json = value(
      await h['report:export']({ reports: [report, { ...report, scheme: 'unmerged' }], format: 'json' }),
    );
    expect(json.fileName).toBe('report.json');
    expect(JSON.parse(json.text)).toMatchObject({ format: 'ppnn-bench-report', version: 2, model: 'mnist-square' });
    const back = value(await h['report:import']({ fileName: 'report.json', text: json.text }));
    // each run comes back with its label (scheme · where · images), the figures untouched
    expect(back.map(({ label: _l, ...r }) => r)).toEqual([report, { ...report, scheme: 'unmerged' }]);
    expect(back.map((r) => r.label)).toEqual([
      `merged · local · ${report.images} images`,
      `unmerged · local · ${report.images} images`,
    ]);
    expect(JSON.parse(json.text).machine.cpus).toBeGreaterThan(0);
    const csv = value(await h['report:export']({ reports: [report], format: 'csv' }))
      .text.trim()
      .split('\r\n');
    expect(csv).toHaveLength(4); // header + one row per stage
    const cols = csv[0]!.split(',');
    expect(csv[3]!.split(',')[cols.indexOf('bytesServerToClient')]).toBe('2000');
    const html = value(await h['report:export']({ reports: [report], format: 'html' })).text;
    expect(html).toContain('<html');
    expect(html).toContain('mnist-square');
    expect(errorCode(await h['report:export']({ reports: [], format: 'json' }))).toBe('ARGUMENT_INVALID');
  });

  test('report:import rejects what is not a report', async () => {
    const h = handlers();
    expect(errorCode(await h['report:import']({ fileName: 'x.json', text: 'not json' }))).toBe('REPORT_INVALID');
    expect(errorCode(await h['report:import']({ fileName: 'x.json', text: '{"scheme":"merged"}' }))).toBe(
      'REPORT_INVALID',
    );
    expect(reportsFromJSON(JSON.stringify(report))).toEqual([
      { ...report, label: `merged · local · ${report.images} images` },
    ]);
  });

  test('the export escapes what it embeds', () => {
    const evil = { ...report, model: '<script>alert(1)</script>, "quoted"' };
    expect(reportsToHTML([evil])).not.toContain('<script>alert(1)');
    expect(reportsToCSV([evil]).split('\r\n')[1]).toContain('"<script>alert(1)</script>, ""quoted"""');
    expect(JSON.parse(reportsToJSON([evil])).schemes[0].model).toBe(evil.model);
  });
});
