/**
 * ReLU / max-pool layer protocol on Z_p shares in the four-step shape of
 * core/protocol/layers/types.ts (offline: one request, one response per batch of images;
 * online: messages through the step's io). One layer = `windows` windows of `w` values per
 * image (w = 1: ReLU; w = k·k: max-pool, with the ReLU before or after it fused).
 *
 *   client (evaluator)                                  server (garbler)
 *   session set-up: 128 base OTs, the server speaking first (GcServerSession.offer)
 *   offline, per batch (the client's share is not known yet: requests go out first)
 *   ρ ← Z_p per input value, r = bits(ρ)
 *   IKNP columns for choices r   ── request ───────▶  R0, R1 per OT; per image: Δ, garble
 *                                                     (zero labels of the client's wires := R0),
 *                                                     output rows with r_o ← Z_p (arith-output.ts)
 *   W_r = R_r ⊕ r·e  ◀── response: e = R0 ⊕ R1 ⊕ Δ, AND tables, output rows ──────────
 *   online, per image (⟨x⟩c now known)
 *   c = ⟨x⟩c − ρ mod p  ───── gc.corr ────────────▶  b = ⟨x⟩s + c + h mod p  (ρ + b = x + h)
 *                       ◀──── gc.labels ───────────  labels of bits(b): n·16 B per value
 *   evaluate, read one row per output:                its share of F(x) is −Σ r_o, fixed offline
 *   κ + Σ z_o = F(x) + Σ r_o
 *
 * The client's circuit input is ρ, chosen by the client before its share exists, so the OT
 * fits the one-exchange offline stage; online it sends c, which is uniform in Z_p (ρ is)
 * and so perfectly hides ⟨x⟩c. c goes in the same flight as the previous linear step's
 * message, so it adds bytes (n bits per value) but no round trip. Online floor per value:
 * n·16 B of labels down (no protocol of this shape sends fewer: the evaluator needs one
 * label per server-input bit) plus n bits up; measured against it in test/gc/activation.test.ts.
 * F(x) = floor(max(0?, max_i signed(x_i)) / 2^f) mod p: core/gc/activation-circuit.ts.
 * Offline bytes per window: 32 B per AND, 16 B per output bit, 32 B per OT (request + e).
 */
import { randomFillSync } from 'node:crypto';
import { PpnnError } from '../errors.ts';
import { activationCircuit, type ActivationLayout, type ActivationSpec } from './activation-circuit.ts';
import { writeBits, type Circuit } from './circuit.ts';
import { ARITH_ROW_WORDS, arithTweaksUsed, evaluateArithOutputs, garbleArithOutputs } from './arith-output.ts';
import { activeLabels, evaluateLabels, garble, randomDelta, TABLE_WORDS, tweaksUsed } from './garble.ts';
import { blockBytes, blocksOf, randomBlocks } from './hash.ts';
import { KAPPA } from './iknp.ts';
import { uniformBelow, type GcClientSession, type GcServerSession } from './session.ts';

/** Online message tags of this protocol (offline rides in the roles' pre.masks / pre.shares). */
export const ACT_TAG = { corr: 'gc.corr', labels: 'gc.labels' } as const;

/** The part of a layer's step io this protocol needs (core/protocol/layers/types.ts StepIo fits). */
export interface GcStepIo {
  send(tag: string, blobs: Uint8Array[]): void;
  expect(tag: string, blobs?: [number, number]): Promise<Uint8Array[]>;
}

/** One activation layer as both parties plan it (public: shapes and parameters only). */
export interface GcLayer {
  spec: ActivationSpec;
  /** windows per image (outputs of the layer) */
  windows: number;
  /** input length per image (the previous step's output size) */
  inputSize: number;
  /** window-major indices into the input (length windows·window); identity for a ReLU */
  gather: Int32Array;
}

/** What the client keeps per image. */
export interface ClientActivationState {
  tweak: number;
  rho: Float64Array;
  /** active input labels, instance-major: client wires filled offline, server wires online */
  labels: Uint32Array;
  tables: Uint32Array;
  /** the output rows (core/gc/arith-output.ts) */
  outTables: Uint32Array;
}

/** What the server keeps per image. */
export interface ServerActivationState {
  delta: Uint32Array;
  inputZero: Uint32Array;
  /** the server's output share −Σ r_o (one per window) */
  share: Float64Array;
}

function violation(what: string): PpnnError {
  return new PpnnError('PROTOCOL_VIOLATION', `gc activation: ${what}`);
}

function circuitOf(layer: GcLayer): { circuit: Circuit; layout: ActivationLayout } {
  return activationCircuit(layer.spec);
}

/** Tweaks one image of `layer` uses: the AND gates, then one per output row pair. */
function tweaksPerImage(circuit: Circuit, windows: number): number {
  return tweaksUsed(circuit, windows) + arithTweaksUsed(circuit.outputs.length, windows);
}

/** Offline bytes per image of one activation layer: request and response, frame headers aside. */
export function activationOfflineBytes(layer: GcLayer): number {
  const { circuit, layout } = circuitOf(layer);
  const ots = layer.windows * layer.spec.window * layout.n;
  const perWindow = 4 * TABLE_WORDS * circuit.andCount + 4 * ARITH_ROW_WORDS * circuit.outputs.length;
  return layer.windows * perWindow + 32 * ots;
}

/** Pack ring elements as n-bit fields (LSB first), ceil(len·n/8) bytes. */
function packElements(v: Float64Array, n: number): Uint8Array {
  const bits = new Uint8Array(v.length * n);
  for (let i = 0; i < v.length; i++) writeBits(v[i]!, n, bits, i * n);
  const out = new Uint8Array((bits.length + 7) >>> 3);
  for (let i = 0; i < bits.length; i++) out[i >>> 3]! |= bits[i]! << (i & 7);
  return out;
}

function unpackElements(bytes: Uint8Array, len: number, n: number, p: number): Float64Array {
  if (bytes.length !== (len * n + 7) >>> 3) throw violation(`expected ${(len * n + 7) >>> 3} bytes of ring elements`);
  const out = new Float64Array(len);
  for (let i = 0; i < len; i++) {
    let v = 0;
    for (let b = n - 1; b >= 0; b--) {
      const at = i * n + b;
      v = v * 2 + ((bytes[at >>> 3]! >>> (at & 7)) & 1);
    }
    if (v >= p) throw violation(`element ${i} is not below p`);
    out[i] = v;
  }
  return out;
}

/** Offline, client: the request for `count` images and how to finish with the server's response. */
export function activationOfflineClient(
  session: GcClientSession,
  layer: GcLayer,
  count: number,
): { blobs: Uint8Array[]; finish(response: Uint8Array[]): ClientActivationState[] } {
  const { circuit, layout } = circuitOf(layer);
  const { n } = layout,
    w = layer.spec.window,
    V = layer.windows,
    nIn = circuit.inputCount;
  const values = count * V * w,
    m = values * n;
  const rho = uniformBelow(layer.spec.p, values);
  const rBits = new Uint8Array(m);
  for (let i = 0; i < values; i++) writeBits(rho[i]!, n, rBits, i * n);
  // IKNP takes its choice bits from this callback: ours, then random padding up to a multiple of 128
  const { message, received } = session.ot.extend(m, (buf) => {
    randomFillSync(buf);
    buf.fill(0, 0, (m + 7) >>> 3);
    for (let i = 0; i < m; i++) buf[i >>> 3]! |= rBits[i]! << (i & 7);
  });
  const tweak = session.tweak,
    perImage = tweaksPerImage(circuit, V),
    nOut = circuit.outputs.length;
  session.tweak += count * perImage;
  return {
    blobs: [message],
    finish(response) {
      if (response.length !== 1 + 2 * count)
        throw violation(`expected ${1 + 2 * count} response blobs, got ${response.length}`);
      if (response[0]!.length !== 16 * m) throw violation('OT corrections have the wrong size');
      const e = blocksOf(response[0]!),
        R = received.blocks;
      const states: ClientActivationState[] = [];
      for (let img = 0; img < count; img++) {
        const tb = response[1 + 2 * img]!,
          ob = response[2 + 2 * img]!;
        if (tb.length !== 4 * TABLE_WORDS * circuit.andCount * V) throw violation('tables have the wrong size');
        if (ob.length !== 4 * ARITH_ROW_WORDS * nOut * V) throw violation('output rows have the wrong size');
        const labels = new Uint32Array(4 * nIn * V);
        for (let k = 0; k < V; k++) {
          let ot = (img * V + k) * w * n,
            at = 4 * (k * nIn + layout.clientAt);
          for (let i = 0; i < w * n; i++, ot++, at += 4) {
            const flip = 0 - rBits[ot]!; // W_r = R_r ⊕ r·e
            labels[at] = R[4 * ot]! ^ (flip & e[4 * ot]!);
            labels[at + 1] = R[4 * ot + 1]! ^ (flip & e[4 * ot + 1]!);
            labels[at + 2] = R[4 * ot + 2]! ^ (flip & e[4 * ot + 2]!);
            labels[at + 3] = R[4 * ot + 3]! ^ (flip & e[4 * ot + 3]!);
          }
        }
        const rhoImg = rho.subarray(img * V * w, (img + 1) * V * w);
        states.push({
          tweak: tweak + img * perImage,
          rho: rhoImg,
          labels,
          tables: blocksOf(tb),
          outTables: blocksOf(ob),
        });
      }
      return states;
    },
  };
}

/** Offline, server: from the client's request, garble every image's circuits; the response and per-image states. */
export function activationOfflineServer(
  session: GcServerSession,
  layer: GcLayer,
  request: Uint8Array[],
  count: number,
): { blobs: Uint8Array[]; states: ServerActivationState[] } {
  const { circuit, layout } = circuitOf(layer);
  const { n } = layout,
    w = layer.spec.window,
    V = layer.windows,
    nIn = circuit.inputCount;
  const m = count * V * w * n;
  if (request.length !== 1) throw violation(`expected 1 request blob, got ${request.length}`);
  if (request[0]!.length !== (KAPPA * (Math.ceil(m / KAPPA) * KAPPA)) / 8)
    throw violation('IKNP columns have the wrong size');
  const sent = session.ot.extend(m, request[0]!);
  const R0 = sent.blocks0,
    R1 = sent.blocks1;
  const e = new Uint32Array(4 * m);
  const blobs: Uint8Array[] = [blockBytes(e)];
  const states: ServerActivationState[] = [];
  const perImage = tweaksPerImage(circuit, V);
  for (let img = 0; img < count; img++) {
    const delta = randomDelta();
    const zero = randomBlocks(nIn * V);
    for (let k = 0; k < V; k++) {
      let ot = (img * V + k) * w * n,
        at = 4 * (k * nIn + layout.clientAt);
      for (let i = 0; i < w * n; i++, ot++, at += 4) {
        for (let q = 0; q < 4; q++) {
          zero[at + q] = R0[4 * ot + q]!;
          e[4 * ot + q] = R0[4 * ot + q]! ^ R1[4 * ot + q]! ^ delta[q]!;
        }
      }
    }
    const g = garble(session.perm, circuit, V, delta, session.tweak, zero);
    const out = garbleArithOutputs(
      session.perm,
      g.outputZero,
      delta,
      layout.weights,
      layer.spec.p,
      V,
      session.tweak + tweaksUsed(circuit, V),
    );
    session.tweak += perImage;
    blobs.push(blockBytes(g.tables), blockBytes(out.tables));
    states.push({ delta, inputZero: zero, share: out.share });
  }
  return { blobs, states };
}

/**
 * What both online halves read off the layer: its circuit and layout, the bit width n, the
 * window w, the window count V, the circuit's input count and the modulus p, and the party's
 * share gathered into window order (`what` names it in the RangeError for a bad share).
 */
function onlineInputs(layer: GcLayer, share: Float64Array, what: string) {
  const { circuit, layout } = circuitOf(layer);
  if (!(share instanceof Float64Array) || share.length !== layer.inputSize) {
    throw new RangeError(`${what} must be a Float64Array of ${layer.inputSize} ring elements`);
  }
  const g = layer.gather,
    x = new Float64Array(g.length);
  for (let i = 0; i < g.length; i++) x[i] = share[g[i]!]!;
  const { n } = layout;
  return { circuit, layout, n, w: layer.spec.window, V: layer.windows, nIn: circuit.inputCount, p: layer.spec.p, x };
}

/** Online, client: send c = ⟨x⟩c − ρ, receive the server's labels, evaluate. Returns its share of F(x). */
export async function activationOnlineClient(
  session: GcClientSession,
  layer: GcLayer,
  state: ClientActivationState,
  clientShare: Float64Array,
  io: GcStepIo,
): Promise<Float64Array> {
  const { circuit, layout, n, w, V, nIn, p, x } = onlineInputs(layer, clientShare, 'clientShare');
  const c = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const d = x[i]! - state.rho[i]!;
    c[i] = d < 0 ? d + p : d;
  }
  io.send(ACT_TAG.corr, [packElements(c, n)]);
  const [lab] = await io.expect(ACT_TAG.labels, [1, 1]);
  if (lab!.length !== 16 * V * w * n) throw violation('server labels have the wrong size');
  const theirs = blocksOf(lab!);
  const labels = state.labels;
  for (let k = 0; k < V; k++)
    labels.set(theirs.subarray(4 * w * n * k, 4 * w * n * (k + 1)), 4 * (k * nIn + layout.serverAt));
  const outLabels = evaluateLabels(session.perm, circuit, V, labels, state.tables, state.tweak);
  const nOut = circuit.outputs.length;
  const out = evaluateArithOutputs(
    session.perm,
    outLabels,
    state.outTables,
    nOut,
    p,
    V,
    state.tweak + tweaksUsed(circuit, V),
  );
  const kappa = layout.constant;
  for (let k = 0; k < V; k++) {
    const v = out[k]! + kappa;
    out[k] = v >= p ? v - p : v;
  }
  return out;
}

/** Online, server: receive c, send the labels of b = ⟨x⟩s + c + h. Returns its share of F(x) (fixed offline). */
export async function activationOnlineServer(
  layer: GcLayer,
  state: ServerActivationState,
  serverShare: Float64Array,
  io: GcStepIo,
): Promise<Float64Array> {
  const { circuit, layout, n, w, V, nIn, p, x } = onlineInputs(layer, serverShare, 'serverShare');
  const [cb] = await io.expect(ACT_TAG.corr, [1, 1]);
  const c = unpackElements(cb!, x.length, n, p);
  const bits = new Uint8Array(V * w * n);
  const off = layout.serverOffset;
  for (let i = 0; i < x.length; i++) {
    let b = x[i]! + c[i]!;
    if (b >= p) b -= p;
    b += off;
    writeBits(b >= p ? b - p : b, n, bits, i * n);
  }
  const zero = new Uint32Array(4 * V * w * n);
  for (let k = 0; k < V; k++) {
    zero.set(
      state.inputZero.subarray(4 * (k * nIn + layout.serverAt), 4 * (k * nIn + layout.serverAt + w * n)),
      4 * w * n * k,
    );
  }
  io.send(ACT_TAG.labels, [blockBytes(activeLabels(zero, bits, state.delta))]);
  return state.share;
}
