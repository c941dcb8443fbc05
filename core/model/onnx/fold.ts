/**
 * Constant folding of the shape arithmetic exporters write around the data chain.
 *
 * PyTorch exports `x.view(x.size(0), -1)` with a dynamic batch as
 * Shape → Gather → Unsqueeze → Concat → Reshape, and wraps weights in Identity / Cast /
 * Transpose. None of these compute on the data: once the data's shape is known they are
 * constants. `foldNode` evaluates one such node on constant inputs (numpy broadcasting,
 * ONNX semantics for each op). The batch size of a graph with a symbolic batch axis is
 * carried as NaN (`SYMBOLIC_BATCH`): arithmetic on it stays NaN, and the Reshape converter
 * accepts NaN only as the leading (batch) entry of a target shape.
 */
import type { NodeProto } from 'onnx-buf';
import { PpnnError } from '../../errors.ts';
import type { ConstTensor } from './tensors.ts';
import { constantNodeValue, NodeAttributes, ONNX_DTYPE } from './tensors.ts';

/** Stand-in for a symbolic batch size inside folded shape tensors. */
export const SYMBOLIC_BATCH = Number.NaN;

/** Ops `foldNode` evaluates when every input is a constant. */
export const FOLDABLE_OPS: ReadonlySet<string> = new Set([
  'Constant',
  'Identity',
  'Cast',
  'Shape',
  'Size',
  'Gather',
  'Unsqueeze',
  'Squeeze',
  'Concat',
  'Reshape',
  'Flatten',
  'Slice',
  'Transpose',
  'Add',
  'Sub',
  'Mul',
  'Div',
  'Neg',
  'ConstantOfShape',
  'Range',
  'Floor',
  'Ceil',
  'Sqrt',
  'Reciprocal',
]);

const INTEGER_DTYPES = new Set<number>([2, 3, 4, 5, 6, 7, 9, 12, 13]);

function bad(label: string, why: string): never {
  throw new PpnnError('MODEL_INVALID', `${label}: ${why}`);
}

function count(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

function strides(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length).fill(1);
  for (let i = dims.length - 2; i >= 0; i--) s[i] = s[i + 1]! * dims[i + 1]!;
  return s;
}

function tensor(name: string, dims: readonly number[], values: Float64Array, dtype?: number): ConstTensor {
  return dtype === undefined ? { name, dims, values } : { name, dims, values, dtype };
}

function isInteger(t: ConstTensor): boolean {
  return t.dtype !== undefined && INTEGER_DTYPES.has(t.dtype);
}

function axisOf(axis: number, rank: number, label: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) bad(label, `axis ${axis} out of range for rank ${rank}`);
  return a;
}

/** numpy-style broadcast of an elementwise binary op. */
function broadcast(
  a: ConstTensor,
  b: ConstTensor,
  f: (x: number, y: number) => number,
  out: string,
  label: string,
): ConstTensor {
  const rank = Math.max(a.dims.length, b.dims.length);
  const pad = (d: readonly number[]): number[] => [...new Array<number>(rank - d.length).fill(1), ...d];
  const da = pad(a.dims),
    db = pad(b.dims);
  const dims = da.map((x, i) => {
    const y = db[i]!;
    if (x !== y && x !== 1 && y !== 1) bad(label, `shapes [${a.dims}] and [${b.dims}] do not broadcast`);
    return Math.max(x, y);
  });
  const sa = strides(da),
    sb = strides(db),
    so = strides(dims);
  const n = count(dims);
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let ia = 0,
      ib = 0,
      r = i;
    for (let k = 0; k < rank; k++) {
      const c = Math.floor(r / so[k]!);
      r -= c * so[k]!;
      if (da[k] !== 1) ia += c * sa[k]!;
      if (db[k] !== 1) ib += c * sb[k]!;
    }
    values[i] = f(a.values[ia]!, b.values[ib]!);
  }
  return tensor(out, dims, values, a.dtype);
}

/** Integer list from a constant (axes, starts, shape, …). */
function ints(t: ConstTensor | undefined): number[] {
  return t ? Array.from(t.values) : [];
}

function gather(data: ConstTensor, idx: ConstTensor, axis: number, out: string, label: string): ConstTensor {
  const a = axisOf(axis, data.dims.length, label);
  const outer = count(data.dims.slice(0, a)),
    n = data.dims[a]!,
    inner = count(data.dims.slice(a + 1));
  const dims = [...data.dims.slice(0, a), ...idx.dims, ...data.dims.slice(a + 1)];
  const values = new Float64Array(count(dims));
  let o = 0;
  for (let p = 0; p < outer; p++) {
    for (const raw of idx.values) {
      const j = raw < 0 ? raw + n : raw;
      if (!(j >= 0 && j < n)) bad(label, `index ${raw} out of range for axis of size ${n}`);
      for (let q = 0; q < inner; q++) values[o++] = data.values[(p * n + j) * inner + q]!;
    }
  }
  return tensor(out, dims, values, data.dtype);
}

function slice(
  data: ConstTensor,
  starts: number[],
  ends: number[],
  axes: number[],
  steps: number[],
  out: string,
  label: string,
): ConstTensor {
  const rank = data.dims.length;
  const lo = new Array<number>(rank).fill(0),
    step = new Array<number>(rank).fill(1);
  const sizes = [...data.dims];
  axes.forEach((axis, k) => {
    const a = axisOf(axis, rank, label),
      n = data.dims[a]!,
      s = steps[k] ?? 1;
    if (s === 0) bad(label, 'slice step 0');
    const clamp = (v: number, min: number, max: number): number => Math.min(Math.max(v < 0 ? v + n : v, min), max);
    const b = s > 0 ? clamp(starts[k]!, 0, n) : clamp(starts[k]!, -1, n - 1);
    const e = s > 0 ? clamp(ends[k]!, 0, n) : clamp(ends[k]!, -1, n - 1);
    lo[a] = b;
    step[a] = s;
    sizes[a] = Math.max(0, Math.ceil((e - b) / s));
  });
  const src = strides(data.dims);
  return pick(data, sizes, out, (k, c) => (lo[k]! + c * step[k]!) * src[k]!);
}

function transpose(data: ConstTensor, perm: number[], out: string): ConstTensor {
  const rank = data.dims.length;
  const p = perm.length === rank ? perm : [...Array(rank).keys()].reverse();
  const dims = p.map((k) => data.dims[k]!);
  const src = strides(data.dims);
  return pick(data, dims, out, (k, c) => c * src[p[k]!]!);
}

/** The tensor `out` of `dims` whose coordinate c on axis k reads `offset(k, c)` (summed) into `data`. */
function pick(data: ConstTensor, dims: number[], out: string, offset: (k: number, c: number) => number): ConstTensor {
  const dst = strides(dims);
  const values = new Float64Array(count(dims));
  for (let i = 0; i < values.length; i++) {
    let r = i,
      at = 0;
    for (let k = 0; k < dims.length; k++) {
      const c = Math.floor(r / dst[k]!);
      r -= c * dst[k]!;
      at += offset(k, c);
    }
    values[i] = data.values[at]!;
  }
  return tensor(out, dims, values, data.dtype);
}

/** Output dims of ONNX Reshape: 0 copies the input dim (unless allowzero), one -1 is inferred. */
export function reshapeDims(
  input: readonly number[],
  target: readonly number[],
  allowZero: boolean,
  label: string,
): number[] {
  const dims = target.map((d, i) => (d === 0 && !allowZero ? input[i]! : d));
  const known = dims.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const free = dims.filter((d) => d === -1).length;
  if (free > 1) bad(label, `reshape target [${target}] has more than one -1`);
  const total = count(input);
  if (free === 1) {
    if (known === 0 || total % known !== 0) bad(label, `cannot reshape [${input}] to [${target}]`);
    return dims.map((d) => (d === -1 ? total / known : d));
  }
  if (known !== total) bad(label, `cannot reshape [${input}] to [${target}]`);
  return dims;
}

function castTo(t: ConstTensor, to: number, out: string): ConstTensor {
  const values = INTEGER_DTYPES.has(to)
    ? t.values.map((v) => (Number.isNaN(v) ? v : Math.trunc(v)))
    : to === 9
      ? t.values.map((v) => (v !== 0 ? 1 : 0))
      : t.values.slice();
  return tensor(out, t.dims, values, to);
}

/**
 * Evaluate `node` on constant `inputs` (undefined for omitted optional inputs). Returns the
 * first output's value, or undefined when the op is not foldable. Throws MODEL_INVALID for
 * inconsistent operands (bad axes, shapes that do not broadcast).
 */
export function foldNode(
  node: NodeProto,
  inputs: readonly (ConstTensor | undefined)[],
  label: string,
  opset: number,
): ConstTensor | undefined {
  const out = node.output[0] ?? '';
  const at = new NodeAttributes(node);
  const [x, y, z] = inputs;
  const need = (t: ConstTensor | undefined, what: string): ConstTensor => t ?? bad(label, `missing ${what}`);
  switch (node.opType) {
    case 'Constant':
      return constantNodeValue(node, label);
    case 'Identity':
      return { ...need(x, 'input'), name: out };
    case 'Cast':
      return castTo(need(x, 'input'), at.int('to', ONNX_DTYPE.FLOAT), out);
    case 'Shape': {
      const d = need(x, 'input').dims;
      const r = d.length,
        s = at.int('start', 0),
        e = at.int('end', r);
      const lo = Math.max(0, s < 0 ? s + r : s),
        hi = Math.min(r, e < 0 ? e + r : e);
      const dims = d.slice(lo, Math.max(lo, hi));
      return tensor(out, [dims.length], Float64Array.from(dims), ONNX_DTYPE.INT64);
    }
    case 'Size':
      return tensor(out, [], Float64Array.of(need(x, 'input').values.length), ONNX_DTYPE.INT64);
    case 'Gather':
      return gather(need(x, 'data'), need(y, 'indices'), at.int('axis', 0), out, label);
    case 'Unsqueeze':
    case 'Squeeze': {
      const d = need(x, 'input');
      const axes = opset >= 13 ? ints(y) : at.ints('axes', []);
      let dims: number[];
      if (node.opType === 'Unsqueeze') {
        const rank = d.dims.length + axes.length;
        const set = new Set(axes.map((a) => axisOf(a, rank, label)));
        const rest = [...d.dims];
        dims = Array.from({ length: rank }, (_, i) => (set.has(i) ? 1 : rest.shift()!));
      } else {
        const set = new Set(axes.map((a) => axisOf(a, d.dims.length, label)));
        dims = d.dims.filter((n, i) => (set.size === 0 ? n !== 1 : !set.has(i)));
      }
      return tensor(out, dims, d.values, d.dtype);
    }
    case 'Concat': {
      const parts = inputs.map((t, i) => need(t, `input ${i}`));
      const rank = parts[0]!.dims.length;
      const a = axisOf(at.int('axis', 0), rank, label);
      if (parts.some((p) => p.dims.length !== rank)) bad(label, 'Concat inputs of different ranks');
      const outer = count(parts[0]!.dims.slice(0, a));
      const dims = [...parts[0]!.dims];
      dims[a] = parts.reduce((s, p) => s + p.dims[a]!, 0);
      const values = new Float64Array(count(dims));
      let o = 0;
      for (let q = 0; q < outer; q++) {
        for (const p of parts) {
          const chunk = count(p.dims.slice(a));
          values.set(p.values.subarray(q * chunk, (q + 1) * chunk), o);
          o += chunk;
        }
      }
      return tensor(out, dims, values, parts[0]!.dtype);
    }
    case 'Reshape': {
      const d = need(x, 'data');
      const target = at.has('shape') ? at.ints('shape', []) : ints(need(y, 'shape'));
      return tensor(out, reshapeDims(d.dims, target, at.int('allowzero', 0) !== 0, label), d.values, d.dtype);
    }
    case 'Flatten': {
      const d = need(x, 'input');
      const a = at.int('axis', 1),
        k = a < 0 ? a + d.dims.length : a;
      return tensor(out, [count(d.dims.slice(0, k)), count(d.dims.slice(k))], d.values, d.dtype);
    }
    case 'Slice': {
      const d = need(x, 'data');
      if (opset < 10) {
        const starts = at.ints('starts', []);
        return slice(
          d,
          starts,
          at.ints('ends', []),
          at.ints(
            'axes',
            starts.map((_, i) => i),
          ),
          [],
          out,
          label,
        );
      }
      const starts = ints(need(y, 'starts'));
      const axes = inputs[3] ? ints(inputs[3]) : starts.map((_, i) => i);
      return slice(d, starts, ints(need(z, 'ends')), axes, ints(inputs[4]), out, label);
    }
    case 'Transpose':
      return transpose(need(x, 'input'), at.ints('perm', []), out);
    case 'Add':
      return broadcast(need(x, 'A'), need(y, 'B'), (a, b) => a + b, out, label);
    case 'Sub':
      return broadcast(need(x, 'A'), need(y, 'B'), (a, b) => a - b, out, label);
    case 'Mul':
      return broadcast(need(x, 'A'), need(y, 'B'), (a, b) => a * b, out, label);
    case 'Div': {
      const a = need(x, 'A'),
        b = need(y, 'B');
      return broadcast(a, b, isInteger(a) ? (p, q) => Math.trunc(p / q) : (p, q) => p / q, out, label);
    }
    case 'Neg': {
      const a = need(x, 'X');
      return tensor(
        out,
        a.dims,
        a.values.map((v) => -v),
        a.dtype,
      );
    }
    case 'Floor': {
      const a = need(x, 'X');
      return tensor(out, a.dims, a.values.map(Math.floor), a.dtype);
    }
    case 'Ceil': {
      const a = need(x, 'X');
      return tensor(out, a.dims, a.values.map(Math.ceil), a.dtype);
    }
    case 'Sqrt': {
      const a = need(x, 'X');
      return tensor(out, a.dims, a.values.map(Math.sqrt), a.dtype);
    }
    case 'Reciprocal': {
      const a = need(x, 'X');
      return tensor(
        out,
        a.dims,
        a.values.map((v) => 1 / v),
        a.dtype,
      );
    }
    case 'ConstantOfShape': {
      const dims = ints(need(x, 'shape'));
      const v = node.attribute.find((a) => a.name === 'value');
      const fill = v ? constantNodeValue({ ...node, attribute: [v] } as NodeProto, label) : undefined;
      return tensor(
        out,
        dims,
        new Float64Array(count(dims)).fill(fill?.values[0] ?? 0),
        fill?.dtype ?? ONNX_DTYPE.FLOAT,
      );
    }
    case 'Range': {
      const [s, l, d] = [x, y, z].map((t) => need(t, 'operand').values[0]!) as [number, number, number];
      const n = Math.max(0, Math.ceil((l - s) / d));
      return tensor(
        out,
        [n],
        Float64Array.from({ length: n }, (_, i) => s + i * d),
        x!.dtype,
      );
    }
    default:
      return undefined;
  }
}
