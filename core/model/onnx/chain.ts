/**
 * The chain walk: from the graph input to the graph output, one data-carrying node at a
 * time, converting each into IR layers (./ops.ts). Constant subgraphs were folded first
 * (./constants.ts); a Shape of the data is answered here, where the data's shape is known.
 * A Pad is held and folded into the Conv / AveragePool after it (zero pads are dropped).
 *
 * Every problem is collected and reported together in one MODEL_UNSUPPORTED_OP error, so a
 * user fixes a model in one round instead of one node per attempt: unsupported op types
 * anywhere in the graph (with a hint where a known rewrite exists), refused attributes on
 * the chain, and the first structural break (a branch, a merge, a node off the chain).
 */
import type { GraphProto, NodeProto } from 'onnx-buf';
import type { ErrorCode } from '../../errors.ts';
import { isPpnnError, PpnnError } from '../../errors.ts';
import { layerOutputShape } from '../shapes.ts';
import type { Layer, Shape } from '../types.ts';
import type { ConstantTable } from './constants.ts';
import { nodeLabel } from './constants.ts';
import { FOLDABLE_OPS, SYMBOLIC_BATCH } from './fold.ts';
import { convertNode, SUPPORTED_ONNX_OPS } from './ops.ts';
import { NodeAttributes } from './tensors.ts';

/** One reason the import cannot proceed, tied to a node when there is one. */
export interface ImportProblem {
  readonly code: ErrorCode;
  readonly message: string;
  readonly opType?: string;
  readonly node?: string;
  readonly hint?: string;
}

const ACTIVATION_HINT = 'use a square or polynomial activation (x*x, or a*x*x + b*x + c), which every scheme runs';
/** Known rewrites for ops the IR lacks, shown next to the refusal. */
export const REWRITE_HINTS: Readonly<Record<string, string>> = {
  Sigmoid: ACTIVATION_HINT,
  Tanh: ACTIVATION_HINT,
  Elu: ACTIVATION_HINT,
  Selu: ACTIVATION_HINT,
  LeakyRelu: ACTIVATION_HINT,
  PRelu: ACTIVATION_HINT,
  Softplus: ACTIVATION_HINT,
  Softsign: ACTIVATION_HINT,
  HardSigmoid: ACTIVATION_HINT,
  HardSwish: ACTIVATION_HINT,
  Gelu: ACTIVATION_HINT,
  Erf: ACTIVATION_HINT,
  Mish: ACTIVATION_HINT,
  Celu: ACTIVATION_HINT,
  Softmax: 'export the logits without the final softmax: argmax is unchanged and the schemes return logits',
  LogSoftmax: 'export the logits without the final log-softmax: argmax is unchanged and the schemes return logits',
  LayerNormalization: 'use BatchNorm, which folds into the neighbouring linear layer at inference',
  ReduceMean: 'use BatchNorm instead of a decomposed LayerNorm, or AvgPool / GlobalAveragePool for spatial means',
  Clip: 'ReLU6 / clamp have no exact share protocol; use ReLU (ring schemes) or a square activation',
  ConvTranspose: 'no transposed convolution in the IR; use Conv with stride 1 and padding',
  Resize: 'no upsampling in the IR',
  Upsample: 'no upsampling in the IR',
};

/** Pads [top, left, bottom, right] a Pad node adds to H and W, or undefined when it adds none. */
type SpatialPads = readonly [number, number, number, number];

function padOf(
  node: NodeProto,
  label: string,
  constants: ConstantTable,
  rank: number,
  opset: number,
): SpatialPads | undefined {
  const attrs = new NodeAttributes(node);
  const refuse = (why: string): never => {
    throw new PpnnError('MODEL_UNSUPPORTED_OP', `${label}: ${why}`, { opType: 'Pad', node: node.name });
  };
  const mode = attrs.string('mode', 'constant');
  if (mode !== 'constant') refuse(`mode '${mode}' has no equivalent in the IR (only zero padding)`);
  let pads: number[],
    value = 0;
  if (opset >= 11) {
    const p = node.input[1] ? constants.get(node.input[1]) : undefined;
    pads = p ? Array.from(p.values) : refuse('pads must be a constant');
    if (node.input[2]) value = constants.get(node.input[2])?.values[0] ?? Number.NaN;
    if (node.input[3]) refuse('the axes input (opset 18) is not supported');
  } else {
    pads = attrs.ints('pads', []);
    value = attrs.float('value', 0);
  }
  if (value !== 0) refuse(`constant_value ${value} is not zero padding`);
  if (pads.length !== 2 * rank) refuse(`pads [${pads}] do not fit a rank-${rank} value`);
  if (pads.every((p) => p === 0)) return undefined;
  if (rank !== 4 || pads[0] !== 0 || pads[1] !== 0 || pads[4] !== 0 || pads[5] !== 0) {
    refuse(`pads [${pads}] pad more than H and W`);
  }
  if (pads.some((p) => p < 0)) refuse(`negative pads [${pads}] (cropping) are not supported`);
  return [pads[2]!, pads[3]!, pads[6]!, pads[7]!];
}

function combined(problems: readonly ImportProblem[]): PpnnError {
  const code = problems.some((p) => p.code === 'MODEL_UNSUPPORTED_OP') ? 'MODEL_UNSUPPORTED_OP' : problems[0]!.code;
  const line = (p: ImportProblem): string => (p.hint ? `${p.message} (hint: ${p.hint})` : p.message);
  const message =
    problems.length === 1
      ? line(problems[0]!)
      : `${problems.length} problems block the import:\n${problems.map((p, i) => `  ${i + 1}. ${line(p)}`).join('\n')}`;
  return new PpnnError(code, message, { problems: problems.map((p) => ({ ...p })) });
}

/** Where the chain starts: the graph input's name and per-image shape. */
export interface ChainStart {
  readonly inputName: string;
  readonly outputName: string;
  readonly shape: Shape;
  readonly batchDim: number | null;
  readonly opset: number;
}

/**
 * Walk and convert the chain. Returns the layers; throws one PpnnError listing every
 * problem found (MODEL_UNSUPPORTED_OP when any is unsupported, else MODEL_INVALID).
 */
export function convertChain(graph: GraphProto, constants: ConstantTable, start: ChainStart): Layer[] {
  const problems: ImportProblem[] = [];
  const report = (e: unknown, node?: NodeProto): void => {
    if (!isPpnnError(e)) throw e;
    const opType = (e.details?.opType as string | undefined) ?? node?.opType;
    const hint = opType ? REWRITE_HINTS[opType] : undefined;
    problems.push({
      code: e.code,
      message: e.message,
      ...(opType ? { opType } : {}),
      ...(node?.name ? { node: node.name } : {}),
      ...(hint ? { hint } : {}),
    });
  };
  const structural = (message: string, node?: NodeProto): void =>
    report(new PpnnError('MODEL_UNSUPPORTED_OP', message), node);
  const supported = new Set([...SUPPORTED_ONNX_OPS, 'Pad', 'Shape']);
  // Unsupported op types anywhere in the graph: listed up front, whatever else goes wrong.
  // Foldable ops are skipped here: they may become constant once the walk answers a Shape.
  const listed = new Set<number>();
  graph.node.forEach((n, i) => {
    if (constants.isFolded(i) || (FOLDABLE_OPS.has(n.opType) && !supported.has(n.opType))) return;
    if (n.domain !== '' && n.domain !== 'ai.onnx') {
      structural(`${nodeLabel(n, i)}: op domain '${n.domain}' is not supported (only the default ONNX domain)`, n);
    } else if (!supported.has(n.opType)) {
      structural(
        `${nodeLabel(n, i)}: op '${n.opType}' is not supported (supported: ${SUPPORTED_ONNX_OPS.join(', ')}, Pad)`,
        n,
      );
    } else return;
    listed.add(i);
  });
  const consumersOf = (value: string): number[] => {
    const out: number[] = [];
    graph.node.forEach((n, i) => {
      if (!constants.isFolded(i) && n.input.includes(value)) out.push(i);
    });
    return out;
  };

  const layers: Layer[] = [];
  const names = new Set<string>();
  const visited = new Set<number>();
  const layout = { column: false };
  let current = start.inputName,
    shape = start.shape,
    trusted = true,
    broken = false;
  let pending: { pads: SpatialPads; label: string; node: NodeProto } | undefined;
  while (current !== start.outputName) {
    for (const i of consumersOf(current)) {
      if (graph.node[i]!.opType !== 'Shape') continue;
      // The data's full shape, batch axis first: what the exporter's view/reshape arithmetic reads.
      try {
        constants.setShape(i, [start.batchDim ?? SYMBOLIC_BATCH, ...shape]);
      } catch (e) {
        report(e, graph.node[i]);
      }
      visited.add(i);
    }
    const next = consumersOf(current);
    if (next.length !== 1) {
      const who = next.map((i) => nodeLabel(graph.node[i]!, i)).join(', ');
      structural(
        next.length === 0
          ? `value '${current}' feeds no node, but the graph output is '${start.outputName}': ` +
              'the graph is not a single chain'
          : `value '${current}' feeds ${next.length} nodes (${who}): ` +
              'only single-chain graphs are supported (no residual or parallel branches)',
      );
      broken = true;
      break;
    }
    const index = next[0]!;
    const node = graph.node[index]!;
    const label = nodeLabel(node, index);
    if (visited.has(index)) {
      report(new PpnnError('MODEL_INVALID', `${label}: the graph has a cycle`), node);
      broken = true;
      break;
    }
    visited.add(index);
    const stray = node.input.find((name) => name !== '' && name !== current && !constants.has(name));
    if (stray !== undefined) {
      structural(
        `${label}: input '${stray}' is neither the chain value '${current}' nor a constant: ` +
          'only single-chain graphs are supported',
        node,
      );
      broken = true;
      break;
    }
    const side = node.output.slice(1).find((o) => o !== '' && (consumersOf(o).length > 0 || o === start.outputName));
    if (side !== undefined)
      structural(`${label}: secondary output '${side}' is used; only the first output may be`, node);
    if (!node.output[0]) {
      report(new PpnnError('MODEL_INVALID', `${label}: has no output`), node);
      broken = true;
      break;
    }
    const dataInput = current;
    current = node.output[0];
    if (listed.has(index)) {
      trusted = false;
      continue;
    }
    if (node.opType === 'Pad') {
      try {
        const pads = padOf(node, label, constants, shape.length + 1, start.opset);
        if (pads && pending) structural(`${label}: two Pads in a row are not folded`, node);
        else if (pads) pending = { pads, label, node };
      } catch (e) {
        report(e, node);
        trusted = false;
      }
      continue;
    }
    let padTaken = false;
    const emittedBefore = layers.length;
    try {
      convertNode({
        node,
        label,
        attrs: new NodeAttributes(node),
        dataInput,
        shape,
        batchDim: start.batchDim,
        layers,
        opset: start.opset,
        layout,
        layerName: uniqueName(node.name || `${node.opType.toLowerCase()}${index}`, names),
        constant: (name) => constants.get(name),
        takePad: () => {
          padTaken = true;
          return pending?.pads ?? [0, 0, 0, 0];
        },
      });
    } catch (e) {
      if (trusted || !isPpnnError(e) || e.code !== 'MODEL_INVALID') report(e, node);
      trusted = false;
      continue;
    } finally {
      if (pending && !padTaken) {
        structural(
          `${pending.label}: non-zero pads [${pending.pads}] cannot be folded into ${label}: ` +
            'only a Conv or AveragePool right after a Pad absorbs it (zero padding)',
          pending.node,
        );
      }
      pending = undefined;
    }
    // Folding replaces the last layer in place (same output shape); new layers move the shape on.
    for (const layer of layers.slice(emittedBefore)) {
      try {
        shape = layerOutputShape(layer, shape);
      } catch (e) {
        if (trusted)
          report(new PpnnError('MODEL_INVALID', `${label}: ${e instanceof Error ? e.message : String(e)}`), node);
        trusted = false;
      }
    }
  }
  if (pending)
    structural(
      `${pending.label}: non-zero pads [${pending.pads}] at the end of the graph fold into nothing`,
      pending.node,
    );
  if (!broken) {
    graph.node.forEach((n, i) => {
      if (!constants.isFolded(i) && !visited.has(i) && !listed.has(i)) {
        structural(
          `${nodeLabel(n, i)} is not on the chain from '${start.inputName}' to '${start.outputName}': ` +
            'only single-chain graphs are supported',
          n,
        );
      }
    });
  }
  if (problems.length > 0) throw combined(problems);
  return layers;
}

function uniqueName(base: string, taken: Set<string>): string {
  let name = base,
    k = 2;
  while (taken.has(name)) name = `${base}_${k++}`;
  taken.add(name);
  return name;
}
