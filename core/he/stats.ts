/**
 * HE operation counters and the ciphertext level trace. Plain data only (JSON-safe):
 * it feeds reports, the benchmark and the UI's ciphertext-level chart.
 */

import { OP_NAMES, addCounts, zeroCounts } from '../report/he-ops.ts';
import type { HeOpCounts, OpName } from '../report/he-ops.ts';

// The engine counts in the report's vocabulary (core/report/he-ops.ts): one type, no mapping.
export { OP_NAMES, addCounts, zeroCounts };
export type { HeOpCounts, OpName };

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
