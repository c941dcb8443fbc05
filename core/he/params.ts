/**
 * CKKS parameter choice (server proposes) and validation (client checks).
 *
 * What the preprocessing circuit needs, and why each parameter is what it is — in the
 * manner of SEAL's examples/5_ckks_basics:
 *
 *  - Multiplicative depth. Enc(M·r − s) costs one ct×pt multiplication, i.e. ONE rescale;
 *    the correlated product Enc((M·r)⊙a − t) for a following square activation costs
 *    one more (an online activation, too). So `depth` ∈ {1, 2, 3} data primes are consumed by rescaling, plus the last
 *    prime q0 that holds the result, plus the special prime used only by key switching.
 *    Chain: [q0, q_1 … q_depth, special].
 *  - Scale Δ = 2^scaleBits. CKKS error is ABSOLUTE: after decryption a value carries an
 *    error of about 2^noiseBits / Δ whatever its magnitude (fresh noise, weight-encoding
 *    rounding and rescale rounding are all O(√N) integers). So Δ is fixed by the wanted
 *    precision: scaleBits = log2(1/precision) + noiseBits(N). We do NOT normalise values
 *    to [−1, 1]: that would only move the same bits around.
 *  - Rescale primes q_i ≥ Δ: the weight (or `a`) plaintext is encoded at scale exactly q_i,
 *    so rescaling by q_i brings the scale back to Δ exactly and levels stay aligned; we
 *    make them as large as the 128-bit budget allows (≤ 60 bits) because the plaintext's
 *    relative precision is ≈ 2^-bits(q_i), multiplied by the (large, masked) values.
 *    (A preprocessing upload at Δ·2^b has its weights at q_i/2^b instead: maxUploadScaleBits.)
 *  - q0 must hold the largest value any slot may take (masks included — they dominate),
 *    with sign and one doubling (see circuit privacy in docs/HE.md): q0 ≥ 2·2·maxAbs·Δ·2^margin.
 *  - Special prime P = 60 bits, the largest SEAL allows: key-switching noise is about
 *    (q0/P)·σ·N in absolute terms (measured: 2^19 when q0 ≈ P at N = 8192, i.e. 8·10⁻⁶ at
 *    Δ = 2^36). Our fold rotations and conjugations run before a rescale, which divides
 *    that noise by q_L; only the reference conv's input rotations keep it (see docs/HE.md).
 *  - Online (gazelle) circuits, `inputMaxAbs` set: the client encrypts its SHARE of the
 *    layer input (large: masked, up to inputMaxAbs) at the top level; the server adds its
 *    own share (the sum is small), squares (ct×ct, scale Δ²), rescales, then applies the
 *    linear map. So the top level must hold inputMaxAbs·Δ — levels 1 and up hold
 *    q0·q1 ≥ that — and the top depth − 1 rescale primes follow a squaring: they are sized
 *    ≈ Δ so that Δ²/q brings the scale back to ≈ Δ. q1 (dropped after the ct×pt weights,
 *    whose plaintext is encoded at scale q1) keeps the rest of the budget.
 *  - N: the smallest power of two whose 128-bit bound (SEAL's CoeffModulus.MaxBitCount,
 *    HomomorphicEncryption.org standard table) admits Σ bits, and with N/2 ≥ minSlots.
 *    Smaller N means faster ops and smaller ciphertexts, but fewer slots per ciphertext.
 */
import { PpnnError } from '../errors.ts';

/** Plain-data CKKS parameter set (crosses sockets, workers, reports). */
export interface CkksParams {
  readonly scheme: 'ckks';
  readonly polyModulusDegree: number;
  /** bit sizes of the primes, [q0, q_1 … q_depth, special] */
  readonly coeffModulusBits: readonly number[];
  /** Δ = 2^scaleBits: encoding scale of every fresh plaintext and of every result */
  readonly scaleBits: number;
  readonly depth: 1 | 2 | 3;
  readonly securityLevel: 128;
  /** what the set was chosen for (documentation; validateParams re-derives the guarantees) */
  readonly maxAbsValue: number;
  readonly precision: number;
  /** online (gazelle) sets only: largest |client share| encrypted at the top level */
  readonly inputMaxAbs?: number;
}

export interface ParamsRequest {
  /** levels consumed: 1 per linear map, +1 for a correlated product or an online activation */
  readonly depth: 1 | 2 | 3;
  /** largest |value| any slot may hold (masks and products included), in the units encrypted */
  readonly maxAbsValue: number;
  /**
   * Online (gazelle) circuit: largest |value| the client encrypts (its share of a layer
   * input, which may be far larger than maxAbsValue). Sizes the top depth − 1 rescale
   * primes ≈ Δ (they follow squarings) and checks q0·q1 holds inputMaxAbs·Δ.
   */
  readonly inputMaxAbs?: number;
  /** wanted absolute error of a decrypted value, e.g. 1e-7 */
  readonly precision: number;
  readonly minSlots?: number;
}

/**
 * SEAL's CoeffModulus::MaxBitCount(N, sec_level_type::tc128) — the largest total bit count
 * of the coefficient modulus that keeps 128-bit security (checked against SEAL in a test).
 */
export const MAX_BITS_128: Readonly<Record<number, number>> = {
  1024: 27,
  2048: 54,
  4096: 109,
  8192: 218,
  16384: 438,
  32768: 881,
};

/** Smallest N used: below 4096 the 128-bit bound leaves no room for two primes of useful size. */
const DEGREES = [4096, 8192, 16384, 32768] as const;
/** SEAL's NTT primes are at most 60 bits. */
const MAX_PRIME_BITS = 60;
const MIN_PRIME_BITS = 20;

/**
 * log2 of the absolute error (in units of Δ) a decrypted share carries after our circuit:
 * fresh noise (σ = 3.2, grows like √N through the canonical embedding) times Σ|w| of a
 * row, rescale rounding, mask encoding, and the key switches (divided by q_L). Measured
 * on this machine with Σ|w| ≈ 5 (scripts in test/he/he.test.ts): max error ≈ 2^13.6 / Δ at
 * N = 8192. We budget 2^(log2(N)/2 + 8) = 2^14.5 there: one bit of margin.
 */
export function noiseBits(n: number): number {
  return Math.log2(n) / 2 + 8;
}

/** Predicted max abs error of a decrypted value under `p` (used by validateParams). */
export function predictedPrecision(p: Pick<CkksParams, 'polyModulusDegree' | 'scaleBits'>): number {
  return 2 ** (noiseBits(p.polyModulusDegree) - p.scaleBits);
}

/**
 * Most bits above Δ a preprocessing upload at `level` may carry (its scale Δ·2^b): the server
 * encodes the weights at q_L/2^b so the product is still at Δ·q_L and the rescale brings it
 * back to Δ; b ≤ bits(q_L) − 1 − scaleBits keeps that weight scale ≥ Δ. Why a larger upload
 * scale at all: the upload's fresh encryption noise (and its rotations' key-switch noise)
 * is an absolute O(√N) integer, 2^noise/scale per value, and the weights multiply it by
 * their row norm — ~200 for a dense map scaled per feature by BatchNorm1d — while the
 * weight plaintext's rounding, which grows by 2^b, multiplies only the values r/g. The
 * precision plan (core/protocol/precision.ts) picks b per step; 0 for the usual small rows.
 */
export function maxUploadScaleBits(p: Pick<CkksParams, 'coeffModulusBits' | 'scaleBits'>, level: number): number {
  const top = p.coeffModulusBits[level];
  if (top === undefined || level < 1) return 0;
  return Math.max(0, top - 1 - p.scaleBits);
}

/** RangeError unless `bits` is an integer upload scale in [0, maxUploadScaleBits(p, level)]. */
export function checkUploadScaleBits(
  p: Pick<CkksParams, 'coeffModulusBits' | 'scaleBits'>,
  level: number,
  bits: number,
): void {
  const max = maxUploadScaleBits(p, level);
  if (!Number.isInteger(bits) || bits < 0 || bits > max)
    throw new RangeError(`uploadScaleBits must be an integer in [0, ${max}] at level ${level}, got ${bits}`);
}

/** Bits q0 needs above Δ for values up to maxAbs: sign, the circuit-privacy doubling, 1 bit margin. */
function topBits(maxAbsValue: number): number {
  return Math.max(0, Math.ceil(Math.log2(maxAbsValue))) + 3;
}

/**
 * Propose CKKS parameters for a preprocessing session (server side).
 * Returns the smallest-N set within 128-bit security. Throws PpnnError('HE_PARAMS') when
 * no set fits (e.g. maxAbs/precision span more than a 60-bit prime can hold), RangeError
 * on malformed requests.
 */
export function chooseParams(req: ParamsRequest): CkksParams {
  if (req.depth !== 1 && req.depth !== 2 && req.depth !== 3)
    throw new RangeError(`chooseParams: depth must be 1, 2 or 3, got ${String(req.depth)}`);
  if (!(req.maxAbsValue > 0) || !Number.isFinite(req.maxAbsValue))
    throw new RangeError(`chooseParams: maxAbsValue must be a positive finite number, got ${req.maxAbsValue}`);
  const online = req.inputMaxAbs !== undefined;
  if (online && (!(req.inputMaxAbs! > 0) || !Number.isFinite(req.inputMaxAbs)))
    throw new RangeError(`chooseParams: inputMaxAbs must be a positive finite number, got ${req.inputMaxAbs}`);
  if (!(req.precision > 0) || !(req.precision < 1))
    throw new RangeError(`chooseParams: precision must be in (0, 1), got ${req.precision}`);
  const minSlots = req.minSlots ?? 1;
  if (!Number.isInteger(minSlots) || minSlots < 1)
    throw new RangeError(`chooseParams: minSlots must be a positive integer, got ${minSlots}`);
  const reasons: string[] = [];
  for (const n of DEGREES) {
    if (n / 2 < minSlots) {
      reasons.push(`N=${n}: ${n / 2} slots < ${minSlots}`);
      continue;
    }
    const scaleBits = Math.max(MIN_PRIME_BITS, Math.ceil(Math.log2(1 / req.precision) + noiseBits(n)));
    const q0 = scaleBits + topBits(req.maxAbsValue);
    const proposal = (n: number, bits: number[]): CkksParams => ({
      scheme: 'ckks',
      polyModulusDegree: n,
      coeffModulusBits: bits,
      scaleBits,
      depth: req.depth,
      securityLevel: 128,
      maxAbsValue: req.maxAbsValue,
      precision: req.precision,
    });
    if (scaleBits > MAX_PRIME_BITS || q0 > MAX_PRIME_BITS) {
      reasons.push(`N=${n}: needs a ${q0}-bit last prime (Δ = 2^${scaleBits}) but SEAL primes are ≤ 60 bits`);
      continue;
    }
    const special = MAX_PRIME_BITS;
    const minimal = q0 + req.depth * scaleBits + special;
    if (minimal > MAX_BITS_128[n]!) {
      reasons.push(`N=${n}: ${minimal} bits > ${MAX_BITS_128[n]} allowed at 128-bit security`);
      continue;
    }
    if (online) {
      // Primes after a squaring ≈ Δ (scale Δ²/q ≈ Δ); q1 (weights) takes the rest.
      const q1 = Math.min(MAX_PRIME_BITS, MAX_BITS_128[n]! - q0 - special - (req.depth - 1) * scaleBits);
      if (q0 + q1 < scaleBits + topBits(req.inputMaxAbs!)) {
        reasons.push(`N=${n}: q0·q1 (${q0 + q1} bits) cannot hold |input| ≤ ${req.inputMaxAbs} at Δ = 2^${scaleBits}`);
        continue;
      }
      const bits = [q0, q1, ...Array<number>(req.depth - 1).fill(scaleBits), special];
      return { ...proposal(n, bits), inputMaxAbs: req.inputMaxAbs };
    }
    // Spend the rest of the 128-bit budget on the rescale primes: a plaintext (weights, a)
    // is encoded at scale q_i, so its relative precision is ≈ 2^-(bits(q_i) − 7), and that
    // error is multiplied by the ciphertext's values (masks, shares: large). Same op cost.
    const mid = Math.min(MAX_PRIME_BITS, Math.floor((MAX_BITS_128[n]! - q0 - special) / req.depth));
    return proposal(n, [q0, ...Array<number>(req.depth).fill(mid), special]);
  }
  throw new PpnnError(
    'HE_PARAMS',
    `no CKKS parameters within 128-bit security for depth ${req.depth}, |values| ≤ ${req.maxAbsValue}, precision ` +
      `${req.precision}: ${reasons.join('; ')}`,
    { request: { ...req } },
  );
}

/**
 * Client-side check of a server proposal. Throws HE_PARAMS when the set is malformed or
 * not 128-bit secure, PARAMS_MISMATCH when it does not meet the client's own needs
 * (`expect`: depth, value range, precision, slots).
 */
export function validateParams(p: CkksParams, expect?: Partial<ParamsRequest>): void {
  const bad = (why: string): never => {
    throw new PpnnError('HE_PARAMS', `CKKS parameters rejected: ${why}`);
  };
  if (typeof p !== 'object' || p === null || p.scheme !== 'ckks') bad('scheme must be ckks');
  if (p.depth !== 1 && p.depth !== 2 && p.depth !== 3) bad(`depth ${String(p.depth)} not 1, 2 or 3`);
  checkChain(p, MIN_PRIME_BITS, bad);
  const n = p.polyModulusDegree,
    bits = p.coeffModulusBits;
  for (let i = 1; i <= p.depth; i++)
    if (bits[i]! < p.scaleBits) bad(`rescale prime ${i} has ${bits[i]} bits < Δ = 2^${p.scaleBits}`);
  if (bits[bits.length - 1]! < Math.max(...bits.slice(0, -1))) bad('special prime smaller than a data prime');
  if (!expect) return;
  const mismatch = (why: string): never => {
    throw new PpnnError('PARAMS_MISMATCH', `server's CKKS parameters do not meet the client's needs: ${why}`);
  };
  if (expect.depth !== undefined && p.depth < expect.depth) mismatch(`depth ${p.depth} < ${expect.depth}`);
  if (expect.minSlots !== undefined && n / 2 < expect.minSlots) mismatch(`${n / 2} slots < ${expect.minSlots}`);
  // Online circuits square at the top level: the scale falls to Δ²/q_top, so a top prime
  // larger than Δ costs precision bits (the error is absolute in units of that scale).
  const lost = expect.inputMaxAbs !== undefined && p.depth >= 2 ? Math.max(0, bits[p.depth]! - p.scaleBits) : 0;
  const predicted = predictedPrecision(p) * 2 ** lost;
  if (expect.precision !== undefined && predicted > expect.precision)
    mismatch(`predicted error ${predicted.toExponential(2)} > ${expect.precision}`);
  if (expect.maxAbsValue !== undefined && bits[0]! < p.scaleBits + topBits(expect.maxAbsValue))
    mismatch(`last prime of ${bits[0]} bits cannot hold |values| ≤ ${expect.maxAbsValue} at Δ = 2^${p.scaleBits}`);
  if (expect.inputMaxAbs !== undefined && bits[0]! + bits[1]! < p.scaleBits + topBits(expect.inputMaxAbs))
    mismatch(
      `q0·q1 (${bits[0]! + bits[1]!} bits) cannot hold client shares |values| ≤ ${expect.inputMaxAbs} at Δ = ` +
        `2^${p.scaleBits}`,
    );
}

/**
 * A CKKS chain for evaluating a whole network on ciphertexts (the CryptoNets baseline,
 * core/baselines/cryptonets-params.ts chooses it): any depth, one rescale prime per
 * multiplicative layer. HeContext runs it like a session's CkksParams; only the checks differ
 * (validateNetworkParams: 128-bit security and a well-formed chain, nothing about masks).
 */
export interface CkksNetworkParams {
  readonly scheme: 'ckks';
  readonly purpose: 'network';
  readonly polyModulusDegree: number;
  /** bit sizes [q0, q_1 … q_depth, special] */
  readonly coeffModulusBits: readonly number[];
  readonly scaleBits: number;
  readonly depth: number;
  readonly securityLevel: 128;
}

/**
 * HE_PARAMS unless `p` is a 128-bit secure, well-formed chain of `depth` rescale primes (the
 * bounds SEAL needs to build it; the network's precision is the chooser's business).
 */
export function validateNetworkParams(p: CkksNetworkParams): void {
  const bad = (why: string): never => {
    throw new PpnnError('HE_PARAMS', `CKKS network parameters rejected: ${why}`);
  };
  if (typeof p !== 'object' || p === null || p.scheme !== 'ckks' || p.purpose !== 'network')
    bad('not a ckks network parameter set');
  if (!Number.isInteger(p.depth) || p.depth < 1) bad(`depth ${String(p.depth)} is not a positive integer`);
  checkChain(p, 1, bad);
}

/**
 * The checks every CKKS chain gets: N from the table, depth + 2 primes of minPrimeBits … 60
 * bits, within the 128-bit bound, a usable scale.
 */
function checkChain(p: CkksParams | CkksNetworkParams, minPrimeBits: number, bad: (why: string) => never): void {
  const n = p.polyModulusDegree;
  if (!(n in MAX_BITS_128) || n < 4096) bad(`poly modulus degree ${n} not one of ${DEGREES.join(', ')}`);
  const bits = p.coeffModulusBits;
  if (!Array.isArray(bits) || bits.length !== p.depth + 2)
    bad(`expected ${p.depth + 2} primes (q0, ${p.depth} rescale primes, special), got ${String(bits?.length)}`);
  for (const b of bits)
    if (!Number.isInteger(b) || b < minPrimeBits || b > MAX_PRIME_BITS)
      bad(`prime size ${b} outside [${minPrimeBits}, ${MAX_PRIME_BITS}] bits`);
  const total = bits.reduce((a, b) => a + b, 0);
  if (total > MAX_BITS_128[n]!)
    bad(`${total} modulus bits exceed the 128-bit bound ${MAX_BITS_128[n]} for N=${n} (insecure)`);
  if (p.securityLevel !== 128) bad('security level must be 128');
  if (!Number.isInteger(p.scaleBits) || p.scaleBits < MIN_PRIME_BITS || p.scaleBits > MAX_PRIME_BITS)
    bad(`scaleBits ${p.scaleBits} out of range`);
}

/** 32-bit FNV-1a fingerprint of the parameter set: tags every ciphertext on the wire. */
export function paramsFingerprint(p: CkksParams | CkksNetworkParams): number {
  const fields = [p.polyModulusDegree, p.coeffModulusBits.join(','), p.scaleBits, p.depth, p.securityLevel];
  const text = `${'purpose' in p ? 'ckks-network' : 'ckks'}|${fields.join('|')}`;
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}
