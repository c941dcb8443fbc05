/**
 * Small builder for ONNX test models, written with onnx-buf so the fixtures exercise the
 * same wire format the importer reads. Weights are seeded-random so every run builds the
 * same bytes; `store` picks how a tensor is stored (float_data, raw_data or float64), to
 * cover each decoding path of the importer.
 */
import { create, toBinary } from '@bufbuild/protobuf';
import { mulberry32 } from '../../core/data/datasets.ts';
import type { AttributeProto, NodeProto, TensorProto, ValueInfoProto } from 'onnx-buf';
import {
  AttributeProtoSchema,
  GraphProtoSchema,
  ModelProtoSchema,
  NodeProtoSchema,
  OperatorSetIdProtoSchema,
  TensorProtoSchema,
  TensorShapeProto_DimensionSchema,
  TensorShapeProtoSchema,
  TypeProto_TensorSchema,
  TypeProtoSchema,
  ValueInfoProtoSchema,
} from 'onnx-buf';

/** Deterministic PRNG returning floats in [0, 1) (the data layer's mulberry32). */
export const seededRandom = mulberry32;

/** Marks a number as a FLOAT attribute (plain numbers become INT attributes). */
export class FloatAttr {
  readonly value: number;
  constructor(value: number) {
    this.value = value;
  }
}
export const F = (v: number): FloatAttr => new FloatAttr(v);
export type AttrValue = number | FloatAttr | readonly number[] | string;

export type TensorStore = 'float_data' | 'raw_data' | 'double_data' | 'double_raw' | 'int64';

const DT = { FLOAT: 1, INT64: 7, DOUBLE: 11 } as const;
const AT = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, INTS: 7 } as const;

function makeTensor(name: string, dims: readonly number[], values: ArrayLike<number>, store: TensorStore): TensorProto {
  const t = create(TensorProtoSchema, { name, dims: dims.map((d) => BigInt(d)) });
  const n = values.length;
  switch (store) {
    case 'float_data':
      t.dataType = DT.FLOAT;
      t.floatData = Array.from(values);
      break;
    case 'raw_data':
      t.dataType = DT.FLOAT;
      t.rawData = new Uint8Array(Float32Array.from(values).buffer);
      break;
    case 'double_data':
      t.dataType = DT.DOUBLE;
      t.doubleData = Array.from(values);
      break;
    case 'double_raw':
      t.dataType = DT.DOUBLE;
      t.rawData = new Uint8Array(Float64Array.from(values).buffer);
      break;
    case 'int64':
      t.dataType = DT.INT64;
      t.int64Data = Array.from({ length: n }, (_, i) => BigInt(values[i]!));
      break;
  }
  return t;
}

function makeAttribute(name: string, v: AttrValue): AttributeProto {
  if (v instanceof FloatAttr) return create(AttributeProtoSchema, { name, type: AT.FLOAT, f: v.value });
  if (typeof v === 'number') return create(AttributeProtoSchema, { name, type: AT.INT, i: BigInt(v) });
  if (typeof v === 'string')
    return create(AttributeProtoSchema, { name, type: AT.STRING, s: new TextEncoder().encode(v) });
  return create(AttributeProtoSchema, { name, type: AT.INTS, ints: v.map((x) => BigInt(x)) });
}

function valueInfo(name: string, dims: readonly (number | string)[], elemType: number = DT.FLOAT): ValueInfoProto {
  const dim = dims.map((d) =>
    create(TensorShapeProto_DimensionSchema, {
      value: typeof d === 'number' ? { case: 'dimValue', value: BigInt(d) } : { case: 'dimParam', value: d },
    }),
  );
  return create(ValueInfoProtoSchema, {
    name,
    type: create(TypeProtoSchema, {
      value: {
        case: 'tensorType',
        value: create(TypeProto_TensorSchema, { elemType, shape: create(TensorShapeProtoSchema, { dim }) }),
      },
    }),
  });
}

/** Builds one ONNX graph; `toBytes()` serialises the ModelProto. */
export class OnnxBuilder {
  private readonly nodes: NodeProto[] = [];
  private readonly initializers: TensorProto[] = [];
  private readonly inputs: ValueInfoProto[] = [];
  private readonly outputs: ValueInfoProto[] = [];
  private readonly random: () => number;
  private readonly opset: number;
  private counter = 0;

  constructor(seed: number, opset = 13) {
    this.random = seededRandom(seed);
    this.opset = opset;
  }

  /** Uniform values in [-scale, scale). */
  randomValues(n: number, scale = 0.5): number[] {
    return Array.from({ length: n }, () => (2 * this.random() - 1) * scale);
  }

  input(name: string, dims: readonly (number | string)[], elemType: number = DT.FLOAT): this {
    this.inputs.push(valueInfo(name, dims, elemType));
    return this;
  }

  output(name: string, dims: readonly (number | string)[] = []): this {
    this.outputs.push(valueInfo(name, dims));
    return this;
  }

  /** Add an initializer; random values (seeded) when `values` is omitted. Returns its name. */
  init(name: string, dims: readonly number[], values?: ArrayLike<number>, store: TensorStore = 'raw_data'): string {
    const n = dims.reduce((a, b) => a * b, 1);
    this.initializers.push(makeTensor(name, dims, values ?? this.randomValues(n), store));
    return name;
  }

  /** Add a Constant node whose output is `name`. Returns the name. */
  constant(
    name: string,
    dims: readonly number[],
    values: ArrayLike<number>,
    store: TensorStore = 'float_data',
  ): string {
    this.nodes.push(
      create(NodeProtoSchema, {
        opType: 'Constant',
        name: `const_${name}`,
        output: [name],
        attribute: [
          create(AttributeProtoSchema, { name: 'value', type: AT.TENSOR, t: makeTensor('', dims, values, store) }),
        ],
      }),
    );
    return name;
  }

  /** Add a node; returns its first output name (auto-named when `outputs` is omitted). */
  node(
    opType: string,
    inputs: readonly string[],
    attrs: Record<string, AttrValue> = {},
    opts: { name?: string; outputs?: readonly string[] } = {},
  ): string {
    const outputs = opts.outputs ?? [`v${this.counter++}`];
    this.nodes.push(
      create(NodeProtoSchema, {
        opType,
        name: opts.name ?? `${opType.toLowerCase()}_${this.nodes.length}`,
        input: [...inputs],
        output: [...outputs],
        attribute: Object.entries(attrs).map(([k, v]) => makeAttribute(k, v)),
      }),
    );
    return outputs[0]!;
  }

  toBytes(producer = 'ppnn-test-builder'): Uint8Array {
    const model = create(ModelProtoSchema, {
      irVersion: 8n,
      producerName: producer,
      opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: BigInt(this.opset) })],
      graph: create(GraphProtoSchema, {
        name: 'test-graph',
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      }),
    });
    return toBinary(ModelProtoSchema, model);
  }
}
