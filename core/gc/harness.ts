/**
 * Layer constructors (ReLU, max-pool windows of a CHW tensor) and both roles of the
 * activation protocol over the in-memory transport pair, sequenced as the protocol roles
 * do (set-up, one offline exchange per batch, online image by image): what the tests and
 * the bench run, and the reference a scheme integration follows. Measures each phase's
 * bytes and time against the online floor.
 */
import { PpnnError } from '../errors.ts';
import { memoryPair } from '../transport/memory.ts';
import { expectMessage, type Transport } from '../transport/transport.ts';
import { activationCircuit, checkActivationSpec, ringBits } from './activation-circuit.ts';
import {
  activationOfflineClient,
  activationOfflineServer,
  activationOnlineClient,
  activationOnlineServer,
  type GcLayer,
  type GcStepIo,
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

/** A ReLU layer over `size` values. Throws RangeError for a bad spec. */
export function reluLayer(p: number, truncBits: number, size: number): GcLayer {
  const spec = { p, truncBits, window: 1, relu: true };
  checkActivationSpec(spec);
  return { spec, windows: size, inputSize: size, gather: Int32Array.from({ length: size }, (_, i) => i) };
}

/** A k×k max-pool (stride s) over a CHW tensor, with a fused ReLU when `relu`. */
export function maxPoolLayer(
  p: number,
  truncBits: number,
  relu: boolean,
  shape: readonly [number, number, number],
  k: number,
  stride: number,
): GcLayer {
  const spec = { p, truncBits, window: k * k, relu };
  checkActivationSpec(spec);
  const gather = poolWindows(shape[0], shape[1], shape[2], k, stride);
  return { spec, windows: gather.length / (k * k), inputSize: shape[0] * shape[1] * shape[2], gather };
}

/** Per-layer figures of one activation run (bytes are encoded frame bytes, both directions). */
export interface ActivationFigures {
  images: number;
  windows: number;
  andGatesPerWindow: number;
  /** base OTs, once per session */
  setupBytes: number;
  offlineBytesPerImage: number;
  onlineBytesPerImage: number;
  /** the least this shape of protocol sends online per image: labels of the server's bits, n bits of c per value */
  onlineFloorBytesPerImage: number;
  offlineMsPerImage: number;
  onlineMsPerImage: number;
}

function bytes(t: Transport): number {
  return t.stats.bytesSent + t.stats.bytesReceived;
}

function ioOf(t: Transport): GcStepIo {
  return {
    send: (tag, blobs) => t.send({ tag, header: { step: 0 }, blobs }),
    expect: async (tag, range) => {
      const msg = await expectMessage(t, tag);
      if (range && (msg.blobs.length < range[0] || msg.blobs.length > range[1])) {
        throw new PpnnError('PROTOCOL_VIOLATION', `${tag}: expected ${range[0]}..${range[1]} blobs`);
      }
      return msg.blobs;
    },
  };
}

/**
 * Run set-up, the offline exchange and every image's online step of one activation layer,
 * both roles in this process over the in-memory transport, as the protocol roles sequence
 * them. `clientShares[i]` + `serverShares[i]` = image i's layer input mod p. Returns each
 * side's output shares per image (client + server = F(x) mod p) and the figures.
 */
export async function runActivationPair(
  layer: GcLayer,
  clientShares: readonly Float64Array[],
  serverShares: readonly Float64Array[],
): Promise<{ client: Float64Array[]; server: Float64Array[]; figures: ActivationFigures }> {
  const count = clientShares.length;
  if (count === 0 || serverShares.length !== count) throw new RangeError('one client and one server share per image');
  const [ct, st] = memoryPair();
  try {
    const [cs, ss] = await Promise.all([GcClientSession.open(ct), GcServerSession.open(st)]);
    const setupBytes = bytes(ct);
    let t0 = performance.now();
    const req = activationOfflineClient(cs, layer, count);
    ct.send({ tag: 'pre.masks', header: { step: 0, count }, blobs: req.blobs });
    const reqMsg = await expectMessage(st, 'pre.masks');
    const resp = activationOfflineServer(ss, layer, reqMsg.blobs, count);
    st.send({ tag: 'pre.shares', header: { step: 0 }, blobs: resp.blobs });
    const cStates = req.finish((await expectMessage(ct, 'pre.shares')).blobs);
    const offlineMs = performance.now() - t0;
    const offlineBytes = bytes(ct) - setupBytes;
    const client: Float64Array[] = [],
      server: Float64Array[] = [];
    t0 = performance.now();
    for (let i = 0; i < count; i++) {
      const [c, s] = await Promise.all([
        activationOnlineClient(cs, layer, cStates[i]!, clientShares[i]!, ioOf(ct)),
        activationOnlineServer(layer, resp.states[i]!, serverShares[i]!, ioOf(st)),
      ]);
      client.push(c);
      server.push(s);
    }
    const onlineMs = performance.now() - t0;
    const onlineBytes = bytes(ct) - setupBytes - offlineBytes;
    const n = ringBits(layer.spec.p),
      values = layer.windows * layer.spec.window;
    const figures: ActivationFigures = {
      images: count,
      windows: layer.windows,
      andGatesPerWindow: activationCircuit(layer.spec).circuit.andCount,
      setupBytes,
      offlineBytesPerImage: offlineBytes / count,
      onlineBytesPerImage: onlineBytes / count,
      onlineFloorBytesPerImage: 16 * n * values + Math.ceil((n * values) / 8),
      offlineMsPerImage: offlineMs / count,
      onlineMsPerImage: onlineMs / count,
    };
    return { client, server, figures };
  } finally {
    ct.close();
  }
}
