/**
 * ReLU / max-pool layer protocol on Z_p shares, DELPHI's flow: the four steps over
 * explicit state. `count` windows of `w` values each (w = 1: ReLU; w = k·k: a max-pool
 * window, ReLU fused when the layer has one). Shares arrive window-major: value i of
 * window k at k·w + i (see poolWindows for the gather).
 *
 *   client (evaluator; knows <x>c offline)           server (garbler)
 *   once per session: 128 base OTs (GcClientSession / GcServerSession.open)
 *   offline                                          Δ, garble count instances, t ← Z_p^count
 *            ◀── gc.tables: tables, decode bits, labels of t, {tweak} ──
 *            random OTs, w·n·count ── gc.ot.ext ──▶
 *            d = bits(<x>c) ⊕ r ─── gc.ot.choice ─▶
 *            ◀─────── e0, e1 ────── gc.ot.msgs ────  x0 = W0, x1 = W0 ⊕ Δ of <x>c's wires
 *            labels of <x>c
 *   online   ◀── gc.labels: labels of bits(<x>s) ───  w·n·16 B per window: the floor
 *            evaluate, decode: z = F(x) − t           its share of F(x) is t, known offline
 *
 * F(x) = floor(max(0?, max_i signed(x_i)) / 2^f) mod p (core/gc/activation-circuit.ts).
 * The online step is one message from the server and AES on the client: everything else
 * (garbling, tables, OT) is preprocessing. Online floor per window: w·n labels of 16 bytes;
 * a ReLU (w = 1) on a 40-bit p costs 640 B. The frame adds a tag and a short JSON header.
 */
import { PpnnError } from '../errors.ts';
import type { Transport } from '../transport/transport.ts';
import { expectMessage } from '../transport/transport.ts';
import { activationCircuit, type ActivationLayout, type ActivationSpec } from './activation-circuit.ts';
import { type Circuit, writeBits } from './circuit.ts';
import { activeLabels, evaluate, garble, GARBLE_CHUNK, randomDelta, TABLE_WORDS, tweaksUsed } from './garble.ts';
import { blockBytes, bytesToBlocks } from './hash.ts';
import { blobsOfSize, expectCount, GC_TAG, headerCount } from './messages.ts';
import { chooseSend, randomOtReceive, randomOtSend, transferReceive, transferSend } from './ot.ts';
import { uniformBelow, type GcClientSession, type GcServerSession } from './session.ts';

/** What the server keeps between its offline and online steps. */
export interface ServerActivationState {
  spec: ActivationSpec;
  count: number;
  circuit: Circuit;
  layout: ActivationLayout;
  delta: Uint32Array;
  /** zero labels of every input wire, instance-major */
  inputZero: Uint32Array;
  /** the server's share of the output (its output mask t), one per window */
  share: Float64Array;
}

/** What the client keeps between its offline and online steps. */
export interface ClientActivationState {
  spec: ActivationSpec;
  count: number;
  circuit: Circuit;
  layout: ActivationLayout;
  tweak: number;
  /** active input labels, instance-major; the server-share wires are filled online */
  labels: Uint32Array;
  tables: Uint32Array;
  decode: Uint8Array;
}

/** Throws RangeError unless `shares` holds count·window ring elements in [0, p). */
function checkShares(shares: Float64Array, spec: ActivationSpec, count: number, what: string): void {
  if (!(shares instanceof Float64Array) || shares.length !== count * spec.window) {
    throw new RangeError(`${what} must be a Float64Array of ${count * spec.window} elements`);
  }
  for (let i = 0; i < shares.length; i++) {
    const v = shares[i]!;
    if (!Number.isInteger(v) || v < 0 || v >= spec.p) throw new RangeError(`${what}[${i}] = ${v} is not in [0, p)`);
  }
}

/** The bits of a window-major share vector, in the circuit's per-instance order. */
function shareBits(shares: Float64Array, count: number, w: number, n: number): Uint8Array {
  const bits = new Uint8Array(count * w * n);
  for (let i = 0; i < count * w; i++) writeBits(shares[i]!, n, bits, i * n);
  return bits;
}

/** Offline, server: garble `count` instances, send tables; then the OTs for the client's share labels. */
export async function activationOfflineServer(
  session: GcServerSession,
  t: Transport,
  spec: ActivationSpec,
  count: number,
): Promise<ServerActivationState> {
  if (!Number.isSafeInteger(count) || count <= 0) throw new RangeError('count must be a positive integer');
  const { circuit, layout } = activationCircuit(spec);
  const { n } = layout,
    w = spec.window,
    nIn = circuit.inputCount;
  const delta = randomDelta();
  const tweak = session.tweak;
  const g = garble(session.perm, circuit, count, delta, tweak);
  session.tweak += tweaksUsed(circuit, count);
  const share = uniformBelow(spec.p, count);
  const maskLabels = new Uint32Array(4 * n * count);
  for (let k = 0; k < count; k++) {
    const bits = new Uint8Array(n);
    writeBits(share[k]!, n, bits, 0);
    const zero = g.inputZero.subarray(4 * (k * nIn + layout.maskAt), 4 * (k * nIn + layout.maskAt + n));
    maskLabels.set(activeLabels(zero, bits, delta), 4 * n * k);
  }
  // tables go in chunks of GARBLE_CHUNK instances, so no frame holds more than one chunk
  const perChunk = TABLE_WORDS * circuit.andCount * GARBLE_CHUNK;
  for (let at = 0, part = 0; at < g.tables.length || part === 0; at += perChunk, part++) {
    const tables = g.tables.subarray(at, Math.min(at + perChunk, g.tables.length));
    const header = { count, andGates: circuit.andCount, tweak, part };
    const blobs = part === 0 ? [blockBytes(tables), g.decode, blockBytes(maskLabels)] : [blockBytes(tables)];
    t.send({ tag: GC_TAG.tables, header, blobs });
  }
  // client's share labels: random OTs, then Beaver derandomisation with its share bits
  const m = count * w * n;
  const sent = await randomOtSend(t, session.ot, m);
  const x0 = new Uint32Array(4 * m);
  for (let k = 0; k < count; k++) {
    x0.set(
      g.inputZero.subarray(4 * (k * nIn + layout.clientAt), 4 * (k * nIn + layout.clientAt + w * n)),
      4 * w * n * k,
    );
  }
  const x1 = activeLabels(x0, new Uint8Array(m).fill(1), delta);
  await transferSend(t, sent, x0, x1);
  return { spec, count, circuit, layout, delta, inputZero: g.inputZero, share };
}

/** Offline, client: receive the garbled tables, obtain the labels of its own shares `clientShares` by OT. */
export async function activationOfflineClient(
  session: GcClientSession,
  t: Transport,
  spec: ActivationSpec,
  clientShares: Float64Array,
): Promise<ClientActivationState> {
  const count = clientShares.length / spec.window;
  if (!Number.isInteger(count) || count <= 0)
    throw new RangeError('clientShares must hold a positive number of windows');
  checkShares(clientShares, spec, count, 'clientShares');
  const { circuit, layout } = activationCircuit(spec);
  const { n } = layout,
    w = spec.window,
    nIn = circuit.inputCount;
  const tableWords = TABLE_WORDS * circuit.andCount * count;
  const perChunk = TABLE_WORDS * circuit.andCount * GARBLE_CHUNK;
  const parts = Math.max(1, Math.ceil(tableWords / perChunk));
  const tables = new Uint32Array(tableWords);
  let decode: Uint8Array = new Uint8Array(0);
  let maskLabels: Uint32Array = new Uint32Array(0);
  for (let part = 0; part < parts; part++) {
    const msg = await expectMessage(t, GC_TAG.tables);
    expectCount(msg, 'count', count);
    expectCount(msg, 'andGates', circuit.andCount);
    expectCount(msg, 'tweak', session.tweak);
    expectCount(msg, 'part', part);
    const words = Math.min(perChunk, tableWords - part * perChunk);
    if (part === 0) {
      const [tb, dec, ml] = blobsOfSize(msg, [4 * words, circuit.outputs.length * count, 16 * n * count]);
      tables.set(bytesToBlocks(tb!), 0);
      for (const bit of dec!)
        if (bit > 1) throw new PpnnError('PROTOCOL_VIOLATION', 'gc.tables: decode bits must be 0/1');
      decode = dec!;
      maskLabels = bytesToBlocks(ml!);
    } else {
      tables.set(bytesToBlocks(blobsOfSize(msg, [4 * words])[0]!), part * perChunk);
    }
  }
  const tweak = session.tweak;
  session.tweak += tweaksUsed(circuit, count);
  const bits = shareBits(clientShares, count, w, n);
  const received = randomOtReceive(t, session.ot, bits.length);
  chooseSend(t, received, bits);
  const mine = await transferReceive(t, received, bits);
  const labels = new Uint32Array(4 * nIn * count);
  for (let k = 0; k < count; k++) {
    labels.set(mine.subarray(4 * w * n * k, 4 * w * n * (k + 1)), 4 * (k * nIn + layout.clientAt));
    labels.set(maskLabels.subarray(4 * n * k, 4 * n * (k + 1)), 4 * (k * nIn + layout.maskAt));
  }
  return { spec, count, circuit, layout, tweak, labels, tables, decode };
}

/** Online, server: send the labels of its share bits. Returns its output share (t, fixed offline). */
export function activationOnlineServer(
  state: ServerActivationState,
  t: Transport,
  serverShares: Float64Array,
): Float64Array {
  const { spec, count, layout, circuit, inputZero, delta } = state;
  checkShares(serverShares, spec, count, 'serverShares');
  const { n } = layout,
    w = spec.window,
    nIn = circuit.inputCount;
  const bits = shareBits(serverShares, count, w, n);
  const zero = new Uint32Array(4 * w * n * count);
  for (let k = 0; k < count; k++) {
    zero.set(
      inputZero.subarray(4 * (k * nIn + layout.serverAt), 4 * (k * nIn + layout.serverAt + w * n)),
      4 * w * n * k,
    );
  }
  t.send({ tag: GC_TAG.labels, header: { count, bits: w * n }, blobs: [blockBytes(activeLabels(zero, bits, delta))] });
  return state.share;
}

/** Online, client: receive the server's labels, evaluate, decode. Returns its output share F(x) − t. */
export async function activationOnlineClient(
  session: GcClientSession,
  state: ClientActivationState,
  t: Transport,
): Promise<Float64Array> {
  const { spec, count, layout, circuit, labels } = state;
  const { n } = layout,
    w = spec.window,
    nIn = circuit.inputCount;
  const msg = await expectMessage(t, GC_TAG.labels);
  expectCount(msg, 'count', count);
  if (headerCount(msg, 'bits', 1 << 20) !== w * n)
    throw new PpnnError('PROTOCOL_VIOLATION', `gc.labels: bits must be ${w * n}`);
  const theirs = bytesToBlocks(blobsOfSize(msg, [16 * w * n * count])[0]!);
  for (let k = 0; k < count; k++) {
    labels.set(theirs.subarray(4 * w * n * k, 4 * w * n * (k + 1)), 4 * (k * nIn + layout.serverAt));
  }
  const bits = evaluate(session.perm, circuit, count, labels, state.tables, state.decode, state.tweak);
  const out = new Float64Array(count);
  for (let k = 0; k < count; k++) {
    let v = 0;
    for (let i = n - 1; i >= 0; i--) v = v * 2 + bits[k * n + i]!;
    out[k] = v;
  }
  return out;
}
