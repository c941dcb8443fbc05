/**
 * ONNX import: turns a serialized ONNX model into the layer IR (core/model/types.ts).
 *
 * The IR is a chain of layers, so the importer accepts exactly the ONNX graphs that are a
 * chain: one graph input, one graph output, and a path between them on which every node
 * consumes the previous node's output plus constants (initializers or Constant nodes).
 * Branches, merges and side outputs are refused with MODEL_UNSUPPORTED_OP naming the node,
 * because a partially understood graph would give a model that silently computes
 * something else. Per-op conversion lives in ./ops.ts, tensor decoding in
 * ./tensors.ts. Supported ops and their limits: docs/ONNX.md.
 */
import { fromBinary } from '@bufbuild/protobuf';
import type { GraphProto, ModelProto, NodeProto, TensorProto, ValueInfoProto } from 'onnx-buf';
import { ModelProtoSchema } from 'onnx-buf';
import { PpnnError } from '../../errors.ts';
import { convertNode } from './ops.ts';
import type { ConstTensor } from './tensors.ts';
import { constantNodeValue, decodeTensor, dtypeName, NodeAttributes, ONNX_DTYPE } from './tensors.ts';
import { layerOutputShape } from '../shapes.ts';
import type { Layer, Model, Shape } from '../types.ts';

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

function nodeLabel(node: NodeProto, index: number): string {
  return node.name ? `${node.opType} node '${node.name}' (#${index})` : `${node.opType} node #${index}`;
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
    unsupported(`graph input '${input.name}' has element type ${dtypeName(tensorType.elemType)}; only FLOAT/DOUBLE inputs are supported`);
  }
  const dims = tensorType.shape?.dim ?? [];
  if (dims.length !== 2 && dims.length !== 4) {
    unsupported(`graph input '${input.name}' has rank ${dims.length}; expected [N,C,H,W] or [N,F]`);
  }
  const batch = dims[0]!.value;
  const shape = dims.slice(1).map((d, i) => {
    if (d.value.case !== 'dimValue' || d.value.value < 1n) {
      unsupported(`graph input '${input.name}': dimension ${i + 1} must be a fixed positive size (only the batch axis may be symbolic)`);
    }
    return Number(d.value.value);
  });
  return { shape, batchDim: batch.case === 'dimValue' ? Number(batch.value) : null };
}

/** Resolves constant operands: initializers (decoded lazily) and Constant node outputs. */
class ConstantTable {
  private readonly raw = new Map<string, TensorProto>();
  private readonly decoded = new Map<string, ConstTensor>();
  constructor(graph: GraphProto) {
    for (const t of graph.initializer) this.raw.set(t.name, t);
    graph.node.forEach((n, i) => {
      if (n.opType === 'Constant' && n.output[0]) this.decoded.set(n.output[0], constantNodeValue(n, nodeLabel(n, i)));
      // Older PyTorch exporters write Linear(bias=False) as MatMul(x, Transpose(W)): fold it.
      const source = n.opType === 'Transpose' && n.input[0] !== undefined ? this.get(n.input[0]) : undefined;
      if (n.output[0] && source?.dims.length === 2) {
        const perm = new NodeAttributes(n).ints('perm', [1, 0]);
        if (perm[0] === 1 && perm[1] === 0) this.decoded.set(n.output[0], transpose2d(source, n.output[0]));
      }
    });
  }
  /** True when node `n` only computes a constant (folded above): it is not part of the chain. */
  isFolded(n: NodeProto): boolean {
    return n.opType === 'Constant' || (n.opType === 'Transpose' && n.output[0] !== undefined && this.decoded.has(n.output[0]));
  }
  has(name: string): boolean {
    return this.raw.has(name) || this.decoded.has(name);
  }
  get(name: string): ConstTensor | undefined {
    let t = this.decoded.get(name);
    if (!t) {
      const proto = this.raw.get(name);
      if (!proto) return undefined;
      t = decodeTensor(proto, `initializer '${name}'`);
      this.decoded.set(name, t);
    }
    return t;
  }
}

function transpose2d(t: ConstTensor, name: string): ConstTensor {
  const [rows, cols] = t.dims as [number, number];
  const values = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) values[c * rows + r] = t.values[r * cols + c]!;
  return { name, dims: [cols, rows], values };
}

function uniqueName(base: string, taken: Set<string>): string {
  let name = base, k = 2;
  while (taken.has(name)) name = `${base}_${k++}`;
  taken.add(name);
  return name;
}

/**
 * Walk the chain from the graph input to the graph output, converting each node.
 * Throws MODEL_UNSUPPORTED_OP (naming the node) on branches, merges, side outputs used
 * elsewhere, nodes off the chain, and unsupported ops.
 */
function convertChain(graph: GraphProto, constants: ConstantTable, inputName: string, outputName: string, start: { shape: Shape; batchDim: number | null }): Layer[] {
  const consumers = new Map<string, number[]>();
  graph.node.forEach((n, i) => {
    if (constants.isFolded(n)) return;
    for (const name of new Set(n.input)) {
      if (name === '' || constants.has(name)) continue;
      consumers.set(name, [...(consumers.get(name) ?? []), i]);
    }
  });
  const layers: Layer[] = [];
  const names = new Set<string>();
  const visited = new Set<number>();
  let current = inputName;
  let shape = start.shape;
  while (current !== outputName) {
    const next = consumers.get(current) ?? [];
    if (next.length === 0) unsupported(`value '${current}' feeds no node, but the graph output is '${outputName}': the graph is not a single chain`);
    if (next.length > 1) {
      const who = next.map((i) => nodeLabel(graph.node[i]!, i)).join(', ');
      unsupported(`value '${current}' feeds ${next.length} nodes (${who}): only single-chain graphs are supported`, { value: current });
    }
    const index = next[0]!;
    const node = graph.node[index]!;
    const label = nodeLabel(node, index);
    if (visited.has(index)) invalid(`${label}: the graph has a cycle`);
    visited.add(index);
    if (node.domain !== '' && node.domain !== 'ai.onnx') unsupported(`${label}: op domain '${node.domain}' is not supported (only the default ONNX domain)`, { opType: node.opType, node: node.name });
    for (const name of node.input) {
      if (name !== '' && name !== current && !constants.has(name)) {
        unsupported(`${label}: input '${name}' is neither the chain value '${current}' nor a constant: only single-chain graphs are supported`, { opType: node.opType, node: node.name });
      }
    }
    for (const side of node.output.slice(1)) {
      if (side !== '' && (consumers.has(side) || side === outputName)) unsupported(`${label}: secondary output '${side}' is used; only the first output may be`, { opType: node.opType, node: node.name });
    }
    const emittedBefore = layers.length;
    convertNode({
      node, label, attrs: new NodeAttributes(node), dataInput: current, shape, batchDim: start.batchDim, layers,
      layerName: uniqueName(node.name || `${node.opType.toLowerCase()}${index}`, names),
      constant: (name) => constants.get(name),
    });
    // Folding replaces the last layer in place (same output shape); new layers move the shape on.
    for (const layer of layers.slice(emittedBefore)) {
      try {
        shape = layerOutputShape(layer, shape);
      } catch (e) {
        invalid(`${label}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    if (!node.output[0]) invalid(`${label}: has no output`);
    current = node.output[0];
  }
  graph.node.forEach((n, i) => {
    if (!constants.isFolded(n) && !visited.has(i)) {
      unsupported(`${nodeLabel(n, i)} is not on the chain from '${inputName}' to '${outputName}': only single-chain graphs are supported`, { opType: n.opType, node: n.name });
    }
  });
  return layers;
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
  if (!(bytes instanceof Uint8Array)) throw new TypeError('importOnnx: bytes must be a Uint8Array holding an .onnx file');
  if (opts.name !== undefined && (typeof opts.name !== 'string' || opts.name === '')) throw new TypeError('importOnnx: opts.name must be a non-empty string');
  if (bytes.length === 0) invalid('not a valid ONNX file: empty input');
  const model = parseModelProto(bytes);
  const graph = model.graph!;
  const constants = new ConstantTable(graph);
  const dataInputs = graph.input.filter((v) => !constants.has(v.name));
  if (dataInputs.length !== 1) unsupported(`graph has ${dataInputs.length} non-constant inputs (${dataInputs.map((v) => `'${v.name}'`).join(', ')}); exactly one is supported`);
  if (graph.output.length !== 1) unsupported(`graph has ${graph.output.length} outputs; exactly one is supported`);
  const input = dataInputs[0]!;
  const start = inputShapeOf(input);
  const layers = convertChain(graph, constants, input.name, graph.output[0]!.name, start);
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
        opset: Number(model.opsetImport.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version ?? 0n),
      },
    },
  };
}
