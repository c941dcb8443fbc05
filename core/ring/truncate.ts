/**
 * Exact fixed-point truncation on Z_p shares, and the square that follows it: the
 * arithmetic of the ring activation and truncation protocols (core/protocol/layers/ring.ts).
 *
 * A value y (|y| < 2^(l−1) at scale 2^(f+d)) is shared as yc + ys = y mod p. The server
 * sends d = ys + A + 2^(l−1) with A uniform in Z_p (hence d is uniform and independent of
 * y), so the client learns W = Y + A mod p where Y = y + 2^(l−1) ∈ [0, 2^l). Then
 *
 *     Y = W − A + c·p   with the wrap bit  c = [Y + A ≥ p] = γ·β,
 *     γ = [W < 2^l]  (client, online)      β = [A ≥ (p+1)/2]  (server, offline)
 *
 * because c = 1 forces W = Y + A − p < Y < 2^l and A > p − 2^l ≥ p/2, while γ = 1 with
 * c = 0 forces A ≤ W < 2^l < p/2 (needs 2^l ≤ (p−1)/2). Writing W = Wq·2^d + Wr,
 * A = Aq·2^d + Ar, p = pq·2^d + pr:
 *
 *     ⌊Y / 2^d⌋ = Wq − Aq + c·pq + δ,  δ = ⌊(Wr − Ar + c·pr) / 2^d⌋ ∈ {−1, 0, 1},
 *
 * so y' = P + Q + c·pq with P = Wq (client), Q = −Aq − 2^(l−1−d) (server) is y / 2^d up
 * to one unit in the last place — never a wrap-around error (SecureML's local truncation
 * over Z_p fails with probability ≈ |y|/p per value, i.e. 2^-3 here: unusable). Only the
 * product c = γβ of a client bit and a server bit needs help: a bit-OLE made offline by
 * BFV (client encrypts a random bit b, gets H = b·X − ν for the server's X) and one bit
 * e = γ ⊕ b online, uniform because b is: γ·X = (1 − 2e)·(H + ν) + e·X.
 *
 * Square after truncation, z = y'² = P² + Q² + P·(2Q) + (γP)·(2β·pq) + γ·β·pq·(2Q + pq):
 * two products of a client-online value with a server-offline value, each by an OLE
 * (client sends P − ρ1 and γP − ρ2, ρ uniform, after the offline Enc(ρ1·B1 + ρ2·B2 − μ)),
 * and γ times a server value by the bit-OLE above. All terms are exact in Z_p.
 */
import { P as p, addMod, mulMod, negMod, subMod } from './field.ts';

/** Public constants of one truncation: l value bits (offset 2^(l−1)), d bits dropped. */
export interface TruncSpec {
  readonly l: number;
  readonly d: number;
}

/** Checks 1 ≤ d < l and 2^l ≤ (p−1)/2; throws RangeError otherwise. */
export function checkTrunc(t: TruncSpec): void {
  if (!Number.isInteger(t.l) || !Number.isInteger(t.d) || t.d < 0 || t.d >= t.l || 2 ** t.l > (p - 1) / 2)
    throw new RangeError(`truncation: need 0 ≤ d < l and 2^l ≤ (p−1)/2, got l = ${t.l}, d = ${t.d}`);
}

const pq = (d: number): number => Math.floor(p / 2 ** d);

/** Server, offline, per value: Q, X = β·pq (the wrap correction) from the uniform mask A. */
export function serverTruncMaterial(t: TruncSpec, A: Float64Array): { q: Float64Array; x: Float64Array } {
  const n = A.length,
    q = new Float64Array(n),
    x = new Float64Array(n);
  const off = 2 ** (t.l - 1 - t.d),
    half = (p + 1) / 2,
    k = pq(t.d),
    div = 2 ** t.d;
  for (let i = 0; i < n; i++) {
    q[i] = subMod(negMod(Math.floor(A[i]! / div)), off);
    x[i] = A[i]! >= half ? k : 0;
  }
  return { q, x };
}

/** Server, online: d = ys + A + 2^(l−1) (uniform). */
export function serverOpening(t: TruncSpec, ys: Float64Array, A: Float64Array): Float64Array {
  const out = new Float64Array(ys.length),
    off = 2 ** (t.l - 1);
  for (let i = 0; i < ys.length; i++) out[i] = addMod(addMod(ys[i]!, A[i]!), off);
  return out;
}

/** Client, online: W = yc + d, P = ⌊W / 2^d⌋, γ = [W < 2^l]. */
export function clientOpening(
  t: TruncSpec,
  yc: Float64Array,
  d: Float64Array,
): { P: Float64Array; gamma: Float64Array } {
  const n = yc.length,
    P = new Float64Array(n),
    gamma = new Float64Array(n);
  const div = 2 ** t.d,
    lim = 2 ** t.l;
  for (let i = 0; i < n; i++) {
    const w = addMod(yc[i]!, d[i]!);
    P[i] = Math.floor(w / div);
    gamma[i] = w < lim ? 1 : 0;
  }
  return { P, gamma };
}

/** e = γ ⊕ b (the one online bit of the bit-OLE). */
export function maskBits(gamma: Float64Array, b: Float64Array): Float64Array {
  const e = new Float64Array(gamma.length);
  for (let i = 0; i < e.length; i++) e[i] = gamma[i]! !== b[i]! ? 1 : 0;
  return e;
}

/** Share of γ·X from the bit-OLE: client (1 − 2e)·H, server (1 − 2e)·ν + e·X. */
export function bitOleClient(e: number, h: number): number {
  return e ? negMod(h) : h;
}
export function bitOleServer(e: number, nu: number, x: number): number {
  return e ? addMod(negMod(nu), x) : nu;
}

/** Server, offline: the OLE factors of the square: B1 = 2Q, B2 = 2X, B3 = X·(2Q + pq). */
export function squareFactors(
  t: TruncSpec,
  q: Float64Array,
  x: Float64Array,
): { b1: Float64Array; b2: Float64Array; b3: Float64Array } {
  const n = q.length,
    b1 = new Float64Array(n),
    b2 = new Float64Array(n),
    b3 = new Float64Array(n),
    k = pq(t.d);
  for (let i = 0; i < n; i++) {
    const q2 = addMod(q[i]!, q[i]!);
    b1[i] = q2;
    b2[i] = addMod(x[i]!, x[i]!);
    b3[i] = mulMod(x[i]!, addMod(q2, k));
  }
  return { b1, b2, b3 };
}

/** Client's share of y' (truncation only): P + (1 − 2e)·H. */
export function truncClientShare(P: Float64Array, e: Float64Array, h: Float64Array): Float64Array {
  const out = new Float64Array(P.length);
  for (let i = 0; i < out.length; i++) out[i] = addMod(P[i]!, bitOleClient(e[i]!, h[i]!));
  return out;
}

/** Server's share of y' (truncation only): Q + (1 − 2e)·ν + e·X. */
export function truncServerShare(q: Float64Array, x: Float64Array, e: Float64Array, nu: Float64Array): Float64Array {
  const out = new Float64Array(q.length);
  for (let i = 0; i < out.length; i++) out[i] = addMod(q[i]!, bitOleServer(e[i]!, nu[i]!, x[i]!));
  return out;
}

/** Client, online (square): the messages m1 = P − ρ1, m2 = γP − ρ2 and its share P² + G + (1 − 2e)·H. */
export function squareClient(
  P: Float64Array,
  gamma: Float64Array,
  e: Float64Array,
  rho1: Float64Array,
  rho2: Float64Array,
  g: Float64Array,
  h: Float64Array,
) {
  const n = P.length,
    m1 = new Float64Array(n),
    m2 = new Float64Array(n),
    share = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const Pi = P[i]!;
    m1[i] = subMod(Pi, rho1[i]!);
    m2[i] = subMod(gamma[i]! ? Pi : 0, rho2[i]!);
    share[i] = addMod(addMod(mulMod(Pi, Pi), g[i]!), bitOleClient(e[i]!, h[i]!));
  }
  return { m1, m2, share };
}

/** Server, online (square): Q² + m1·B1 + m2·B2 + μ + (1 − 2e)·ν + e·B3. */
export function squareServer(
  q: Float64Array,
  f: { b1: Float64Array; b2: Float64Array; b3: Float64Array },
  m1: Float64Array,
  m2: Float64Array,
  e: Float64Array,
  mu: Float64Array,
  nu: Float64Array,
): Float64Array {
  const n = q.length,
    out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let z = addMod(mulMod(q[i]!, q[i]!), mulMod(m1[i]!, f.b1[i]!));
    z = addMod(z, mulMod(m2[i]!, f.b2[i]!));
    z = addMod(z, mu[i]!);
    out[i] = addMod(z, bitOleServer(e[i]!, nu[i]!, f.b3[i]!));
  }
  return out;
}
