/**
 * The constant values of an ONNX graph: initializers, Constant nodes, and every node whose
 * inputs are all constant and whose op `foldNode` can evaluate (Identity / Cast / Transpose
 * of weights, the shape arithmetic of `x.view(x.size(0), -1)`). Shape nodes on the data
 * chain become constant once the chain walk knows the data's shape (`setShape`), and a new
 * folding pass then resolves what depends on them.
 */
import type { GraphProto, NodeProto, TensorProto } from 'onnx-buf';
import { PpnnError } from '../../errors.ts';
import { FOLDABLE_OPS, foldNode } from './fold.ts';
import type { ConstTensor } from './tensors.ts';
import { decodeTensor, ONNX_DTYPE } from './tensors.ts';

/** e.g. "Conv node 'conv1' (#3)": how every message names a node. */
export function nodeLabel(node: NodeProto, index: number): string {
  return node.name ? `${node.opType} node '${node.name}' (#${index})` : `${node.opType} node #${index}`;
}

/** Resolves constant operands and folds constant subgraphs. */
export class ConstantTable {
  private readonly raw = new Map<string, TensorProto>();
  private readonly decoded = new Map<string, ConstTensor>();
  /** indices of nodes evaluated to constants: they are not part of the chain */
  private readonly folded = new Set<number>();
  private readonly graph: GraphProto;
  private readonly opset: number;

  constructor(graph: GraphProto, opset: number) {
    this.graph = graph;
    this.opset = opset;
    for (const t of graph.initializer) this.raw.set(t.name, t);
    this.fold();
  }

  /**
   * One pass in graph order (ONNX requires topological order) evaluating every foldable
   * node whose inputs are all known. Throws MODEL_INVALID for inconsistent constant ops.
   */
  fold(): void {
    this.graph.node.forEach((n, i) => {
      if (this.folded.has(i) || !FOLDABLE_OPS.has(n.opType) || !n.output[0]) return;
      if (!n.input.every((name) => name === '' || this.has(name))) return;
      const value = foldNode(
        n,
        n.input.map((name) => (name === '' ? undefined : this.get(name))),
        nodeLabel(n, i),
        this.opset,
      );
      if (value) {
        this.decoded.set(n.output[0], { ...value, name: n.output[0] });
        this.folded.add(i);
      }
    });
  }

  /** Record the value of Shape node `index` applied to a chain value of full shape `dims`. */
  setShape(index: number, dims: readonly number[]): void {
    const node = this.graph.node[index]!;
    const input: ConstTensor = { name: node.input[0]!, dims, values: new Float64Array(0) };
    const value = foldNode(node, [input], nodeLabel(node, index), this.opset);
    if (!value || !node.output[0]) throw new PpnnError('INTERNAL', `${nodeLabel(node, index)}: Shape did not fold`);
    this.decoded.set(node.output[0], { ...value, name: node.output[0], dtype: ONNX_DTYPE.INT64 });
    this.folded.add(index);
    this.fold();
  }

  /** True when node `index` only computes a constant: it is not part of the chain. */
  isFolded(index: number): boolean {
    return this.folded.has(index);
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
