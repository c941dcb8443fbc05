/**
 * Decoding of ONNX TensorProto and AttributeProto values into plain numbers.
 *
 * ONNX stores a tensor's values in one of several fields depending on the exporter:
 * `float_data` / `double_data` / `int64_data` / `int32_data` (packed repeated fields) or
 * `raw_data` (little-endian bytes). PyTorch writes `raw_data`; hand-built models often use
 * the typed fields. Weights must end up as Float64Array (the IR's type), so float32 values
 * are widened exactly; nothing is rounded here.
 */
import type { AttributeProto, NodeProto, TensorProto } from 'onnx-buf';
import { PpnnError } from '../../errors.ts';

/** ONNX TensorProto.DataType codes used here (values fixed by onnx.proto). */
export const ONNX_DTYPE = { FLOAT: 1, INT32: 6, INT64: 7, DOUBLE: 11 } as const;

const DTYPE_NAMES: Record<number, string> = {
  0: 'UNDEFINED',
  1: 'FLOAT',
  2: 'UINT8',
  3: 'INT8',
  4: 'UINT16',
  5: 'INT16',
  6: 'INT32',
  7: 'INT64',
  8: 'STRING',
  9: 'BOOL',
  10: 'FLOAT16',
  11: 'DOUBLE',
  12: 'UINT32',
  13: 'UINT64',
  16: 'BFLOAT16',
};

/** Human-readable name of an ONNX data type code, for error messages. */
export function dtypeName(code: number): string {
  return DTYPE_NAMES[code] ?? `dtype ${code}`;
}

/** A decoded constant tensor: its shape and values widened to float64. */
export interface ConstTensor {
  readonly name: string;
  readonly dims: readonly number[];
  readonly values: Float64Array;
  /** ONNX data type code of the source tensor (integer types matter for folded Div / Cast) */
  readonly dtype?: number;
}

function invalid(message: string): never {
  throw new PpnnError('MODEL_INVALID', message);
}

function elementCount(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

function rawView(raw: Uint8Array, bytesPerElement: number, count: number, what: string): DataView {
  if (raw.length !== count * bytesPerElement) {
    invalid(`${what}: raw_data holds ${raw.length} bytes, expected ${count} × ${bytesPerElement}`);
  }
  return new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
}

/**
 * Decode a TensorProto (an initializer or a Constant's value) into float64 values.
 * Floating weights may be FLOAT or DOUBLE; INT64/INT32 are accepted too because Reshape
 * shapes and Pow exponents arrive that way. Throws MODEL_INVALID when the stored element
 * count disagrees with `dims`, MODEL_UNSUPPORTED_OP for other dtypes or external data.
 */
export function decodeTensor(t: TensorProto, what: string): ConstTensor {
  const dims = t.dims.map((d) => Number(d));
  if (dims.some((d) => !Number.isSafeInteger(d) || d < 0)) invalid(`${what}: bad dims [${dims.join(',')}]`);
  if (t.dataLocation === 1 || t.externalData.length > 0) {
    throw new PpnnError(
      'MODEL_UNSUPPORTED_OP',
      `${what}: tensor '${t.name}' uses external data files, which this importer does not read; re-export with the ` +
        `weights embedded`,
    );
  }
  const count = elementCount(dims);
  const values = new Float64Array(count);
  const hasRaw = t.rawData.length > 0;
  /**
   * One dtype's two encodings, read the same way for all four: raw_data as little-endian
   * `bytes`-wide elements through `readRaw`, else the typed field `field` (named in the error).
   */
  const fill = (
    bytes: number,
    readRaw: (v: DataView, at: number) => number,
    typed: ArrayLike<number | bigint>,
    field: string,
  ): void => {
    if (hasRaw) {
      const v = rawView(t.rawData, bytes, count, what);
      for (let i = 0; i < count; i++) values[i] = readRaw(v, i * bytes);
    } else {
      if (typed.length !== count)
        invalid(`${what}: ${field} holds ${typed.length} values, dims [${dims.join(',')}] need ${count}`);
      for (let i = 0; i < count; i++) values[i] = Number(typed[i]!);
    }
  };
  switch (t.dataType) {
    case ONNX_DTYPE.FLOAT:
      fill(4, (v, at) => v.getFloat32(at, true), t.floatData, 'float_data');
      break;
    case ONNX_DTYPE.DOUBLE:
      fill(8, (v, at) => v.getFloat64(at, true), t.doubleData, 'double_data');
      break;
    case ONNX_DTYPE.INT64:
      fill(8, (v, at) => Number(v.getBigInt64(at, true)), t.int64Data, 'int64_data');
      break;
    case ONNX_DTYPE.INT32:
      fill(4, (v, at) => v.getInt32(at, true), t.int32Data, 'int32_data');
      break;
    default:
      throw new PpnnError(
        'MODEL_UNSUPPORTED_OP',
        `${what}: tensor '${t.name}' has data type ${dtypeName(t.dataType)}; only FLOAT and DOUBLE weights are ` +
          `supported`,
      );
  }
  for (let i = 0; i < count; i++) {
    if (!Number.isFinite(values[i]!)) invalid(`${what}: tensor '${t.name}' contains a non-finite value at index ${i}`);
  }
  return { name: t.name, dims, values, dtype: t.dataType };
}

/**
 * The value of a Constant node as a tensor. Handles the `value` (tensor) attribute and the
 * scalar/list shorthands `value_float(s)` / `value_int(s)` added in opset 12.
 * Throws MODEL_UNSUPPORTED_OP for sparse or string constants.
 */
export function constantNodeValue(node: NodeProto, what: string): ConstTensor {
  const out = node.output[0] ?? '';
  for (const a of node.attribute) {
    switch (a.name) {
      case 'value':
        if (!a.t) invalid(`${what}: 'value' attribute carries no tensor`);
        return { ...decodeTensor(a.t, what), name: out };
      case 'value_float':
        return { name: out, dims: [], values: Float64Array.of(a.f), dtype: ONNX_DTYPE.FLOAT };
      case 'value_floats':
        return { name: out, dims: [a.floats.length], values: Float64Array.from(a.floats), dtype: ONNX_DTYPE.FLOAT };
      case 'value_int':
        return { name: out, dims: [], values: Float64Array.of(Number(a.i)), dtype: ONNX_DTYPE.INT64 };
      case 'value_ints': {
        return {
          name: out,
          dims: [a.ints.length],
          values: Float64Array.from(a.ints, (v) => Number(v)),
          dtype: ONNX_DTYPE.INT64,
        };
      }
    }
  }
  throw new PpnnError(
    'MODEL_UNSUPPORTED_OP',
    `${what}: Constant without a numeric value attribute (sparse/string constants are not supported)`,
  );
}

/** Attribute lookup helpers; missing attributes yield the ONNX default passed in. */
export class NodeAttributes {
  private readonly byName: Map<string, AttributeProto>;
  constructor(node: NodeProto) {
    this.byName = new Map(node.attribute.map((a) => [a.name, a]));
  }
  has(name: string): boolean {
    return this.byName.has(name);
  }
  int(name: string, fallback: number): number {
    const a = this.byName.get(name);
    return a ? Number(a.i) : fallback;
  }
  float(name: string, fallback: number): number {
    const a = this.byName.get(name);
    return a ? a.f : fallback;
  }
  ints(name: string, fallback: readonly number[]): number[] {
    const a = this.byName.get(name);
    return a ? a.ints.map((v) => Number(v)) : [...fallback];
  }
  string(name: string, fallback: string): string {
    const a = this.byName.get(name);
    return a ? new TextDecoder().decode(a.s) : fallback;
  }
}
