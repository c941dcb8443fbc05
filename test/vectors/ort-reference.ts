/**
 * Reference outputs from onnxruntime-web (pure WASM, single thread, no network) for the
 * ONNX import tests, plus the numeric comparison they share.
 */
import { dirname } from 'node:path';
import { createRequire } from 'node:module';
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema } from 'onnx-buf';
import * as ort from 'onnxruntime-web';
import { forward } from '../../core/model/forward.ts';
import { importOnnx } from '../../core/model/onnx.ts';
import { seededRandom } from './build-onnx.ts';

const ortDist = dirname(createRequire(import.meta.url).resolve('onnxruntime-web')) + '/';
ort.env.wasm.numThreads = 1;
ort.env.wasm.wasmPaths = ortDist;
ort.env.logLevel = 'error';

/**
 * Run `modelBytes` on a batch of images with ORT (float32). `inputs` are per-image values;
 * `inputDims` is the full input shape including the batch axis. Returns per-image outputs.
 */
export async function runOrt(
  modelBytes: Uint8Array,
  inputs: readonly Float64Array[],
  inputDims: readonly number[],
): Promise<Float64Array[]> {
  const session = await ort.InferenceSession.create(modelBytes, { executionProviders: ['wasm'], logSeverityLevel: 3 });
  try {
    const per = inputs[0]!.length;
    const flat = new Float32Array(per * inputs.length);
    inputs.forEach((x, i) => flat.set(x, i * per));
    const feeds = { [session.inputNames[0]!]: new ort.Tensor('float32', flat, [...inputDims]) };
    const result = await session.run(feeds);
    const out = result[session.outputNames[0]!]!.data as Float32Array;
    const outPer = out.length / inputs.length;
    return inputs.map((_, i) => Float64Array.from(out.subarray(i * outPer, (i + 1) * outPer)));
  } finally {
    await session.release();
  }
}

/** Attributes removed from ops between opset 6 and 7 without changing inference semantics. */
const OPSET6_ONLY_ATTRIBUTES = new Set(['consumed_inputs', 'is_test', 'broadcast']);

/**
 * ORT-web has no kernels for some opset-6 ops (Gemm-6, BatchNormalization-6, AveragePool-1)
 * that old PyTorch exports use. Their opset-7 versions compute the same thing in inference
 * (opset 7 only dropped `is_test`/`consumed_inputs` and made broadcasting implicit), so the
 * reference run uses a copy stamped opset 7 with those attributes dropped. The importer is
 * always given the original bytes.
 */
export function restampOpset6ForOrt(modelBytes: Uint8Array): Uint8Array {
  const model = fromBinary(ModelProtoSchema, modelBytes);
  const onnxDomain = model.opsetImport.find((o) => o.domain === '' || o.domain === 'ai.onnx');
  if (!onnxDomain || onnxDomain.version >= 7n) return modelBytes;
  onnxDomain.version = 7n;
  for (const node of model.graph?.node ?? [])
    node.attribute = node.attribute.filter((a) => !OPSET6_ONLY_ATTRIBUTES.has(a.name));
  return toBinary(ModelProtoSchema, model);
}

/** Max |a-b| and the first index breaking |a-b| <= atol + rtol·|b|, for a readable failure. */
export function compareOutputs(
  actual: Float64Array,
  expected: Float64Array,
  rtol: number,
  atol: number,
): { maxAbsDiff: number; firstBad: number } {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} vs reference ${expected.length}`);
  let maxAbsDiff = 0,
    firstBad = -1;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i]! - expected[i]!);
    maxAbsDiff = Math.max(maxAbsDiff, d);
    if (firstBad < 0 && !(d <= atol + rtol * Math.abs(expected[i]!))) firstBad = i;
  }
  return { maxAbsDiff, firstBad };
}

/** Throws an Error printing result, reference and difference when the two disagree. */
export function assertClose(
  what: string,
  actual: Float64Array,
  expected: Float64Array,
  rtol = 1e-4,
  atol = 1e-4,
): number {
  const { maxAbsDiff, firstBad } = compareOutputs(actual, expected, rtol, atol);
  if (firstBad >= 0) {
    const a = actual[firstBad]!,
      e = expected[firstBad]!;
    throw new Error(
      `${what}: mismatch at index ${firstBad}: result ${a}, reference ${e}, diff ${a - e} (rtol ${rtol}, atol ` +
        `${atol}; max |diff| ${maxAbsDiff})`,
    );
  }
  return maxAbsDiff;
}

/** Seeded inputs rounded to float32, so ORT and the float64 engine see identical values. */
export function float32Inputs(random: () => number, count: number, size: number, scale = 1): Float64Array[] {
  return Array.from({ length: count }, () =>
    Float64Array.from({ length: size }, () => Math.fround((2 * random() - 1) * scale)),
  );
}

/**
 * Per-model worst |ours − ORT| (`maxDiffs`, for a test file's summary line) and the check that fills it:
 * import `bytes`, run our float64 forward and ORT on the same float32-exact inputs, compare per image.
 */
export function ortComparison(): {
  maxDiffs: Record<string, number>;
  expectMatchesOrt(
    label: string,
    bytes: Uint8Array,
    imageDims: readonly number[],
    batch: number,
    seed: number,
  ): Promise<void>;
} {
  const maxDiffs: Record<string, number> = {};
  async function expectMatchesOrt(
    label: string,
    bytes: Uint8Array,
    imageDims: readonly number[],
    batch: number,
    seed: number,
  ): Promise<void> {
    const model = importOnnx(bytes);
    const size = imageDims.reduce((a, b) => a * b, 1);
    const inputs = float32Inputs(seededRandom(seed), batch, size);
    const reference = await runOrt(bytes, inputs, [batch, ...imageDims]);
    let worst = 0;
    inputs.forEach((x, i) => {
      worst = Math.max(worst, assertClose(`${label} image ${i}`, forward(model, x), reference[i]!));
    });
    maxDiffs[label] = worst;
  }
  return { maxDiffs, expectMatchesOrt };
}
