/**
 * The one circuit behind ReLU and max-pool on Z_p shares (p an odd prime < 2^52,
 * n = ceil(log2 p), h = (p − 1)/2; x ∈ Z_p is "negative" when x > h):
 *
 *   inputs   client shares a_1..a_w, server shares b_1..b_w (n bits each), server mask t
 *   x_i = a_i + b_i mod p                                   addMod, ≤ 3n+1 ANDs
 *   u_i = signed(x_i) + 2^(n−1)  ∈ [0, 2^n)                  [x_i > h] (n) + x_i − [x_i > h]·p (n)
 *   u = max_i u_i  (comparison tree, w − 1 nodes)            lessThan + mux, 2n each
 *   relu:  u ← u_{n−1} ? u : 2^(n−1)                          n − 1 ANDs
 *   y = floor(signed / 2^f) mod p: (u >> f) with its top bit flipped is the two's
 *       complement of floor(signed / 2^f); add p when negative  n ANDs (none after relu)
 *   out = y − t mod p                                         2n ANDs
 *
 * u is an order-preserving map of the signed value into unsigned n-bit integers (offset
 * binary), so max needs no sign logic, ReLU is one AND per bit with the top bit, and the
 * truncation is exact: the floor of the signed value, with no probabilistic error.
 * The evaluator (client) decodes out = F(x) − t; the garbler's share is t.
 */
import { CircuitBuilder, type Circuit } from './circuit.ts';

/** Parameters of one activation circuit. */
export interface ActivationSpec {
  /** odd prime modulus, 3 ≤ p < 2^52 */
  p: number;
  /** bits to truncate (fixed-point rescale), 0 ≤ truncBits < n */
  truncBits: number;
  /** values per window: 1 for a plain ReLU, k·k for a max-pool window */
  window: number;
  /** apply ReLU (fused after the max: ReLU∘max = max∘ReLU) */
  relu: boolean;
}

/** Bit width n = ceil(log2 p) of Z_p elements. */
export function ringBits(p: number): number {
  return Math.ceil(Math.log2(p));
}

/** Input layout of the activation circuit: which input bits are whose. */
export interface ActivationLayout {
  n: number;
  /** first input bit of the client's shares (w·n bits) */
  clientAt: number;
  /** first input bit of the server's shares (w·n bits) */
  serverAt: number;
  /** first input bit of the server's output mask t (n bits) */
  maskAt: number;
}

/** Validate a spec; throws RangeError naming the bad field. */
export function checkActivationSpec(spec: ActivationSpec): void {
  const { p, truncBits, window } = spec;
  if (!Number.isSafeInteger(p) || p < 3 || p >= 2 ** 52 || p % 2 === 0)
    throw new RangeError('p must be an odd integer in [3, 2^52)');
  const n = ringBits(p);
  if (!Number.isInteger(truncBits) || truncBits < 0 || truncBits >= n - 1)
    throw new RangeError(`truncBits must be an integer in [0, ${n - 2}]`);
  if (!Number.isInteger(window) || window < 1 || window > 1024)
    throw new RangeError('window must be an integer in [1, 1024]');
  if (typeof spec.relu !== 'boolean') throw new RangeError('relu must be a boolean');
}

const built = new Map<string, { circuit: Circuit; layout: ActivationLayout }>();

/** Build and compile the activation circuit of `spec` with its input layout (cached: circuits are immutable). */
export function activationCircuit(spec: ActivationSpec): { circuit: Circuit; layout: ActivationLayout } {
  checkActivationSpec(spec);
  const key = `${spec.p}/${spec.truncBits}/${spec.window}/${spec.relu}`;
  const hit = built.get(key);
  if (hit) return hit;
  const made = buildActivationCircuit(spec);
  if (built.size >= 64) built.clear(); // a handful of specs per model; bound it anyway
  built.set(key, made);
  return made;
}

function buildActivationCircuit(spec: ActivationSpec): { circuit: Circuit; layout: ActivationLayout } {
  const { p, truncBits: f, window: w, relu } = spec;
  const n = ringBits(p),
    h = (p - 1) / 2;
  const name = `${relu ? 'relu' : 'id'}${w > 1 ? `-max${w}` : ''}-p${n}b-f${f}`;
  const cb = new CircuitBuilder(name);
  const a: number[][] = [],
    b: number[][] = [];
  for (let i = 0; i < w; i++) a.push(cb.input(n));
  for (let i = 0; i < w; i++) b.push(cb.input(n));
  const t = cb.input(n);
  const pBits = cb.constant(p, n + 1),
    hBits = cb.constant(h, n);
  const us = a.map((ai, i) => {
    const x = cb.addMod(ai, b[i]!, p);
    const neg = cb.lessThan(hBits, x);
    // v = x − neg·p in n+1 bits two's complement (|v| ≤ h < 2^(n−1)); u = v + 2^(n−1) flips bit n−1
    const { diff } = cb.sub(
      [...x, cb.constant(0, 1)[0]!],
      pBits.map((bit) => cb.and(bit, neg)),
    );
    const u = diff.slice(0, n);
    u[n - 1] = cb.not(u[n - 1]!);
    return u;
  });
  // balanced comparison tree: halves the candidates each round
  let layer = us;
  while (layer.length > 1) {
    const next: number[][] = [];
    for (let i = 0; i + 1 < layer.length; i += 2) {
      const l = layer[i]!,
        r = layer[i + 1]!;
      next.push(cb.mux(cb.lessThan(l, r), l, r));
    }
    if (layer.length % 2 === 1) next.push(layer[layer.length - 1]!);
    layer = next;
  }
  let u = layer[0]!;
  if (relu) {
    const top = u[n - 1]!;
    u = [...cb.andBit(u.slice(0, n - 1), top), cb.constant(1, 1)[0]!];
  }
  // floor(signed / 2^f): drop f bits of the offset-binary value, flip its top bit → two's complement
  const q = cb.shiftRight(u, f);
  q[q.length - 1] = cb.not(q[q.length - 1]!);
  const sign = q[q.length - 1]!;
  const wide = [...q];
  while (wide.length < n + 1) wide.push(sign);
  const y = cb
    .add(
      wide,
      pBits.map((bit) => cb.and(bit, sign)),
    )
    .sum.slice(0, n);
  const out = cb.subMod(y, t, p);
  const circuit = cb.compile(out);
  return { circuit, layout: { n, clientAt: 0, serverAt: w * n, maskAt: 2 * w * n } };
}

/** The plaintext function the circuit computes, on signed values (the test reference). */
export function activationReference(spec: ActivationSpec, xs: readonly number[], t: number): number {
  const { p } = spec;
  const signed = xs.map((x) => (x > (p - 1) / 2 ? x - p : x));
  let v = Math.max(...signed);
  if (spec.relu) v = Math.max(v, 0);
  const y = Math.floor(v / 2 ** spec.truncBits);
  const r = (y - t) % p;
  return r < 0 ? r + p : r;
}
