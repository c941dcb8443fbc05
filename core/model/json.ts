/**
 * The versioned JSON model format ("ppnn-model", version 1) and its validator.
 *
 * {
 *   "format": "ppnn-model", "version": 1, "name": "mnist-square",
 *   "inputShape": [1, 28, 28],
 *   "layers": [ { "kind": "conv2d", "name": "conv1", "inChannels": 1, ...,
 *                 "weight": { "dtype": "float32", "shape": [16,1,5,5], "data": "<base64 LE>" },
 *                 "bias":   { ... } }, ... ],
 *   "meta": { "dataset": "mnist", "trainedWith": "ppnn train ...", ... }
 * }
 *
 * Tensors are little-endian base64 so a 100k-weight model stays a small file; float32 is
 * what training produces (stored exactly), float64 what merging produces. Every
 * number is checked finite and every tensor's length checked against the layer's
 * declared dimensions: a model that loads is a model the engine can run.
 */
import { PpnnError } from '../errors.ts';
import { inferShapes } from './shapes.ts';
import type { Architecture, Layer, LayerSpec, Model, ModelMeta, Shape } from './types.ts';

export const MODEL_FORMAT = 'ppnn-model';
export const MODEL_FORMAT_VERSION = 1;

export interface TensorJSON {
  dtype: 'float32' | 'float64';
  shape: number[];
  data: string;
}

const invalid = (msg: string): never => {
  throw new PpnnError('MODEL_INVALID', msg);
};

function isLittleEndian(): boolean {
  return new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
}

/** Encode a tensor; float32 loses precision, so merged (float64) models use float64. */
export function encodeTensor(
  values: Float64Array,
  shape: number[],
  dtype: 'float32' | 'float64' = 'float64',
): TensorJSON {
  if (!isLittleEndian()) throw new PpnnError('INTERNAL', 'big-endian hosts are not supported');
  const arr = dtype === 'float32' ? Float32Array.from(values) : values;
  const bytes = new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength);
  return { dtype, shape, data: Buffer.from(bytes).toString('base64') };
}

function decodeTensor(v: unknown, where: string, expectedShape: number[]): Float64Array {
  if (typeof v !== 'object' || v === null) return invalid(`${where}: expected a tensor object {dtype, shape, data}`);
  const t = v as Partial<TensorJSON>;
  if (t.dtype !== 'float32' && t.dtype !== 'float64')
    return invalid(`${where}.dtype: expected 'float32' or 'float64', got ${JSON.stringify(t.dtype)}`);
  if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isInteger(d) && d > 0))
    return invalid(`${where}.shape: expected an array of positive integers`);
  if (t.shape.length !== expectedShape.length || t.shape.some((d, i) => d !== expectedShape[i])) {
    return invalid(`${where}.shape: expected [${expectedShape.join(',')}], got [${t.shape.join(',')}]`);
  }
  if (typeof t.data !== 'string') return invalid(`${where}.data: expected a base64 string`);
  const bytes = Buffer.from(t.data, 'base64');
  const width = t.dtype === 'float32' ? 4 : 8;
  const n = expectedShape.reduce((a, b) => a * b, 1);
  if (bytes.length !== n * width)
    return invalid(`${where}.data: expected ${n} ${t.dtype} values (${n * width} bytes), got ${bytes.length} bytes`);
  const aligned = new Uint8Array(bytes); // copy: Buffer pool offsets are not 8-byte aligned
  const src = t.dtype === 'float32' ? new Float32Array(aligned.buffer) : new Float64Array(aligned.buffer);
  const out = Float64Array.from(src);
  for (let i = 0; i < out.length; i++)
    if (!Number.isFinite(out[i]!)) return invalid(`${where}: value ${i} is ${out[i]} (weights must be finite)`);
  return out;
}

const posInt = (v: unknown, where: string): number =>
  Number.isInteger(v) && (v as number) > 0
    ? (v as number)
    : invalid(`${where}: expected a positive integer, got ${JSON.stringify(v)}`);
const nonNegInt = (v: unknown, where: string): number =>
  Number.isInteger(v) && (v as number) >= 0
    ? (v as number)
    : invalid(`${where}: expected a non-negative integer, got ${JSON.stringify(v)}`);
const finite = (v: unknown, where: string): number =>
  typeof v === 'number' && Number.isFinite(v)
    ? v
    : invalid(`${where}: expected a finite number, got ${JSON.stringify(v)}`);
function pair(v: unknown, where: string, check: (x: unknown, w: string) => number): [number, number] {
  if (!Array.isArray(v) || v.length !== 2) return invalid(`${where}: expected [h, w]`);
  return [check(v[0], `${where}[0]`), check(v[1], `${where}[1]`)];
}

/** Validate one raw layer object and build the IR layer. */
export function layerFromJSON(raw: unknown, index: number): Layer {
  if (typeof raw !== 'object' || raw === null) return invalid(`layers[${index}]: expected an object`);
  const o = raw as Record<string, unknown>;
  const name = typeof o.name === 'string' && o.name.length > 0 ? o.name : `layer${index}`;
  const at = `layers[${index}] '${name}'`;
  switch (o.kind) {
    case 'conv2d': {
      const inChannels = posInt(o.inChannels, `${at}.inChannels`);
      const outChannels = posInt(o.outChannels, `${at}.outChannels`);
      const kernel = pair(o.kernel, `${at}.kernel`, posInt);
      const stride = pair(o.stride ?? [1, 1], `${at}.stride`, posInt);
      const padding = pair(o.padding ?? [0, 0], `${at}.padding`, nonNegInt);
      const weight = decodeTensor(o.weight, `${at}.weight`, [outChannels, inChannels, kernel[0], kernel[1]]);
      const bias = decodeTensor(o.bias, `${at}.bias`, [outChannels]);
      return { kind: 'conv2d', name, inChannels, outChannels, kernel, stride, padding, weight, bias };
    }
    case 'dense': {
      const inFeatures = posInt(o.inFeatures, `${at}.inFeatures`);
      const outFeatures = posInt(o.outFeatures, `${at}.outFeatures`);
      const weight = decodeTensor(o.weight, `${at}.weight`, [outFeatures, inFeatures]);
      const bias = decodeTensor(o.bias, `${at}.bias`, [outFeatures]);
      return { kind: 'dense', name, inFeatures, outFeatures, weight, bias };
    }
    case 'batchnorm': {
      const channels = posInt(o.channels, `${at}.channels`);
      const epsilon = finite(o.epsilon ?? 1e-5, `${at}.epsilon`);
      if (epsilon < 0) invalid(`${at}.epsilon: must be >= 0`);
      const variance = decodeTensor(o.variance, `${at}.variance`, [channels]);
      if (variance.some((v) => v + epsilon <= 0)) invalid(`${at}.variance: variance + epsilon must be > 0`);
      return {
        kind: 'batchnorm',
        name,
        channels,
        epsilon,
        variance,
        gamma: decodeTensor(o.gamma, `${at}.gamma`, [channels]),
        beta: decodeTensor(o.beta, `${at}.beta`, [channels]),
        mean: decodeTensor(o.mean, `${at}.mean`, [channels]),
      };
    }
    case 'avgpool':
    case 'maxpool': {
      const kernel = pair(o.kernel, `${at}.kernel`, posInt);
      const stride = pair(o.stride ?? kernel, `${at}.stride`, posInt);
      const padding = pair(o.padding ?? [0, 0], `${at}.padding`, nonNegInt);
      return { kind: o.kind, name, kernel, stride, padding };
    }
    case 'flatten':
    case 'relu':
    case 'square':
      return { kind: o.kind, name };
    case 'poly':
      return {
        kind: 'poly',
        name,
        a: finite(o.a, `${at}.a`),
        b: finite(o.b ?? 0, `${at}.b`),
        c: finite(o.c ?? 0, `${at}.c`),
      };
    default:
      return invalid(
        `${at}: unknown layer kind ${JSON.stringify(o.kind)} (expected conv2d, dense, batchnorm, avgpool, maxpool, ` +
          `flatten, relu, square, poly)`,
      );
  }
}

/**
 * Parse and validate a model from its JSON value (already JSON.parse'd).
 * Returns the IR model; throws PpnnError MODEL_INVALID (format, values) or SHAPE_MISMATCH
 * (layers that do not chain).
 */
export function modelFromJSON(raw: unknown): Model {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return invalid('model: expected a JSON object');
  const o = raw as Record<string, unknown>;
  if (o.format !== MODEL_FORMAT)
    return invalid(`model.format: expected "${MODEL_FORMAT}", got ${JSON.stringify(o.format)}`);
  if (o.version !== MODEL_FORMAT_VERSION)
    return invalid(`model.version: this build reads version ${MODEL_FORMAT_VERSION}, got ${JSON.stringify(o.version)}`);
  if (
    !Array.isArray(o.inputShape) ||
    o.inputShape.length < 1 ||
    !o.inputShape.every((d) => Number.isInteger(d) && d > 0)
  ) {
    return invalid('model.inputShape: expected an array of positive integers, e.g. [1, 28, 28]');
  }
  if (!Array.isArray(o.layers) || o.layers.length === 0) return invalid('model.layers: expected a non-empty array');
  const layers = o.layers.map((l, i) => layerFromJSON(l, i));
  const names = new Set<string>();
  for (const l of layers) {
    if (names.has(l.name)) invalid(`model.layers: duplicate layer name '${l.name}'`);
    names.add(l.name);
  }
  const inputShape = o.inputShape as number[];
  inferShapes(inputShape, layers);
  const meta = (typeof o.meta === 'object' && o.meta !== null ? o.meta : {}) as ModelMeta;
  return { name: typeof o.name === 'string' ? o.name : 'model', inputShape, layers, meta };
}

/** Parse model JSON text; a syntax error is MODEL_INVALID, not a SyntaxError. */
export function parseModel(text: string): Model {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return invalid(`model file is not valid JSON: ${(e as Error).message}`);
  }
  return modelFromJSON(raw);
}

/** Serialise a model to the JSON value of the format (weights as base64 tensors). */
export function modelToJSON(model: Model, dtype: 'float32' | 'float64' = 'float64'): Record<string, unknown> {
  const layers = model.layers.map((l) => {
    switch (l.kind) {
      case 'conv2d':
        return {
          ...l,
          kernel: [...l.kernel],
          stride: [...l.stride],
          padding: [...l.padding],
          weight: encodeTensor(l.weight, [l.outChannels, l.inChannels, l.kernel[0], l.kernel[1]], dtype),
          bias: encodeTensor(l.bias, [l.outChannels], dtype),
        };
      case 'dense':
        return {
          ...l,
          weight: encodeTensor(l.weight, [l.outFeatures, l.inFeatures], dtype),
          bias: encodeTensor(l.bias, [l.outFeatures], dtype),
        };
      case 'batchnorm':
        return {
          ...l,
          gamma: encodeTensor(l.gamma, [l.channels], dtype),
          beta: encodeTensor(l.beta, [l.channels], dtype),
          mean: encodeTensor(l.mean, [l.channels], dtype),
          variance: encodeTensor(l.variance, [l.channels], dtype),
        };
      case 'avgpool':
      case 'maxpool':
        return { ...l, kernel: [...l.kernel], stride: [...l.stride], padding: [...l.padding] };
      default:
        return { ...l };
    }
  });
  return {
    format: MODEL_FORMAT,
    version: MODEL_FORMAT_VERSION,
    name: model.name,
    inputShape: [...model.inputShape],
    layers,
    meta: model.meta,
  };
}

/** The client's view of a model: shapes and activation coefficients, never weights. */
export function architectureOf(model: Model): Architecture {
  const layers: LayerSpec[] = model.layers.map((l): LayerSpec => {
    switch (l.kind) {
      case 'conv2d':
        return {
          kind: l.kind,
          name: l.name,
          inChannels: l.inChannels,
          outChannels: l.outChannels,
          kernel: l.kernel,
          stride: l.stride,
          padding: l.padding,
        };
      case 'dense':
        return { kind: l.kind, name: l.name, inFeatures: l.inFeatures, outFeatures: l.outFeatures };
      case 'batchnorm':
        return { kind: l.kind, name: l.name, channels: l.channels };
      default:
        return { ...l };
    }
  });
  const m = model.meta;
  const meta: Architecture['meta'] = {
    ...(m.dataset !== undefined ? { dataset: m.dataset } : {}),
    ...(m.labels !== undefined ? { labels: m.labels } : {}),
    ...(m.inputNormalization !== undefined ? { inputNormalization: m.inputNormalization } : {}),
    ...(m.inputBounds !== undefined ? { inputBounds: m.inputBounds } : {}),
  };
  const shapes: Shape[] = inferShapes(model.inputShape, layers);
  return { name: model.name, inputShape: model.inputShape, layers, shapes, meta };
}

/** Validate one layer spec of a peer's architecture (shapes only: no tensors expected). */
function specFromJSON(raw: unknown, index: number): LayerSpec {
  if (typeof raw !== 'object' || raw === null) return invalid(`layers[${index}]: expected an object`);
  const o = raw as Record<string, unknown>;
  if (typeof o.name !== 'string' || o.name.length === 0 || o.name.length > 200)
    return invalid(`layers[${index}].name: expected a name`);
  const name = o.name;
  const at = `layers[${index}] '${name}'`;
  switch (o.kind) {
    case 'conv2d':
      return {
        kind: 'conv2d',
        name,
        inChannels: posInt(o.inChannels, `${at}.inChannels`),
        outChannels: posInt(o.outChannels, `${at}.outChannels`),
        kernel: pair(o.kernel, `${at}.kernel`, posInt),
        stride: pair(o.stride, `${at}.stride`, posInt),
        padding: pair(o.padding, `${at}.padding`, nonNegInt),
      };
    case 'dense':
      return {
        kind: 'dense',
        name,
        inFeatures: posInt(o.inFeatures, `${at}.inFeatures`),
        outFeatures: posInt(o.outFeatures, `${at}.outFeatures`),
      };
    case 'batchnorm':
      return { kind: 'batchnorm', name, channels: posInt(o.channels, `${at}.channels`) };
    case 'avgpool':
    case 'maxpool':
      return {
        kind: o.kind,
        name,
        kernel: pair(o.kernel, `${at}.kernel`, posInt),
        stride: pair(o.stride, `${at}.stride`, posInt),
        padding: pair(o.padding, `${at}.padding`, nonNegInt),
      };
    case 'flatten':
    case 'relu':
    case 'square':
      return { kind: o.kind, name };
    case 'poly':
      return { kind: 'poly', name, a: finite(o.a, `${at}.a`), b: finite(o.b, `${at}.b`), c: finite(o.c, `${at}.c`) };
    default:
      return invalid(`${at}: unknown layer kind ${JSON.stringify(o.kind)}`);
  }
}

/**
 * Validate an Architecture that arrived from a peer (the server's `arch` message): every
 * layer field, that the shapes chain, and the public metadata the client sizes its masks
 * with. Returns a fresh Architecture (shapes recomputed, never trusted); throws
 * MODEL_INVALID / SHAPE_MISMATCH.
 */
export function architectureFromJSON(raw: unknown): Architecture {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return invalid('architecture: expected an object');
  const o = raw as Record<string, unknown>;
  if (
    !Array.isArray(o.inputShape) ||
    o.inputShape.length < 1 ||
    o.inputShape.length > 4 ||
    !o.inputShape.every((d) => Number.isInteger(d) && d > 0 && d <= 1 << 16)
  ) {
    return invalid('architecture.inputShape: expected 1-4 positive integers');
  }
  if (!Array.isArray(o.layers) || o.layers.length === 0 || o.layers.length > 1024)
    return invalid('architecture.layers: expected 1-1024 layers');
  const layers = o.layers.map((l, i) => specFromJSON(l, i));
  const inputShape = [...(o.inputShape as number[])];
  const shapes = inferShapes(inputShape, layers);
  const m = (typeof o.meta === 'object' && o.meta !== null ? o.meta : {}) as Record<string, unknown>;
  const meta: { -readonly [K in keyof Architecture['meta']]: Architecture['meta'][K] } = {};
  if (m.dataset !== undefined)
    meta.dataset = typeof m.dataset === 'string' ? m.dataset : invalid('architecture.meta.dataset: expected a string');
  if (m.labels !== undefined) {
    meta.labels =
      Array.isArray(m.labels) && m.labels.every((l) => typeof l === 'string')
        ? (m.labels as string[])
        : invalid('architecture.meta.labels: expected strings');
  }
  if (m.inputNormalization !== undefined) {
    const n = m.inputNormalization as { mean?: unknown; std?: unknown } | null;
    const mean = finite(n?.mean, 'architecture.meta.inputNormalization.mean');
    const std = finite(n?.std, 'architecture.meta.inputNormalization.std');
    if (!(std > 0)) invalid('architecture.meta.inputNormalization.std: must be > 0');
    meta.inputNormalization = { mean, std };
  }
  if (m.inputBounds !== undefined) {
    const b = m.inputBounds;
    if (
      !Array.isArray(b) ||
      b.length > layers.length ||
      !b.every((v) => v === null || (typeof v === 'number' && Number.isFinite(v) && v >= 0))
    ) {
      return invalid('architecture.meta.inputBounds: expected one finite bound ≥ 0 (or null) per layer');
    }
    meta.inputBounds = b as number[];
  }
  return { name: typeof o.name === 'string' ? o.name.slice(0, 200) : 'model', inputShape, layers, shapes, meta };
}
