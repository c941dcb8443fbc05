/**
 * The one circuit behind ReLU and max-pool on Z_p shares (p an odd prime < 2^52,
 * n = ceil(log2 p), h = (p − 1)/2; x ∈ Z_p is "negative" when x > h, signed(x) ∈ [−h, h]):
 *
 *   inputs   client values a_1..a_w, server values b_1..b_w (n bits each), where the server
 *            has added h to its value: a_i + b_i ≡ x_i + h (mod p)
 *   u_i = (a_i + b_i) mod p = signed(x_i) + h  ∈ [0, p − 1]   addMod, ≤ 3n + 1 ANDs
 *   u = max_i u_i  (balanced comparison tree, w − 1 nodes)        lessThan + mux, 2n each
 *   with h = H1·2^f + H0 and β = [u mod 2^f < H0]                 f ANDs (none when H0 = 0)
 *     floor(signed / 2^f) = (u >> f) − H1 − β                     exact: no probabilistic error
 *   relu:  pos = [u ≥ h] (n ANDs); the result is pos · ((u >> f) − H1 − β)   n − f + 1 ANDs
 *
 * u is an order-preserving map of the signed value into [0, p) (the offset h rides on the
 * server's input for free), so max needs no sign logic; and the result is a *linear*
 * function of output bits, out = κ + Σ_o ω_o·v_o mod p, which core/gc/arith-output.ts turns
 * into additive shares with two 8-byte rows per output bit and no AND gate (re-masking
 * with a subtraction mod p would cost 2n ANDs, the two's complement → Z_p step n more).
 * AND gates at n = 51, f = 13: 243 per ReLU (was 391), 1449 → 919 per 2×2 max-pool window.
 */
import { CircuitBuilder, ONE, ZERO, type Circuit } from './circuit.ts';

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

/** Input layout and output map of the activation circuit. */
export interface ActivationLayout {
  n: number;
  /** first input bit of the client's values (w·n bits) */
  clientAt: number;
  /** first input bit of the server's values (w·n bits) */
  serverAt: number;
  /** what the server adds to its value before bit-decomposing it: h = (p − 1)/2 */
  serverOffset: number;
  /** ω_o ∈ Z_p per circuit output: out = constant + Σ_o ω_o·v_o mod p */
  weights: Float64Array;
  /** κ ∈ Z_p, added by the client (the evaluator) to its share */
  constant: number;
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
  // u_i = signed(x_i) + h: the server's offset makes the modular sum order-preserving
  let layer = a.map((ai, i) => cb.addMod(ai, b[i]!, p));
  // balanced comparison tree: halves the candidates each round
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
  const u = layer[0]!;
  const H0 = h % 2 ** f,
    H1 = (h - H0) / 2 ** f;
  // β = [u mod 2^f < H0]: the borrow of (u − h) into bit f; constant 0 when 2^f divides h
  const beta = f > 0 ? cb.lessThan(u.slice(0, f), cb.constant(H0, f)) : ZERO;
  const q = u.slice(f);
  const outs: number[] = [],
    weights: number[] = [];
  let constant = 0;
  const emit = (wire: number, weight: number): void => {
    const wt = ((weight % p) + p) % p;
    if (wire === ONE) constant = (constant + wt) % p;
    else if (wire !== ZERO && wt !== 0) (outs.push(wire), weights.push(wt));
  };
  if (relu) {
    const pos = cb.not(cb.lessThan(u, cb.constant(h, n))); // [signed ≥ 0]
    q.forEach((bit, j) => emit(cb.and(bit, pos), 2 ** j));
    emit(pos, -H1);
    emit(cb.and(beta, pos), -1);
  } else {
    q.forEach((bit, j) => emit(bit, 2 ** j));
    emit(beta, -1);
    emit(ONE, -H1);
  }
  const circuit = cb.compile(outs);
  const layout: ActivationLayout = {
    n,
    clientAt: 0,
    serverAt: w * n,
    serverOffset: h,
    weights: Float64Array.from(weights),
    constant,
  };
  return { circuit, layout };
}

/** The plaintext function the circuit computes, floor(max(0?, max_i signed(x_i)) / 2^f) mod p (the test reference). */
export function activationReference(spec: ActivationSpec, xs: readonly number[]): number {
  const { p } = spec;
  const signed = xs.map((x) => (x > (p - 1) / 2 ? x - p : x));
  let v = Math.max(...signed);
  if (spec.relu) v = Math.max(v, 0);
  const y = Math.floor(v / 2 ** spec.truncBits) % p;
  return y < 0 ? y + p : y;
}

/** The value the circuit's outputs stand for: κ + Σ_o ω_o·v_o mod p (the test decoder). */
export function decodeActivation(layout: ActivationLayout, p: number, bits: Uint8Array, offset = 0): number {
  let s = layout.constant;
  for (let o = 0; o < layout.weights.length; o++) {
    if (bits[offset + o]) s = (s + layout.weights[o]!) % p;
  }
  return s;
}
