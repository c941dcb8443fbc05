/**
 * Client role (see the sequence diagram in core/protocol/server.ts). The client holds
 * its inputs and the architecture the server sends — never weights — and alone
 * reconstructs the logits. Per-stage time and traffic are measured here, because the
 * client sees every message of the session.
 */
import { PpnnError } from '../errors.ts';
import type { Architecture } from '../model/types.ts';
import { shapeSize } from '../model/types.ts';
import { expectMessage, type Transport, type TransportStats } from '../transport/transport.ts';
import { bytesToF64, f64ToBytes } from '../transport/frame.ts';
import { activationOnlineClient, affineActivationShare, linearOnlineClient, type ClientLinearState } from './layers.ts';
import { PROTOCOL_ID, TAG, splitBlobs } from './messages.ts';
import { DEFAULT_MASKS, inputMaskRange, planClient, type ClientStep, type MaskParams } from './plan.ts';
import type { ClientPreprocessor, ProviderInfo } from './provider.ts';
import type { MaskSource } from './random.ts';
import type { ProtocolScheme } from './server.ts';

export interface ClientProviderFactory {
  create(info: ProviderInfo, arch: Architecture): Promise<ClientPreprocessor>;
}

export interface StageTally {
  wallMs: number;
  serverMs: number;
  bytesClientToServer: number;
  bytesServerToClient: number;
  messages: number;
  rounds: number;
}

export interface ClientSessionOptions {
  scheme: ProtocolScheme;
  inputBits?: number;
  batchSize?: number;
  providers: ClientProviderFactory;
  random: MaskSource;
  receiveTimeoutMs?: number;
  signal?: AbortSignal;
  onPreprocessed?: (batchStart: number, count: number, tally: StageTally, stats: unknown) => void;
  onImage?: (index: number, logits: Float64Array, online: StageTally) => void;
}

export interface ClientSessionResult {
  architecture: Architecture;
  masks: MaskParams;
  provider: ProviderInfo;
  logits: Float64Array[];
  setup: StageTally;
  preprocessing: StageTally;
  online: StageTally;
  perImage: { onlineMs: number[]; onlineBytes: number[]; preprocessingMs: number[]; preprocessingBytes: number[] };
  stats: unknown;
}

const emptyTally = (): StageTally => ({ wallMs: 0, serverMs: 0, bytesClientToServer: 0, bytesServerToClient: 0, messages: 0, rounds: 0 });

function traffic(t: Transport, since: TransportStats): Omit<StageTally, 'wallMs' | 'serverMs' | 'rounds'> {
  const s = t.stats;
  return {
    bytesClientToServer: s.bytesSent - since.bytesSent,
    bytesServerToClient: s.bytesReceived - since.bytesReceived,
    messages: s.messagesSent - since.messagesSent + s.messagesReceived - since.messagesReceived,
  };
}

function add(into: StageTally, d: StageTally): void {
  for (const k of Object.keys(into) as (keyof StageTally)[]) into[k] += d[k];
}

/** Run a whole client session over `t` on `inputs` (model-ready float64 vectors). */
export async function runClientSession(t: Transport, inputsOrMaker: readonly Float64Array[] | ((arch: Architecture) => readonly Float64Array[]), opts: ClientSessionOptions): Promise<ClientSessionResult> {
  const recv = { timeoutMs: opts.receiveTimeoutMs ?? 10 * 60_000, ...(opts.signal ? { signal: opts.signal } : {}) };
  let provider: ClientPreprocessor | undefined;
  try {
    const setupStart = performance.now();
    const snap0 = { ...t.stats };
    t.send({ tag: TAG.hello, header: { protocol: PROTOCOL_ID, scheme: opts.scheme, inputBits: opts.inputBits ?? DEFAULT_MASKS.inputBits }, blobs: [] });
    const archMsg = await expectMessage(t, TAG.arch, recv);
    const { architecture, masks, provider: info, maxBatch } = archMsg.header as { architecture: Architecture; masks: MaskParams; provider: ProviderInfo; maxBatch: number };
    const steps = planClient(architecture, masks);
    // inputs may depend on the architecture (its public input normalisation)
    const inputs = typeof inputsOrMaker === 'function' ? inputsOrMaker(architecture) : inputsOrMaker;
    const inSize = shapeSize(architecture.inputShape);
    inputs.forEach((x, i) => {
      if (x.length !== inSize) throw new PpnnError('SHAPE_MISMATCH', `input ${i} has ${x.length} values, the model expects [${architecture.inputShape.join(',')}]`);
    });
    provider = await opts.providers.create(info, architecture);
    t.send({ tag: TAG.setup, header: null, blobs: provider.setupBlobs() });
    const setup: StageTally = { ...emptyTally(), ...traffic(t, snap0), wallMs: performance.now() - setupStart, rounds: 1 };

    const batchSize = Math.max(1, Math.min(opts.batchSize ?? 64, maxBatch || 64));
    const logits: Float64Array[] = [];
    const preprocessing = emptyTally(), online = emptyTally();
    const perImage = { onlineMs: [] as number[], onlineBytes: [] as number[], preprocessingMs: [] as number[], preprocessingBytes: [] as number[] };
    if (opts.scheme === 'gazelle') {
      // no preprocessing: every linear map is an HE round trip in the online stage
      for (let i = 0; i < inputs.length; i++) {
        if (opts.signal?.aborted) throw new PpnnError('CANCELLED', 'session cancelled');
        const { logits: y, tally } = await gazelleImage(t, steps, provider, inputs[i]!, recv);
        add(online, tally);
        logits.push(y);
        perImage.onlineMs.push(tally.wallMs);
        perImage.onlineBytes.push(tally.bytesClientToServer + tally.bytesServerToClient);
        perImage.preprocessingMs.push(0);
        perImage.preprocessingBytes.push(0);
        opts.onImage?.(i, y, tally);
      }
    }
    for (let start = 0; opts.scheme !== 'gazelle' && start < inputs.length; start += batchSize) {
      if (opts.signal?.aborted) throw new PpnnError('CANCELLED', 'session cancelled');
      const batch = inputs.slice(start, start + batchSize);
      const pre = await preprocessBatch(t, steps, masks, provider, batch.length, opts.random, recv);
      add(preprocessing, pre.tally);
      opts.onPreprocessed?.(start, batch.length, pre.tally, provider.stats());
      for (let i = 0; i < batch.length; i++) {
        const { logits: y, tally } = await onlineImage(t, steps, pre.state, i, batch[i]!, recv);
        add(online, tally);
        logits.push(y);
        perImage.onlineMs.push(tally.wallMs);
        perImage.onlineBytes.push(tally.bytesClientToServer + tally.bytesServerToClient);
        perImage.preprocessingMs.push(pre.tally.wallMs / batch.length);
        perImage.preprocessingBytes.push((pre.tally.bytesClientToServer + pre.tally.bytesServerToClient) / batch.length);
        opts.onImage?.(start + i, y, tally);
      }
    }
    t.send({ tag: TAG.bye, header: null, blobs: [] });
    return { architecture, masks, provider: info, logits, setup, preprocessing, online, perImage, stats: provider.stats() };
  } finally {
    provider?.close();
  }
}

async function preprocessBatch(t: Transport, steps: ClientStep[], masks: MaskParams, provider: ClientPreprocessor, count: number, random: MaskSource, recv: { timeoutMs: number; signal?: AbortSignal }) {
  const t0 = performance.now();
  const snap = { ...t.stats };
  const r = new Map<number, Float64Array[]>();
  const reqSteps: { step: number; blobs: number }[] = [];
  const reqBlobs: Uint8Array[] = [];
  for (const step of steps) {
    if (step.kind !== 'linear') continue;
    // fresh masks for every layer and every image: never reused (tested)
    const masksOfStep = Array.from({ length: count }, () => random.uniform(step.inSize, inputMaskRange(step, masks)));
    r.set(step.index, masksOfStep);
    const blobs = provider.encryptMasks(step, masksOfStep);
    reqSteps.push({ step: step.index, blobs: blobs.length });
    reqBlobs.push(...blobs);
  }
  t.send({ tag: TAG.preMasks, header: { count, steps: reqSteps }, blobs: reqBlobs });
  const resp = await expectMessage(t, TAG.preShares, recv);
  const responses = splitBlobs(resp.header, resp.blobs, 'pre.shares');
  const state = new Map<number, ClientLinearState[]>();
  for (const step of steps) {
    if (step.kind !== 'linear') continue;
    const blobs = responses.get(step.index);
    if (!blobs) throw new PpnnError('PROTOCOL_VIOLATION', `pre.shares: no response for step ${step.index}`);
    const { share, product } = provider.decryptShares(step, blobs, count);
    state.set(step.index, share.map((s, i) => ({ r: r.get(step.index)![i]!, share: s, ...(product ? { product: product[i]! } : {}) })));
  }
  const serverMs = Number((resp.header as { serverMs?: number }).serverMs) || 0;
  return { state, tally: { ...traffic(t, snap), wallMs: performance.now() - t0, serverMs, rounds: 1 } };
}

async function onlineImage(t: Transport, steps: ClientStep[], state: Map<number, ClientLinearState[]>, img: number, x: Float64Array, recv: { timeoutMs: number; signal?: AbortSignal }) {
  const t0 = performance.now();
  const snap = { ...t.stats };
  let share: Float64Array = x;
  let first = true, rounds = 0;
  for (const step of steps) {
    if (step.kind === 'linear') {
      const st = state.get(step.index)![img]!;
      t.send({ tag: first ? TAG.onInput : TAG.onShare, header: { step: step.index }, blobs: [f64ToBytes(linearOnlineClient(st, share))] });
      rounds++;
      first = false;
      share = st.share;
      if (step.next) {
        const msg = await expectMessage(t, TAG.onAct, recv);
        share = activationOnlineClient(step.next.poly, st, bytesToF64(msg.blobs[0]!, step.outSize));
      }
    } else if (step.poly.a === 0) {
      share = affineActivationShare(step.poly, share, true);
    }
  }
  const res = await expectMessage(t, TAG.onResult, recv);
  const serverShare = bytesToF64(res.blobs[0]!, share.length);
  const logits = share.map((v, i) => v + serverShare[i]!);
  const serverMs = Number((res.header as { serverMs?: number }).serverMs) || 0;
  return { logits, tally: { ...traffic(t, snap), wallMs: performance.now() - t0, serverMs, rounds } };
}

/** gazelle, one image: Enc(<v>c) up, Enc(M·A(v) − s) down, for every linear map. */
async function gazelleImage(t: Transport, steps: ClientStep[], provider: ClientPreprocessor, x: Float64Array, recv: { timeoutMs: number; signal?: AbortSignal }) {
  if (!provider.encryptOnline || !provider.decryptOnline) throw new PpnnError('INTERNAL', `provider '${provider.kind}' cannot run gazelle`);
  const t0 = performance.now();
  const snap = { ...t.stats };
  let share: Float64Array = x;
  let rounds = 0;
  for (const step of steps) {
    if (step.kind !== 'linear') continue;
    t.send({ tag: TAG.onEnc, header: { step: step.index }, blobs: provider.encryptOnline(step, share) });
    const resp = await expectMessage(t, TAG.onEval, recv);
    share = provider.decryptOnline(step, resp.blobs);
    rounds++;
  }
  const res = await expectMessage(t, TAG.onResult, recv);
  const serverShare = bytesToF64(res.blobs[0]!, share.length);
  const logits = share.map((v, i) => v + serverShare[i]!);
  const serverMs = Number((res.header as { serverMs?: number }).serverMs) || 0;
  return { logits, tally: { ...traffic(t, snap), wallMs: performance.now() - t0, serverMs, rounds } };
}
