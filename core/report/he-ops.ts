/**
 * The one vocabulary of homomorphic operations (issue 10): the engine counts in it
 * (core/he/context.ts through StatsRecorder), the baselines, the plan's cost models and
 * the benchmark use it, and reports store and show it. It lives here, in the lowest layer
 * that needs it, so core/he can import it without an upward arrow.
 *
 * The first nine names are those reports had before the engine's finer kinds were added
 * (report.csv keeps them as its first op columns). The last three were folded into
 * others before: `zeroEncryptions` into `encryptions`, `conjugations` into `rotations`.
 * They are separate now so a report shows what the engine did and the cost model keeps
 * its inputs; a report written before them reads them as 0 (see `readCounts`).
 */

export interface HeOpCounts {
  /** encryptions of data (the client's uploads, the baselines' inputs) */
  encryptions: number;
  decryptions: number;
  /** ct×pt multiplications */
  ctPtMul: number;
  /** ct×ct multiplications (squarings included: gazelle's online activations) */
  ctCtMul: number;
  /** Galois rotations (key switches); conjugations are counted apart */
  rotations: number;
  additions: number;
  rescales: number;
  modSwitches: number;
  /** relinearizations after a ct×ct multiplication (a key switch) */
  relinearizations: number;
  /** plaintext encodings (inputs, weights, masks) */
  encodes: number;
  /** complex conjugations (a key switch like a rotation; used for circuit privacy) */
  conjugations: number;
  /** public-key encryptions of zero added to re-randomise results (circuit privacy) */
  zeroEncryptions: number;
}

export type OpName = keyof HeOpCounts;

/** Every op name, in report.csv column order (the nine older names first). */
export const OP_NAMES: readonly OpName[] = [
  'encryptions',
  'decryptions',
  'ctPtMul',
  'ctCtMul',
  'rotations',
  'additions',
  'rescales',
  'modSwitches',
  'relinearizations',
  'encodes',
  'conjugations',
  'zeroEncryptions',
];

/** Column headings of the report's HE table, per op. */
export const OP_LABELS: Readonly<Record<OpName, string>> = {
  encryptions: 'encrypt',
  decryptions: 'decrypt',
  ctPtMul: 'ct×pt mul',
  ctCtMul: 'ct×ct mul',
  rotations: 'rotations',
  additions: 'additions',
  rescales: 'rescales',
  modSwitches: 'mod switches',
  relinearizations: 'relin.',
  encodes: 'encodes',
  conjugations: 'conjugations',
  zeroEncryptions: 'Enc(0)',
};

export function zeroCounts(): HeOpCounts {
  return Object.fromEntries(OP_NAMES.map((k) => [k, 0])) as Record<OpName, number>;
}

export function addCounts(into: HeOpCounts, more: Readonly<HeOpCounts>): HeOpCounts {
  for (const k of OP_NAMES) into[k] += more[k];
  return into;
}

/**
 * Counts read back from saved JSON: every op name that is present must be a finite
 * number (`bad(name)` says otherwise, e.g. throws the reader's coded error); missing ones
 * are 0 (reports written before `encodes`, `conjugations` and `zeroEncryptions` existed).
 */
export function readCounts(o: Readonly<Record<string, unknown>>, bad: (name: OpName) => never): HeOpCounts {
  const c = zeroCounts();
  for (const k of OP_NAMES) {
    const v = o[k];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isFinite(v)) bad(k);
    c[k] = v;
  }
  return c;
}
