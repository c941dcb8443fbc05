// Long file: one converter per ONNX operator in a single table-driven file, so the list of what is supported
// (and refused) reads in one place; each converter is short and independent. Owned by the import engineer
// this round (issue 15); a split by operator family is possible when it grows.
/**
 * One converter per supported ONNX operator: each reads one node of the chain and either
 * appends IR layers or folds the node into the layer just emitted (a bias Add after
 * MatMul, a scalar Mul/Add after a square activation). Anything the IR cannot express
 * exactly is refused with MODEL_UNSUPPORTED_OP naming the op and the node, never
 * approximated: a silently different network would make every later figure wrong.
 */
import type { NodeProto } from 'onnx-buf';
import { PpnnError } from '../../errors.ts';
import type { Conv2dLayer, DenseLayer, Layer, PolyLayer, Shape } from '../types.ts';
import type { ConstTensor } from './tensors.ts';
import { NodeAttributes } from './tensors.ts';

/** What a converter sees: the node, its constant operands and the chain built so far. */
export interface OpContext {
  readonly node: NodeProto;
  /** e.g. "Conv node 'conv1' (#3)", used in every error message */
  readonly label: string;
  readonly attrs: NodeAttributes;
  /** name of the chain value this node consumes */
  readonly dataInput: string;
  /** unique IR layer name for a layer made from this node */
  readonly layerName: string;
  /** shape of the chain value (no batch axis) */
  readonly shape: Shape;
  /** concrete batch size of the graph input, when the model fixes one */
  readonly batchDim: number | null;
  /** layers emitted so far (converters may replace the last one when folding) */
  readonly layers: Layer[];
  /** default-domain opset of the model (some ops moved attributes to inputs) */
  readonly opset: number;
  /**
   * Orientation of the chain value: `column` after a Gemm with the weight as operand A
   * (Y = W·xᵀ is [out, 1], batch axis last); a Reshape to [1, -1] turns it back.
   */
  readonly layout: { column: boolean };
  /** decoded constant operand (initializer or Constant node) by value name, if any */
  constant(name: string): ConstTensor | undefined;
  /** H/W pads [top, left, bottom, right] of a Pad right before this node, claimed by this node */
  takePad(): readonly [number, number, number, number];
}

function refuse(ctx: OpContext, why: string): never {
  throw new PpnnError('MODEL_UNSUPPORTED_OP', `${ctx.label}: ${why}`, { opType: ctx.node.opType, node: ctx.node.name });
}

function malformed(ctx: OpContext, why: string): never {
  throw new PpnnError('MODEL_INVALID', `${ctx.label}: ${why}`);
}

/** Position of the chain value among the node's inputs. */
function dataIndex(ctx: OpContext): number {
  return ctx.node.input.indexOf(ctx.dataInput);
}

/** The constant at input `i`; refuses when that operand is not a constant. */
function constInput(ctx: OpContext, i: number, role: string): ConstTensor {
  const name = ctx.node.input[i];
  if (!name) malformed(ctx, `missing ${role} (input ${i})`);
  const t = ctx.constant(name);
  if (!t) refuse(ctx, `${role} '${name}' must be an initializer or Constant (only single-chain graphs are supported)`);
  return t;
}

function optionalConstInput(ctx: OpContext, i: number, role: string): ConstTensor | undefined {
  return ctx.node.input[i] ? constInput(ctx, i, role) : undefined;
}

function allOnes(v: readonly number[]): boolean {
  return v.every((x) => x === 1);
}

/** The node's own 2-D pads [top, left, bottom, right]; refuses SAME_* auto padding. */
function ownPads(ctx: OpContext): number[] {
  const autoPad = ctx.attrs.string('auto_pad', 'NOTSET');
  if (autoPad !== 'NOTSET' && autoPad !== 'VALID')
    refuse(ctx, `auto_pad=${autoPad} is not supported; export with explicit pads`);
  const pads = autoPad === 'VALID' ? [0, 0, 0, 0] : ctx.attrs.ints('pads', [0, 0, 0, 0]);
  if (pads.length !== 4) refuse(ctx, `pads [${pads.join(',')}] is not 2-D`);
  return pads;
}

/**
 * Symmetric IR padding from the node's pads plus `extra` (a folded Pad before it);
 * refuses asymmetric totals, which the IR (top = bottom, left = right) cannot express.
 */
function symmetricPadding(
  ctx: OpContext,
  pads: readonly number[],
  extra: readonly number[] = [0, 0, 0, 0],
): [number, number] {
  const p = pads.map((v, i) => v + extra[i]!);
  const folded = extra.some((v) => v !== 0) ? ` (including a folded Pad of [${extra.join(',')}])` : '';
  if (p[0] !== p[2] || p[1] !== p[3])
    refuse(ctx, `asymmetric pads [${p.join(',')}]${folded} are not supported (the IR pads top=bottom, left=right)`);
  return [p[0]!, p[1]!];
}

function pair(ctx: OpContext, name: string, v: readonly number[]): [number, number] {
  if (v.length !== 2 || v.some((x) => !Number.isSafeInteger(x) || x < 1))
    refuse(ctx, `${name} [${v.join(',')}] is not a pair of positive integers (only 2-D ops are supported)`);
  return [v[0]!, v[1]!];
}

function convert_Conv(ctx: OpContext): void {
  if (dataIndex(ctx) !== 0) refuse(ctx, 'the chain value must be the convolution input X');
  const w = constInput(ctx, 1, 'weight W');
  if (w.dims.length !== 4) refuse(ctx, `weight of rank ${w.dims.length}: only 2-D convolutions are supported`);
  const [outChannels, inChannels, kh, kw] = w.dims as [number, number, number, number];
  const group = ctx.attrs.int('group', 1);
  if (group !== 1) refuse(ctx, `group=${group} (grouped/depthwise convolution) is not supported`);
  if (!allOnes(ctx.attrs.ints('dilations', [1, 1])))
    refuse(ctx, `dilations [${ctx.attrs.ints('dilations', [])}] are not supported (only 1)`);
  if (ctx.attrs.has('kernel_shape')) {
    const k = ctx.attrs.ints('kernel_shape', []);
    if (k[0] !== kh || k[1] !== kw) malformed(ctx, `kernel_shape [${k}] disagrees with weight dims [${w.dims}]`);
  }
  const stride = pair(ctx, 'strides', ctx.attrs.ints('strides', [1, 1]));
  const padding = symmetricPadding(ctx, ownPads(ctx), ctx.takePad());
  const b = optionalConstInput(ctx, 2, 'bias B');
  if (b && b.values.length !== outChannels)
    malformed(ctx, `bias has ${b.values.length} values for ${outChannels} output channels`);
  const layer: Conv2dLayer = {
    kind: 'conv2d',
    name: ctx.layerName,
    inChannels,
    outChannels,
    kernel: [kh, kw],
    stride,
    padding,
    weight: w.values,
    bias: b ? b.values : new Float64Array(outChannels),
  };
  ctx.layers.push(layer);
}

function dense(
  ctx: OpContext,
  weight: Float64Array,
  inFeatures: number,
  outFeatures: number,
  bias: Float64Array,
): DenseLayer {
  return { kind: 'dense', name: ctx.layerName, inFeatures, outFeatures, weight, bias };
}

/** Bias of `n` values from a constant that ONNX broadcasts over the last axis (size n or 1). */
function broadcastBias(ctx: OpContext, c: ConstTensor, n: number, scale: number): Float64Array {
  if (c.values.length !== n && c.values.length !== 1)
    refuse(ctx, `bias of dims [${c.dims}] does not broadcast per output feature (${n})`);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = scale * c.values[c.values.length === 1 ? 0 : i]!;
  return out;
}

/** Row-major [out][in] copy of a 2-D constant, transposed when `trans`, scaled by alpha. */
function weightOf(
  ctx: OpContext,
  t: ConstTensor,
  trans: boolean,
  alpha: number,
): { weight: Float64Array; inF: number; outF: number } {
  if (t.dims.length !== 2) malformed(ctx, `weight has dims [${t.dims}], expected 2-D`);
  const [outF, inF] = trans ? [t.dims[1]!, t.dims[0]!] : [t.dims[0]!, t.dims[1]!];
  const weight = new Float64Array(outF * inF);
  for (let o = 0; o < outF; o++) {
    for (let i = 0; i < inF; i++) weight[o * inF + i] = alpha * t.values[trans ? i * outF + o : o * inF + i]!;
  }
  return { weight, inF, outF };
}

/**
 * Gemm with the weight as operand A: Y = alpha·A'·xᵀ + beta·C needs x as operand B with
 * transB=1 on a row [1, F] (output the column [out, 1]), or transB=0 on a column.
 */
function gemmWeightFirst(ctx: OpContext, alpha: number, beta: number, transA: boolean, transB: boolean): void {
  if (ctx.batchDim !== 1)
    refuse(ctx, 'the data as operand B puts the batch axis last; this is supported only for a fixed batch of 1');
  if (transB === ctx.layout.column)
    refuse(
      ctx,
      `transB=${transB ? 1 : 0} on a ${ctx.layout.column ? 'column' : 'row'} value does not multiply per image`,
    );
  const { weight, inF, outF } = weightOf(ctx, constInput(ctx, 0, 'weight A'), transA, alpha);
  const c = optionalConstInput(ctx, 2, 'bias C');
  if (c && c.values.length !== 1 && (c.values.length !== outF || (c.dims.at(-1) !== 1 && c.dims.length > 1))) {
    refuse(ctx, `bias of dims [${c.dims}] does not broadcast per output row (${outF})`);
  }
  ctx.layers.push(dense(ctx, weight, inF, outF, c ? broadcastBias(ctx, c, outF, beta) : new Float64Array(outF)));
  ctx.layout.column = true;
}

function convert_Gemm(ctx: OpContext): void {
  const alpha = ctx.attrs.float('alpha', 1),
    beta = ctx.attrs.float('beta', 1);
  const transA = ctx.attrs.int('transA', 0) !== 0,
    transB = ctx.attrs.int('transB', 0) !== 0;
  if (dataIndex(ctx) === 1) {
    gemmWeightFirst(ctx, alpha, beta, transA, transB);
    return;
  }
  if (dataIndex(ctx) !== 0) refuse(ctx, 'the chain value must be operand A or B');
  if (transA || ctx.layout.column) {
    refuse(
      ctx,
      'the data as operand A must be a row [N, F] with transA=0 (transA=1 would multiply across the batch axis)',
    );
  }
  const b = constInput(ctx, 1, 'weight B');
  if (b.dims.length !== 2) malformed(ctx, `weight B has dims [${b.dims}], expected 2-D`);
  // ONNX Gemm is Y = alpha·A·B' + beta·C with B' = Bᵀ when transB; the IR wants [out][in].
  const [outF, inF] = transB ? [b.dims[0]!, b.dims[1]!] : [b.dims[1]!, b.dims[0]!];
  const weight = new Float64Array(outF * inF);
  for (let o = 0; o < outF; o++) {
    for (let i = 0; i < inF; i++) weight[o * inF + i] = alpha * b.values[transB ? o * inF + i : i * outF + o]!;
  }
  const c = optionalConstInput(ctx, 2, 'bias C');
  ctx.layers.push(dense(ctx, weight, inF, outF, c ? broadcastBias(ctx, c, outF, beta) : new Float64Array(outF)));
}

function convert_MatMul(ctx: OpContext): void {
  if (ctx.layout.column)
    refuse(ctx, 'x·W on a column value (after a weight-first Gemm) is not supported; reshape to [1, -1] first');
  if (dataIndex(ctx) !== 0) refuse(ctx, 'the chain value must be the left operand (x·W)');
  const b = constInput(ctx, 1, 'weight');
  if (b.dims.length !== 2) refuse(ctx, `weight of dims [${b.dims}]: only a 2-D right operand is supported`);
  const [inF, outF] = b.dims as [number, number];
  const weight = new Float64Array(outF * inF);
  for (let o = 0; o < outF; o++) for (let i = 0; i < inF; i++) weight[o * inF + i] = b.values[i * outF + o]!;
  // A following Add of a constant becomes this layer's bias (see convert_Add).
  ctx.layers.push(dense(ctx, weight, inF, outF, new Float64Array(outF)));
}

function convert_BatchNormalization(ctx: OpContext): void {
  if (dataIndex(ctx) !== 0) refuse(ctx, 'the chain value must be input X');
  if (ctx.attrs.int('training_mode', 0) !== 0)
    refuse(ctx, 'training_mode=1 is not supported (export the model in eval mode)');
  if (ctx.attrs.int('spatial', 1) !== 1) refuse(ctx, 'spatial=0 is not supported');
  if (ctx.layout.column) refuse(ctx, 'BatchNormalization of a column value normalises across the batch axis');
  const channels = ctx.shape[0] ?? 0;
  const [gamma, beta, mean, variance] = ['scale', 'B', 'input_mean', 'input_var'].map((role, k) => {
    const t = constInput(ctx, k + 1, role);
    if (t.values.length !== channels) malformed(ctx, `${role} has ${t.values.length} values for ${channels} channels`);
    return t.values;
  }) as [Float64Array, Float64Array, Float64Array, Float64Array];
  ctx.layers.push({
    kind: 'batchnorm',
    name: ctx.layerName,
    channels,
    gamma,
    beta,
    mean,
    variance,
    epsilon: ctx.attrs.float('epsilon', 1e-5),
  });
}

function poolCommon(
  ctx: OpContext,
  extra?: readonly number[],
): { kernel: [number, number]; stride: [number, number]; padding: [number, number] } {
  if (ctx.attrs.int('ceil_mode', 0) !== 0) refuse(ctx, 'ceil_mode=1 is not supported');
  if (!allOnes(ctx.attrs.ints('dilations', [1, 1]))) refuse(ctx, 'dilations other than 1 are not supported');
  if (!ctx.attrs.has('kernel_shape')) malformed(ctx, 'kernel_shape attribute is required');
  return {
    kernel: pair(ctx, 'kernel_shape', ctx.attrs.ints('kernel_shape', [])),
    stride: pair(ctx, 'strides', ctx.attrs.ints('strides', [1, 1])),
    padding: symmetricPadding(ctx, ownPads(ctx), extra),
  };
}

function convert_AveragePool(ctx: OpContext): void {
  // The IR divides by the full window (count_include_pad=1). With count_include_pad=0 the
  // border windows divide by fewer cells; that differs whenever the node pads. Zeros that a
  // Pad before it wrote are real input cells, counted either way: they fold exactly.
  const own = ownPads(ctx);
  if (own.some((v) => v > 0) && ctx.attrs.int('count_include_pad', 0) === 0) {
    refuse(
      ctx,
      `count_include_pad=0 with pads [${own}] divides border windows by fewer cells than the IR's average pooling; ` +
        `export with count_include_pad=True or without padding`,
    );
  }
  ctx.layers.push({ kind: 'avgpool', name: ctx.layerName, ...poolCommon(ctx, ctx.takePad()) });
}

function convert_MaxPool(ctx: OpContext): void {
  ctx.layers.push({ kind: 'maxpool', name: ctx.layerName, ...poolCommon(ctx) });
}

function convertGlobalPool(ctx: OpContext, kind: 'avgpool' | 'maxpool'): void {
  if (ctx.shape.length !== 3) malformed(ctx, `expects a CHW value, got [${ctx.shape}]`);
  const kernel: [number, number] = [ctx.shape[1]!, ctx.shape[2]!];
  ctx.layers.push({ kind, name: ctx.layerName, kernel, stride: kernel, padding: [0, 0] });
}

function flatten(ctx: OpContext): void {
  // A flat value stays flat; emitting a no-op layer would only add work to merging.
  if (ctx.shape.length > 1) ctx.layers.push({ kind: 'flatten', name: ctx.layerName });
}

function convert_Flatten(ctx: OpContext): void {
  const raw = ctx.attrs.int('axis', 1);
  const axis = raw < 0 ? raw + ctx.shape.length + 1 : raw;
  // axis 0 folds the batch axis into the features: the same per-image vector when the batch is 1.
  if (axis === 0 && ctx.batchDim === 1) ctx.layout.column = false;
  else if (axis !== 1)
    refuse(ctx, `axis=${raw} is not supported (only axis=1, which keeps the batch axis, or 0 with a batch of 1)`);
  if (ctx.layout.column && axis === 1) return; // [F, 1] stays [F, 1]
  flatten(ctx);
}

function convert_Reshape(ctx: OpContext): void {
  if (dataIndex(ctx) !== 0) refuse(ctx, 'the chain value must be the data input');
  // opset < 5 carries the target shape as an attribute, later opsets as a constant input.
  const target = ctx.attrs.has('shape') ? ctx.attrs.ints('shape', []) : Array.from(constInput(ctx, 1, 'shape').values);
  let size = 1;
  for (const d of ctx.shape) size *= d;
  // NaN is the symbolic batch size folded from Shape(x)[0] (see ./fold.ts).
  const keepsBatch = (d: number): boolean =>
    Number.isNaN(d) || d === 1 || d === -1 || (d === 0 && ctx.attrs.int('allowzero', 0) === 0) || d === ctx.batchDim;
  const sameDim = (d: number, i: number): boolean =>
    d === ctx.shape[i] || (d === 0 && ctx.attrs.int('allowzero', 0) === 0);
  const [first, ...rest] = target;
  const text = target.map((d) => (Number.isNaN(d) ? 'N' : String(d))).join(',');
  if (first === undefined || !keepsBatch(first) || rest.some(Number.isNaN))
    refuse(ctx, `reshape to [${text}] does not keep the batch axis first`);
  if (ctx.layout.column) {
    // [F, 1] → [1, F] (or [1, -1]): the same vector as a row again.
    if (target.length === 2 && first !== -1 && (rest[0] === -1 || rest[0] === size)) {
      ctx.layout.column = false;
      return;
    }
    refuse(ctx, `reshape to [${text}] of a column value is not supported (only [1,-1])`);
  }
  if (target.length === 2 && ((rest[0] === -1 && first !== -1) || rest[0] === size)) {
    flatten(ctx);
    return;
  }
  // A reshape to the shape the value already has (e.g. [N, C, H, W]) is a no-op.
  const free = rest.filter((d) => d === -1).length;
  if (rest.length === ctx.shape.length && free <= 1 && first !== -1 && rest.every((d, i) => d === -1 || sameDim(d, i)))
    return;
  refuse(
    ctx,
    `reshape to [${text}] of a [${ctx.shape}] value is not supported (only [N,-1], [1,-1], [-1,${size}] flattening ` +
      `or the same shape)`,
  );
}

/** Scalar value of a constant operand, or undefined when it has more than one element. */
function scalarOf(t: ConstTensor): number | undefined {
  return t.values.length === 1 ? t.values[0]! : undefined;
}

function asPoly(layer: Layer): PolyLayer | undefined {
  if (layer.kind === 'square') return { kind: 'poly', name: layer.name, a: 1, b: 0, c: 0 };
  if (layer.kind === 'poly') return layer;
  return undefined;
}

function otherOperand(ctx: OpContext): ConstTensor {
  const i = dataIndex(ctx);
  if (ctx.node.input.length !== 2) malformed(ctx, `expects 2 inputs, has ${ctx.node.input.length}`);
  return constInput(ctx, 1 - i, 'operand');
}

function convert_Add(ctx: OpContext): void {
  const k = otherOperand(ctx);
  const last = ctx.layers.at(-1);
  const replaceLast = (l: Layer): void => {
    ctx.layers[ctx.layers.length - 1] = l;
  };
  if (last?.kind === 'dense') {
    const add = broadcastBias(ctx, k, last.outFeatures, 1);
    replaceLast({ ...last, bias: last.bias.map((v, i) => v + add[i]!) });
    return;
  }
  if (last?.kind === 'conv2d') {
    // Per-channel bias must be shaped [C,1,1] (or [1,C,1,1]) to broadcast over NCHW.
    const perChannel =
      k.values.length === last.outChannels && k.dims.length >= 3 && k.dims.slice(-2).every((d) => d === 1);
    if (!perChannel && k.values.length !== 1) refuse(ctx, `constant of dims [${k.dims}] is not a per-channel bias`);
    replaceLast({ ...last, bias: last.bias.map((v, i) => v + k.values[k.values.length === 1 ? 0 : i]!) });
    return;
  }
  const poly = last && asPoly(last);
  const c = scalarOf(k);
  if (poly && c !== undefined) {
    replaceLast({ ...poly, c: poly.c + c });
    return;
  }
  refuse(
    ctx,
    'Add of a constant is supported only right after Conv/Gemm/MatMul (bias) or as a scalar after a square/poly ' +
      'activation',
  );
}

function scaleLast(ctx: OpContext, factor: number | undefined, opName: string): void {
  const last = ctx.layers.at(-1);
  const poly = last && asPoly(last);
  if (poly && factor !== undefined) {
    ctx.layers[ctx.layers.length - 1] = { ...poly, a: poly.a * factor, b: poly.b * factor, c: poly.c * factor };
    return;
  }
  refuse(ctx, `${opName} by a constant is supported only as a scalar right after a square/poly activation`);
}

function convert_Mul(ctx: OpContext): void {
  const [x, y] = ctx.node.input;
  if (x === ctx.dataInput && y === ctx.dataInput) {
    ctx.layers.push({ kind: 'square', name: ctx.layerName });
    return;
  }
  scaleLast(ctx, scalarOf(otherOperand(ctx)), 'Mul');
}

function convert_Div(ctx: OpContext): void {
  if (dataIndex(ctx) !== 0) refuse(ctx, 'division of a constant by the chain value is not supported');
  const d = scalarOf(constInput(ctx, 1, 'divisor'));
  if (d === 0) malformed(ctx, 'division by zero');
  scaleLast(ctx, d === undefined ? undefined : 1 / d, 'Div');
}

function convert_Pow(ctx: OpContext): void {
  if (dataIndex(ctx) !== 0) refuse(ctx, 'the chain value must be the base');
  const e = scalarOf(constInput(ctx, 1, 'exponent'));
  if (e !== 2) refuse(ctx, `exponent ${e ?? '(tensor)'} is not supported (only x^2, as a square activation)`);
  ctx.layers.push({ kind: 'square', name: ctx.layerName });
}

function convert_Dropout(ctx: OpContext): void {
  // opset 12+ carries training_mode as an optional constant input; true would drop values.
  const mode = ctx.node.input[2] ? ctx.constant(ctx.node.input[2]) : undefined;
  if (ctx.node.input[2] && (!mode || mode.values[0] !== 0))
    refuse(ctx, 'training_mode must be a constant false (export in eval mode)');
}

const CONVERTERS: Record<string, (ctx: OpContext) => void> = {
  Conv: convert_Conv,
  Gemm: convert_Gemm,
  MatMul: convert_MatMul,
  Add: convert_Add,
  Mul: convert_Mul,
  Div: convert_Div,
  Pow: convert_Pow,
  Relu: (ctx) => {
    ctx.layers.push({ kind: 'relu', name: ctx.layerName });
  },
  BatchNormalization: convert_BatchNormalization,
  AveragePool: convert_AveragePool,
  MaxPool: convert_MaxPool,
  GlobalAveragePool: (ctx) => convertGlobalPool(ctx, 'avgpool'),
  GlobalMaxPool: (ctx) => convertGlobalPool(ctx, 'maxpool'),
  Flatten: convert_Flatten,
  Reshape: convert_Reshape,
  // Inference-time no-ops: the chain value passes through unchanged.
  Identity: () => {},
  Dropout: convert_Dropout,
};

/** ONNX op types this importer converts (for docs and error messages). */
export const SUPPORTED_ONNX_OPS: readonly string[] = Object.keys(CONVERTERS);

/**
 * Convert one chain node, mutating `ctx.layers`. Throws MODEL_UNSUPPORTED_OP naming the
 * op and node for unsupported ops or attributes, MODEL_INVALID for inconsistent nodes.
 */
export function convertNode(ctx: OpContext): void {
  const convert = CONVERTERS[ctx.node.opType];
  if (!convert) refuse(ctx, `op '${ctx.node.opType}' is not supported (supported: ${SUPPORTED_ONNX_OPS.join(', ')})`);
  convert(ctx);
}
