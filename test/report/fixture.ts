import { assembleReport } from '../../core/report/assemble.ts';
import type {
  BenchReport,
  HeOpCounts,
  InferenceReport,
  LayerLevelTrace,
  SchemeId,
  StageMetrics,
} from '../../core/report/types.ts';

/**
 * A realistic four-scheme BenchReport (figures shaped like a 100-image MNIST bench on a
 * 2-core machine), built in code so report tests need no HE run.
 */

function stage(
  wallMs: number,
  c2s: number,
  s2c: number,
  messages: number,
  rounds: number,
  extra: Partial<StageMetrics> = {},
): StageMetrics {
  return {
    wallMs,
    clientMs: wallMs * 0.55,
    serverMs: wallMs * 0.45,
    bytesClientToServer: c2s,
    bytesServerToClient: s2c,
    messages,
    rounds,
    ...extra,
  };
}

function he(scale: number): HeOpCounts {
  return {
    encryptions: 4 * scale,
    decryptions: 4 * scale,
    ctPtMul: 120 * scale,
    ctCtMul: 0,
    rotations: 310 * scale,
    additions: 450 * scale,
    rescales: 4 * scale,
    modSwitches: 2 * scale,
    relinearizations: 0,
    encodes: 0,
    conjugations: 0,
    zeroEncryptions: 0,
  };
}

const CT = 131_072 * 2; // bytes of a fresh N=8192 ciphertext at 3 primes, roughly

function freshMaskLevels(layers: string[]): LayerLevelTrace[] {
  return layers.map((layer) => ({ layer, levelsUsed: 1, levels: [1, 1], ciphertexts: 2, bytes: 2 * CT }));
}

function scheme(
  id: SchemeId,
  o: {
    online: StageMetrics;
    pre: StageMetrics;
    mergingMs: number;
    accuracy: number;
    agreement: number;
    err: number;
    ckksLevels: number[];
  },
): InferenceReport {
  const images = 100;
  return {
    formatVersion: 1,
    scheme: id,
    model: 'mnist',
    dataset: 'mnist',
    images,
    accuracy: o.accuracy,
    plaintextAccuracy: 0.99,
    agreement: o.agreement,
    maxLogitError: o.err,
    stages: { merging: stage(o.mergingMs, 0, 0, 0, 0), preprocessing: o.pre, online: o.online },
    perImage: {
      onlineMs: o.online.wallMs / images,
      onlineBytes: (o.online.bytesClientToServer + o.online.bytesServerToClient) / images,
      preprocessingMs: o.pre.wallMs / images,
      preprocessingBytes: (o.pre.bytesClientToServer + o.pre.bytesServerToClient) / images,
    },
    ckks: {
      polyModulusDegree: id === 'cryptonets' ? 16384 : 8192,
      coeffModulusBits: o.ckksLevels,
      scaleBits: 30,
      slots: id === 'cryptonets' ? 8192 : 4096,
    },
    masks: { inputHidingBits: 40, shareHidingBits: 40, notes: 'uniform masks, statistical hiding' },
    seed: 7,
  };
}

/** The fixture: merged, unmerged, gazelle and cryptonets over the same 100 images. */
export function benchFixture(): BenchReport {
  const mergedLayers = ['conv1+bn1', 'square1', 'pool1+conv2+bn2', 'square2', 'flatten+fc1+fc2'];
  const unmergedLayers = ['conv1', 'bn1', 'square1', 'pool1', 'conv2', 'bn2', 'square2', 'flatten', 'fc1', 'fc2'];
  const schemes: InferenceReport[] = [
    scheme('merged', {
      mergingMs: 12,
      online: stage(480, 1_300_000, 900_000, 500, 5),
      pre: stage(52_000, 60 * CT, 60 * CT, 600, 6, {
        he: he(100),
        levels: freshMaskLevels(mergedLayers),
        peakRssBytes: 900 * 2 ** 20,
      }),
      accuracy: 0.99,
      agreement: 1,
      err: 3.1e-4,
      ckksLevels: [60, 40, 60],
    }),
    scheme('unmerged', {
      mergingMs: 0,
      online: stage(910, 3_800_000, 2_700_000, 1000, 10),
      pre: stage(97_000, 110 * CT, 110 * CT, 1100, 11, { he: he(180), levels: freshMaskLevels(unmergedLayers) }),
      accuracy: 0.99,
      agreement: 1,
      err: 4.4e-4,
      ckksLevels: [60, 40, 60],
    }),
    scheme('gazelle', {
      mergingMs: 0,
      online: stage(61_000, 300 * CT, 300 * CT, 1000, 10, { he: he(150), levels: freshMaskLevels(unmergedLayers) }),
      pre: stage(900, 400_000, 400_000, 200, 2),
      accuracy: 0.99,
      agreement: 0.99,
      err: 9.7e-4,
      ckksLevels: [60, 40, 60],
    }),
    scheme('cryptonets', {
      mergingMs: 0,
      online: stage(95_000, 8 * CT * 4, 2 * CT, 2, 1),
      pre: stage(0, 0, 0, 0, 0, {
        he: { ...he(1), ctCtMul: 2, relinearizations: 2 },
        levels: ['conv1', 'square1', 'pool1', 'conv2', 'square2', 'fc1', 'fc2'].map((layer, i) => {
          const left = [7, 6, 5, 4, 3, 2, 1][i]!;
          return { layer, levelsUsed: 1, levels: [left], ciphertexts: 1, bytes: (left + 1) * 131_072 };
        }),
      }),
      accuracy: 0.98,
      agreement: 0.99,
      err: 2.2e-3,
      ckksLevels: [60, 40, 40, 40, 40, 40, 40, 40, 60],
    }),
  ];
  const runs = [0, 1, 2].flatMap((repeat) =>
    schemes.map((s) => ({
      scheme: s.scheme,
      repeat,
      onlineMs: s.stages.online.wallMs,
      preprocessingMs: s.stages.preprocessing.wallMs,
      wallMs: s.stages.online.wallMs + s.stages.preprocessing.wallMs,
    })),
  );
  const report = assembleReport(schemes, {
    createdAt: '2026-01-15T10:30:00.000Z',
    command:
      'ppnn bench --model mnist --dataset mnist --limit 100 --schemes merged,unmerged,gazelle,cryptonets --out ' +
      'reports/check --json',
    repeat: 3,
    seed: 7,
    runs,
    machine: {
      platform: 'linux',
      arch: 'x64',
      cpus: 2,
      cpuModel: 'Intel(R) Xeon(R) CPU @ 2.20GHz',
      memoryBytes: 8 * 2 ** 30,
      node: 'v22.23.0',
    },
    versions: { 'ppnn-studio': '0.1.0', 'node-seal': '7.0.0', 'chart.js': '4.6.1' },
  });
  const label = new Map(report.schemes.map((e) => [e.scheme, e.label!]));
  return { ...report, runs: runs.map((r) => ({ ...r, label: label.get(r.scheme)! })) };
}

/** The label the fixture gives `scheme`'s run ("merged · local · 100 images"). */
export const fixtureLabel = (scheme: SchemeId): string => `${scheme} · local · 100 images`;
