/**
 * Boolean circuits: a builder with constant folding (constants never reach a gate, so a
 * comparison with a public p costs no more than the bits that depend on secrets), and a
 * compiler that orders gates into AND-depth levels so the garbler and evaluator hash every
 * AND gate of a level — for every instance of the circuit — in one cipher call.
 *
 * Wires are non-negative integers; the constants are ZERO = -1 and ONE = -2. Bit vectors
 * are arrays of wires, least significant bit first. XOR and NOT are free (free-XOR); the
 * cost of a circuit is its AND count, reported by `compile`.
 */

/** The constant-0 wire. */
export const ZERO = -1;
/** The constant-1 wire. */
export const ONE = -2;

/** Gate opcodes in a compiled circuit. */
export const OP_XOR = 0;
export const OP_AND = 1;
export const OP_NOT = 2;

/** A compiled circuit: inputs are wires 0..inputCount−1; gates scheduled by AND depth. */
export interface Circuit {
  name: string;
  inputCount: number;
  wireCount: number;
  /** output wires (ZERO / ONE for constant outputs) */
  outputs: Int32Array;
  andCount: number;
  xorCount: number;
  /**
   * Level d: `and` = the AND gates of depth d as (a, b, out) triples, then `free` = the XOR/NOT
   * gates of depth d as (op, a, b, out) quadruples in builder order (NOT has b = -1).
   */
  levels: { and: Int32Array; free: Int32Array }[];
}

/** Builds one circuit; every method returns output wires. */
export class CircuitBuilder {
  private inputs = 0;
  private wires = 0;
  private readonly gates: number[] = []; // op, a, b, out
  private sealedInputs = false;

  readonly name: string;

  /** Throws RangeError for an empty name. */
  constructor(name: string) {
    if (!name) throw new RangeError('circuit name must be non-empty');
    this.name = name;
  }

  /** `width` fresh input wires. Inputs must be declared before the first gate (they are wires 0..k−1). */
  input(width: number): number[] {
    if (this.sealedInputs) throw new Error(`${this.name}: declare every input before the first gate`);
    if (!Number.isInteger(width) || width <= 0) throw new RangeError('input width must be a positive integer');
    const out: number[] = [];
    for (let i = 0; i < width; i++) out.push(this.wires++);
    this.inputs = this.wires;
    return out;
  }

  private gate(op: number, a: number, b: number): number {
    this.sealedInputs = true;
    const out = this.wires++;
    this.gates.push(op, a, b, out);
    return out;
  }

  /** a ⊕ b */
  xor(a: number, b: number): number {
    if (a === ZERO) return b;
    if (b === ZERO) return a;
    if (a === ONE) return this.not(b);
    if (b === ONE) return this.not(a);
    if (a === b) return ZERO;
    return this.gate(OP_XOR, a, b);
  }

  /** ¬a */
  not(a: number): number {
    if (a === ZERO) return ONE;
    if (a === ONE) return ZERO;
    return this.gate(OP_NOT, a, -1);
  }

  /** a ∧ b (the only gate that costs: two ciphertexts) */
  and(a: number, b: number): number {
    if (a === ZERO || b === ZERO) return ZERO;
    if (a === ONE) return b;
    if (b === ONE) return a;
    if (a === b) return a;
    return this.gate(OP_AND, a, b);
  }

  /** a ∨ b = a ⊕ b ⊕ (a ∧ b) */
  or(a: number, b: number): number {
    return this.xor(this.xor(a, b), this.and(a, b));
  }

  /** The bits of a public constant, `width` wide (value < 2^width). */
  constant(value: number, width: number): number[] {
    if (!Number.isSafeInteger(value) || value < 0 || value >= 2 ** width)
      throw new RangeError(`constant ${value} does not fit ${width} bits`);
    const out: number[] = [];
    let v = value;
    for (let i = 0; i < width; i++) {
      out.push(v % 2 === 1 ? ONE : ZERO);
      v = Math.floor(v / 2);
    }
    return out;
  }

  /** a + b + carryIn over max(|a|, |b|) bits; returns the sum (same width) and the carry out. One AND per bit. */
  add(a: number[], b: number[], carryIn: number = ZERO): { sum: number[]; carry: number } {
    const w = Math.max(a.length, b.length);
    const sum: number[] = [];
    let c = carryIn;
    for (let i = 0; i < w; i++) {
      const x = a[i] ?? ZERO,
        y = b[i] ?? ZERO;
      const xc = this.xor(x, c),
        yc = this.xor(y, c);
      sum.push(this.xor(xc, y));
      // carry' = c ⊕ ((x ⊕ c) ∧ (y ⊕ c)) = majority(x, y, c)
      c = this.xor(c, this.and(xc, yc));
    }
    return { sum, carry: c };
  }

  /** a − b over max(|a|, |b|) bits (two's complement); returns the difference and the borrow (1 when a < b). */
  sub(a: number[], b: number[]): { diff: number[]; borrow: number } {
    const w = Math.max(a.length, b.length);
    const nb: number[] = [];
    for (let i = 0; i < w; i++) nb.push(this.not(b[i] ?? ZERO));
    const { sum, carry } = this.add(a, nb, ONE);
    return { diff: sum, borrow: this.not(carry) };
  }

  /** [a < b] unsigned: only the borrow chain of a − b (one AND per bit). */
  lessThan(a: number[], b: number[]): number {
    const w = Math.max(a.length, b.length);
    let c = ONE;
    for (let i = 0; i < w; i++) {
      const x = a[i] ?? ZERO,
        y = this.not(b[i] ?? ZERO);
      const xc = this.xor(x, c),
        yc = this.xor(y, c);
      c = this.xor(c, this.and(xc, yc));
    }
    return this.not(c);
  }

  /** sel ? b : a, bitwise (one AND per bit). */
  mux(sel: number, a: number[], b: number[]): number[] {
    const w = Math.max(a.length, b.length);
    const out: number[] = [];
    for (let i = 0; i < w; i++) {
      const x = a[i] ?? ZERO,
        y = b[i] ?? ZERO;
      out.push(this.xor(x, this.and(sel, this.xor(x, y))));
    }
    return out;
  }

  /** Each bit of a ∧ bit: `bit ? a : 0`. */
  andBit(a: number[], bit: number): number[] {
    return a.map((x) => this.and(x, bit));
  }

  /** (a + b) mod p for a, b ∈ [0, p), n = |a| bits: 3n + 1 ANDs at most. */
  addMod(a: number[], b: number[], p: number): number[] {
    const n = a.length;
    const { sum, carry } = this.add(a, b);
    const s = [...sum, carry];
    const { diff, borrow } = this.sub(s, this.constant(p, n + 1));
    return this.mux(borrow, diff, s).slice(0, n);
  }

  /** (a − b) mod p for a, b ∈ [0, p), n bits: 2n ANDs at most (adding p back is an AND-free mask of constants). */
  subMod(a: number[], b: number[], p: number): number[] {
    const n = a.length;
    const { diff, borrow } = this.sub(a, b);
    const back = this.constant(p, n).map((bit) => (bit === ONE ? borrow : ZERO));
    return this.add(diff, back).sum;
  }

  /** Logical right shift by k: drops the k low bits (free). */
  shiftRight(a: number[], k: number): number[] {
    return a.slice(k);
  }

  /** Left shift by k inside `width` bits (free). */
  shiftLeft(a: number[], k: number, width = a.length): number[] {
    const out: number[] = [];
    for (let i = 0; i < k; i++) out.push(ZERO);
    return [...out, ...a].slice(0, width);
  }

  /**
   * Compile with the given outputs: drops gates no output depends on, computes each gate's
   * AND depth (inputs 0; XOR/NOT the max of their inputs; AND one more) and groups gates by it.
   */
  compile(outputs: number[]): Circuit {
    const g = this.gates,
      count = g.length / 4;
    const live = new Uint8Array(this.wires);
    for (const o of outputs) if (o >= 0) live[o] = 1;
    for (let k = count - 1; k >= 0; k--) {
      if (!live[g[4 * k + 3]!]) continue;
      const a = g[4 * k + 1]!,
        b = g[4 * k + 2]!;
      if (a >= 0) live[a] = 1;
      if (b >= 0) live[b] = 1;
    }
    const depth = new Int32Array(this.wires);
    const ands: number[][] = [],
      free: number[][] = [];
    let andCount = 0,
      xorCount = 0;
    for (let k = 0; k < count; k++) {
      const op = g[4 * k]!,
        a = g[4 * k + 1]!,
        b = g[4 * k + 2]!,
        out = g[4 * k + 3]!;
      if (!live[out]) continue;
      const d = Math.max(depth[a]!, b >= 0 ? depth[b]! : 0) + (op === OP_AND ? 1 : 0);
      depth[out] = d;
      while (ands.length <= d) (ands.push([]), free.push([]));
      if (op === OP_AND) (ands[d]!.push(a, b, out), andCount++);
      else (free[d]!.push(op, a, b, out), (xorCount += op === OP_XOR ? 1 : 0));
    }
    if (ands.length === 0) (ands.push([]), free.push([]));
    const levels = ands.map((and, d) => ({ and: Int32Array.from(and), free: Int32Array.from(free[d]!) }));
    return {
      name: this.name,
      inputCount: this.inputs,
      wireCount: this.wires,
      outputs: Int32Array.from(outputs),
      andCount,
      xorCount,
      levels,
    };
  }
}

/** Evaluate a compiled circuit in the clear on 0/1 inputs (the reference for garbling tests). */
export function evaluatePlain(c: Circuit, inputs: Uint8Array): Uint8Array {
  if (inputs.length !== c.inputCount)
    throw new RangeError(`${c.name}: expected ${c.inputCount} input bits, got ${inputs.length}`);
  const v = new Uint8Array(c.wireCount);
  v.set(inputs);
  for (const level of c.levels) {
    const A = level.and;
    for (let i = 0; i < A.length; i += 3) v[A[i + 2]!] = v[A[i]!]! & v[A[i + 1]!]!;
    const F = level.free;
    for (let i = 0; i < F.length; i += 4)
      v[F[i + 3]!] = F[i] === OP_XOR ? v[F[i + 1]!]! ^ v[F[i + 2]!]! : v[F[i + 1]!]! ^ 1;
  }
  return Uint8Array.from(c.outputs, (o) => (o === ZERO ? 0 : o === ONE ? 1 : v[o]!));
}

/** The n low bits of an integer v ∈ [0, 2^53), LSB first, written into `out` at `offset`. */
export function writeBits(v: number, n: number, out: Uint8Array, offset: number): void {
  let x = v;
  for (let i = 0; i < n; i++) {
    out[offset + i] = x % 2;
    x = Math.floor(x / 2);
  }
}

/** The integer of n bits at `offset` (LSB first). */
export function readBits(bits: Uint8Array, offset: number, n: number): number {
  let v = 0;
  for (let i = n - 1; i >= 0; i--) v = v * 2 + bits[offset + i]!;
  return v;
}
