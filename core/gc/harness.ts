/**
 * Both roles of the activation protocol over the in-memory transport pair, for a vector
 * of windows: what tests, the bench and a scheme integration call. It also gathers
 * max-pool windows from a CHW tensor, and measures each phase's bytes and time against
 * the online floor.
 */
import { memoryPair } from '../transport/memory.ts';
import type { Transport } from '../transport/transport.ts';
import { activationCircuit, ringBits, type ActivationSpec } from './activation-circuit.ts';
import {
  activationOfflineClient,
  activationOfflineServer,
  activationOnlineClient,
  activationOnlineServer,
} from './activation.ts';
import { GcClientSession, GcServerSession } from './session.ts';

/**
 * Indices of the k×k windows (stride s, no padding) of a CHW tensor, window-major:
 * window (c, i, j) at position (c·outH + i)·outW + j holds indices c·H·W + (s·i + di)·W + s·j + dj.
 * Throws RangeError when the window does not fit.
 */
export function poolWindows(channels: number, height: number, width: number, k: number, stride: number): Int32Array {
  if (![channels, height, width, k, stride].every((v) => Number.isInteger(v) && v > 0)) {
    throw new RangeError('poolWindows: every dimension must be a positive integer');
  }
  if (k > height || k > width) throw new RangeError(`poolWindows: ${k}×${k} window larger than ${height}×${width}`);
  const outH = Math.floor((height - k) / stride) + 1,
    outW = Math.floor((width - k) / stride) + 1;
  const idx = new Int32Array(channels * outH * outW * k * k);
  let at = 0;
  for (let c = 0; c < channels; c++) {
    for (let i = 0; i < outH; i++) {
      for (let j = 0; j < outW; j++) {
        for (let di = 0; di < k; di++) {
          for (let dj = 0; dj < k; dj++) idx[at++] = c * height * width + (stride * i + di) * width + stride * j + dj;
        }
      }
    }
  }
  return idx;
}

/** values[idx[i]] for every i. */
export function gather(values: Float64Array, idx: Int32Array): Float64Array {
  const out = new Float64Array(idx.length);
  for (let i = 0; i < idx.length; i++) out[i] = values[idx[i]!]!;
  return out;
}

/** Per-layer figures of one activation run. */
export interface ActivationFigures {
  windows: number;
  andGatesPerWindow: number;
  /** bytes of the base OTs (once per session, not per layer) */
  setupBytes: number;
  offlineBytes: number;
  onlineBytes: number;
  /** the least any protocol of this shape can send online: window·n labels of 16 B */
  onlineFloorBytes: number;
  offlineMs: number;
  onlineMs: number;
}

function bytes(t: Transport): number {
  return t.stats.bytesSent + t.stats.bytesReceived;
}

/**
 * Run set-up, offline and online of one activation layer with both roles in this process.
 * Returns each side's output share (client + server = F(x) mod p) and the figures.
 */
export async function runActivationPair(
  spec: ActivationSpec,
  clientShares: Float64Array,
  serverShares: Float64Array,
): Promise<{ clientShare: Float64Array; serverShare: Float64Array; figures: ActivationFigures }> {
  const [ct, st] = memoryPair();
  try {
    const count = clientShares.length / spec.window;
    const [cs, ss] = await Promise.all([GcClientSession.open(ct), GcServerSession.open(st)]);
    const setupBytes = bytes(ct);
    let t0 = performance.now();
    const [cState, sState] = await Promise.all([
      activationOfflineClient(cs, ct, spec, clientShares),
      activationOfflineServer(ss, st, spec, count),
    ]);
    const offlineMs = performance.now() - t0;
    const offlineBytes = bytes(ct) - setupBytes;
    t0 = performance.now();
    const serverShare = activationOnlineServer(sState, st, serverShares);
    const clientShare = await activationOnlineClient(cs, cState, ct);
    const onlineMs = performance.now() - t0;
    const onlineBytes = bytes(ct) - setupBytes - offlineBytes;
    const n = ringBits(spec.p);
    const figures: ActivationFigures = {
      windows: count,
      andGatesPerWindow: activationCircuit(spec).circuit.andCount,
      setupBytes,
      offlineBytes,
      onlineBytes,
      onlineFloorBytes: 16 * n * spec.window * count,
      offlineMs,
      onlineMs,
    };
    return { clientShare, serverShare, figures };
  } finally {
    ct.close();
  }
}
