/**
 * HE operation counters and the ciphertext level trace. Plain data only (JSON-safe):
 * it feeds reports, the benchmark and the UI's ciphertext-level chart.
 */

import type { HeOpCounts as ReportHeOpCounts } from '../report/types.ts';

export interface HeOpCounts {
  encode: number;
  encrypt: number;
  decrypt: number;
  mulPlain: number;
  /** ct×ct multiplications (squarings included: gazelle's online activations) */
  mulCipher: number;
  /** relinearizations after a ct×ct multiplication (a key switch) */
  relinearize: number;
  rotate: number;
  /** complex conjugation (a key switch like a rotation; used for circuit privacy) */
  conjugate: number;
  add: number;
  rescale: number;
  modSwitch: number;
  /** public-key encryptions of zero added to re-randomise results */
  encryptZero: number;
}

export type OpName = keyof HeOpCounts;

export const OP_NAMES: readonly OpName[] = [
  'encode',
  'encrypt',
  'decrypt',
  'mulPlain',
  'mulCipher',
  'relinearize',
  'rotate',
  'conjugate',
  'add',
  'rescale',
  'modSwitch',
  'encryptZero',
];

export function zeroCounts(): HeOpCounts {
  return {
    encode: 0,
    encrypt: 0,
    decrypt: 0,
    mulPlain: 0,
    mulCipher: 0,
    relinearize: 0,
    rotate: 0,
    conjugate: 0,
    add: 0,
    rescale: 0,
    modSwitch: 0,
    encryptZero: 0,
  };
}

export function addCounts(into: HeOpCounts, more: Readonly<HeOpCounts>): HeOpCounts {
  for (const k of OP_NAMES) into[k] += more[k];
  return into;
}

/** One ciphertext that crossed the wire. */
export interface CiphertextRecord {
  readonly layer: string;
  readonly direction: 'toServer' | 'toClient';
  /** 'mask' (client's Enc(r)), 'share' (Enc(M·r − s)), 'product' (Enc((M·r)⊙a − t)) */
  readonly role: 'mask' | 'share' | 'product';
  /** SEAL chain index: 0 = last data level (only q0 left) */
  readonly level: number;
  /** primes left in the ciphertext's modulus (= level + 1) */
  readonly primes: number;
  readonly bytes: number;
}

export interface HeLayerStats {
  readonly layer: string;
  ops: HeOpCounts;
  /** wall time spent in this object's HE work for the layer */
  ms: number;
  bytesToServer: number;
  bytesToClient: number;
  ciphertexts: CiphertextRecord[];
}

export interface HeStats {
  layers: HeLayerStats[];
  totals: { ops: HeOpCounts; ms: number; bytesToServer: number; bytesToClient: number; ciphertexts: number };
}

/** Accumulates counts per layer; `current` is the layer the next operations belong to. */
export class StatsRecorder {
  readonly #layers = new Map<string, HeLayerStats>();
  #current: HeLayerStats;

  constructor() {
    this.#current = this.layer('(setup)');
  }

  layer(name: string): HeLayerStats {
    let l = this.#layers.get(name);
    if (!l) {
      l = { layer: name, ops: zeroCounts(), ms: 0, bytesToServer: 0, bytesToClient: 0, ciphertexts: [] };
      this.#layers.set(name, l);
    }
    return l;
  }

  /** Make `name` the layer subsequent operations are counted under; returns it. */
  use(name: string): HeLayerStats {
    this.#current = this.layer(name);
    return this.#current;
  }

  count(op: OpName, n = 1): void {
    this.#current.ops[op] += n;
  }

  merge(counts: Readonly<HeOpCounts>): void {
    addCounts(this.#current.ops, counts);
  }

  record(rec: CiphertextRecord): void {
    const l = this.layer(rec.layer);
    l.ciphertexts.push(rec);
    if (rec.direction === 'toServer') l.bytesToServer += rec.bytes;
    else l.bytesToClient += rec.bytes;
  }

  addTime(name: string, ms: number): void {
    this.layer(name).ms += ms;
  }

  /** Deep plain-data snapshot (layers with no activity omitted). */
  snapshot(): HeStats {
    const layers: HeLayerStats[] = [];
    const totals = { ops: zeroCounts(), ms: 0, bytesToServer: 0, bytesToClient: 0, ciphertexts: 0 };
    for (const l of this.#layers.values()) {
      const busy = l.ciphertexts.length > 0 || l.ms > 0 || OP_NAMES.some((k) => l.ops[k] > 0);
      if (!busy) continue;
      layers.push({
        layer: l.layer,
        ops: { ...l.ops },
        ms: l.ms,
        bytesToServer: l.bytesToServer,
        bytesToClient: l.bytesToClient,
        ciphertexts: l.ciphertexts.map((c) => ({ ...c })),
      });
      addCounts(totals.ops, l.ops);
      totals.ms += l.ms;
      totals.bytesToServer += l.bytesToServer;
      totals.bytesToClient += l.bytesToClient;
      totals.ciphertexts += l.ciphertexts.length;
    }
    return { layers, totals };
  }
}

/** The report's op counts, all zero (what addReportCounts adds into). */
export function zeroReportCounts(): ReportHeOpCounts {
  return {
    encryptions: 0,
    decryptions: 0,
    ctPtMul: 0,
    ctCtMul: 0,
    rotations: 0,
    additions: 0,
    rescales: 0,
    modSwitches: 0,
    relinearizations: 0,
  };
}

/**
 * The one mapping from the engine's operation names to the report's (core/report/types.ts):
 * encryptions of zero are encryptions, conjugations are rotations (both key switches).
 */
export function addReportCounts(into: ReportHeOpCounts, o: Readonly<HeOpCounts>): ReportHeOpCounts {
  into.encryptions += o.encrypt + o.encryptZero;
  into.decryptions += o.decrypt;
  into.ctPtMul += o.mulPlain;
  into.ctCtMul += o.mulCipher;
  into.rotations += o.rotate + o.conjugate;
  into.additions += o.add;
  into.rescales += o.rescale;
  into.modSwitches += o.modSwitch;
  into.relinearizations += o.relinearize;
  return into;
}
