/**
 * ONNX import: turns a serialized ONNX model into the layer IR (core/model/types.ts).
 *
 * The IR is a chain of layers, so the importer accepts exactly the ONNX graphs that are a
 * chain once constants are folded: one graph input, one graph output, and a path between
 * them on which every node consumes the previous node's output plus constants
 * (initializers, Constant nodes, or anything computed from constants and the data's shape,
 * ./constants.ts and ./fold.ts). Branches, merges and side outputs are refused with
 * MODEL_UNSUPPORTED_OP naming the node, because a partially understood graph would give a
 * model that silently computes something else; every problem is reported at once
 * (./chain.ts). Per-op conversion lives in ./ops.ts, tensor decoding in ./tensors.ts.
 * Supported ops and their limits: docs/ONNX.md.
 */
import { fromBinary } from '@bufbuild/protobuf';
import type { ModelProto, ValueInfoProto } from 'onnx-buf';
import { ModelProtoSchema } from 'onnx-buf';
import { PpnnError } from '../../errors.ts';
import { convertChain } from './chain.ts';
import { ConstantTable } from './constants.ts';
import { dtypeName, ONNX_DTYPE } from './tensors.ts';
import type { Model, Shape } from '../types.ts';

export { SUPPORTED_ONNX_OPS } from './ops.ts';

export interface ImportOnnxOptions {
  /** model name; defaults to the ONNX graph name, else 'onnx-model' */
  readonly name?: string;
}

function unsupported(message: string, details?: Record<string, unknown>): never {
  throw new PpnnError('MODEL_UNSUPPORTED_OP', message, details);
}

function invalid(message: string): never {
  throw new PpnnError('MODEL_INVALID', message);
}

function parseModelProto(bytes: Uint8Array): ModelProto {
  let model: ModelProto;
  try {
    model = fromBinary(ModelProtoSchema, bytes);
  } catch (e) {
    invalid(`not a valid ONNX file: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!model.graph) invalid('not a valid ONNX file: the model has no graph');
  if (model.graph.node.length === 0) invalid('not a valid ONNX file: the graph has no nodes');
  return model;
}

/**
 * Per-image input shape from the graph input's declared type: the leading batch axis is
 * dropped (it may be symbolic); NCHW gives [C,H,W] and [N,F] gives [F].
 */
function inputShapeOf(input: ValueInfoProto): { shape: Shape; batchDim: number | null } {
  const tensorType = input.type?.value.case === 'tensorType' ? input.type.value.value : undefined;
  if (!tensorType) unsupported(`graph input '${input.name}' is not a tensor`);
  if (tensorType.elemType !== ONNX_DTYPE.FLOAT && tensorType.elemType !== ONNX_DTYPE.DOUBLE) {
    unsupported(
      `graph input '${input.name}' has element type ${dtypeName(tensorType.elemType)}; only FLOAT/DOUBLE inputs are ` +
        `supported`,
    );
  }
  const dims = tensorType.shape?.dim ?? [];
  if (dims.length !== 2 && dims.length !== 4) {
    unsupported(`graph input '${input.name}' has rank ${dims.length}; expected [N,C,H,W] or [N,F]`);
  }
  const batch = dims[0]!.value;
  const shape = dims.slice(1).map((d, i) => {
    if (d.value.case !== 'dimValue' || d.value.value < 1n) {
      unsupported(
        `graph input '${input.name}': dimension ${i + 1} must be a fixed positive size (only the batch axis may be ` +
          `symbolic)`,
      );
    }
    return Number(d.value.value);
  });
  return { shape, batchDim: batch.case === 'dimValue' ? Number(batch.value) : null };
}

/**
 * Import a serialized ONNX model (bytes of a .onnx file) as a `Model`.
 *
 * Weights become Float64Array (float32 values widened exactly). The input shape comes from
 * the graph input's type with the batch axis dropped. `meta.source` records the producer.
 * Throws TypeError when `bytes` is not a Uint8Array; PpnnError('MODEL_INVALID') for bytes
 * that are not a well-formed ONNX model; PpnnError('MODEL_UNSUPPORTED_OP') naming the op
 * type and node for ops, attributes, dtypes or graph shapes the IR cannot represent.
 */
export function importOnnx(bytes: Uint8Array, opts: ImportOnnxOptions = {}): Model {
  if (!(bytes instanceof Uint8Array))
    throw new TypeError('importOnnx: bytes must be a Uint8Array holding an .onnx file');
  if (opts.name !== undefined && (typeof opts.name !== 'string' || opts.name === ''))
    throw new TypeError('importOnnx: opts.name must be a non-empty string');
  if (bytes.length === 0) invalid('not a valid ONNX file: empty input');
  const model = parseModelProto(bytes);
  const graph = model.graph!;
  const opset = Number(model.opsetImport.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version ?? 0n);
  const constants = new ConstantTable(graph, opset);
  const dataInputs = graph.input.filter((v) => !constants.has(v.name));
  if (dataInputs.length !== 1)
    unsupported(
      `graph has ${dataInputs.length} non-constant inputs (${dataInputs.map((v) => `'${v.name}'`).join(', ')}); ` +
        `exactly one is supported`,
    );
  if (graph.output.length !== 1) unsupported(`graph has ${graph.output.length} outputs; exactly one is supported`);
  const input = dataInputs[0]!;
  const start = inputShapeOf(input);
  const layers = convertChain(graph, constants, {
    inputName: input.name,
    outputName: graph.output[0]!.name,
    ...start,
    opset,
  });
  if (layers.length === 0) unsupported('the graph contains no layer the IR can represent (only no-op nodes)');
  return {
    name: opts.name ?? (graph.name || 'onnx-model'),
    inputShape: start.shape,
    layers,
    meta: {
      source: {
        format: 'onnx',
        producer: [model.producerName, model.producerVersion].filter(Boolean).join(' '),
        irVersion: Number(model.irVersion),
        opset,
      },
    },
  };
}
