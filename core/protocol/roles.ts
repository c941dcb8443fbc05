// Long file: the client and server roles are the two sides of one message sequence (see the diagram below) and
// are read side by side; their shared types and tallies sit with them. A split into client-role / server-role
// files is the seam, deferred because the import engineer edits batch sizing here this round (issue 15).
/**
 * The two roles of every interactive scheme. They only sequence messages — handshake,
 * batches, steps, images — and delegate every computation to the scheme's layer
 * protocols (core/protocol/layers/types.ts). A scheme (core/schemes/*) supplies a
 * ClientScheme / ServerScheme: how it plans the network and builds its context.
 *
 *   client                                            server
 *   hello {scheme, inputBits}  ─────────────────────▶ scheme.prepare: network, plan, parameters
 *                              ◀──────────────────── arch {architecture (no weights), masks, provider}
 *   setup {keys}               ─────────────────────▶ scheme context (evaluator)
 *   ┌ per batch of images ──────────────────────────────────────────────────────────────┐
 *   │ batch {count}              ───────────────────▶                                   │
 *   │ pre.masks {step} ∀ offline step (all sent at once, so the server evaluates step k │
 *   │                              while the client still encrypts step k+1)            │
 *   │                             ◀──────────────── pre.shares {step}, in step order    │
 *   │ ┌ per image ──────────────────────────────────────────────────────────────────┐   │
 *   │ │ step by step: the layer protocols' online messages (on.input, on.act, …)     │   │
 *   │ │                           ◀───────────────── on.result <logits>s             │   │
 *   │ └─────────────────────────────────────────────────────────────────────────────┘   │
 *   └───────────────────────────────────────────────────────────────────────────────────┘
 *   bye                        ─────────────────────▶ free session state
 *
 * Every failure is sent to the peer as an 'error' message by the server role and
 * rethrown; `finally` frees the scheme context (SEAL memory) on both sides.
 */
import { PpnnError } from '../errors.ts';
import type { HeStats } from '../he/stats.ts';
import type { Architecture, Model } from '../model/types.ts';
import { shapeSize } from '../model/types.ts';
import { median } from '../report/median.ts';
import { DEFAULT_MAX_FRAME_BYTES, bytesToF64, f64ToBytes } from '../transport/frame.ts';
import { largestBatch } from './batch-bytes.ts';
import { sendError, type ReceiveOptions, type Transport, type TransportStats } from '../transport/transport.ts';
import type { LayerProtocol, OfflineRequest, StepIo } from './layers/types.ts';
import {
  MAX_BATCH,
  PROTOCOL_ID,
  TAG,
  decodeArch,
  decodeBatch,
  decodeHello,
  decodePreMasks,
  decodePreShares,
  decodeResult,
  decodeStep,
  receive,
  type ArchMasks,
  type ArchMessage,
  type Hello,
  type ProviderInfoWire,
} from './messages.ts';

/** A planned step as the roles see it: an index and a display name. */
export interface RoleStep {
  readonly index: number;
  readonly name: string;
}

// The roles handle protocols of any state type; each protocol checks its own state.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyProtocol<Ctx, Step> =
  LayerProtocol<Ctx, any, Step, any, any, any> | LayerProtocol<any, Ctx, any, Step, any, any>;

/** A party's side of one session, built by the scheme after the handshake. */
export interface SessionSide<Ctx, Step extends RoleStep> {
  ctx: Ctx;
  steps: readonly Step[];
  protocolOf(step: Step): AnyProtocol<Ctx, Step>;
  /** plain-data HE statistics (null when the provider does no HE, e.g. the test dealer) */
  stats(): HeStats | null;
  /** free everything (SEAL objects, worker pools); safe to call twice */
  close(): void | Promise<void>;
}

export interface ClientSide<Ctx, Step extends RoleStep> extends SessionSide<Ctx, Step> {
  setupBlobs(): Uint8Array[];
  /** predicted largest offline frame of a batch of `count` images (core/protocol/batch-bytes.ts) */
  offlineFrameBytes?(count: number): number;
  /** the logits from the two final shares (default: their float sum; ring shares add mod p and decode) */
  reconstruct?(clientShare: Float64Array, serverShare: Float64Array): Float64Array;
}

/** What a scheme gives the client role. */
export interface ClientScheme<Ctx, Step extends RoleStep> {
  readonly id: string;
  /** validate the server's proposal against the client's own floor and build the client side */
  start(
    arch: ArchMessage,
    opts: { inputBits: number; batches?: readonly number[] | undefined },
  ): Promise<ClientSide<Ctx, Step>>;
}

/** What a scheme gives the server role. */
export interface ServerScheme<Ctx, Step extends RoleStep> {
  readonly id: string;
  /** plan the network for this hello; returns the public arch header and how to build the side from the set-up blobs */
  prepare(
    model: Model,
    hello: Hello,
  ): {
    architecture: Architecture;
    masks: ArchMasks;
    provider: ProviderInfoWire;
    /** largest batch of images this session can preprocess at once (e.g. bounded by frame size) */
    maxBatch?: number;
    /** predicted largest offline frame of a batch of `count` images: batches are split so every frame fits */
    offlineFrameBytes?(count: number): number;
    create(setupBlobs: Uint8Array[]): Promise<SessionSide<Ctx, Step>>;
  };
}

export interface StageTally {
  wallMs: number;
  serverMs: number;
  bytesClientToServer: number;
  bytesServerToClient: number;
  messages: number;
  rounds: number;
}

/** Per-layer progress of a batch's preprocessing, as the client sees it. */
export interface PreprocessProgress {
  batchStart: number;
  count: number;
  layer: string;
  /** offline steps done in this batch, and how many it has */
  done: number;
  total: number;
}

export interface ClientRoleOptions {
  inputBits: number;
  batchSize?: number;
  /** frame size the batches are split for (default and upper limit: the transport's frame limit) */
  maxFrameBytes?: number;
  receiveTimeoutMs?: number;
  signal?: AbortSignal;
  onPreprocessProgress?: (p: PreprocessProgress) => void;
  onPreprocessed?: (batchStart: number, count: number, tally: StageTally, stats: HeStats | null) => void;
  onImage?: (index: number, logits: Float64Array, online: StageTally) => void;
  /**
   * Prefetch: keep material for `prefetch` images ready before images are taken in. Each pool
   * (one offline batch of up to `prefetch` images) is filled before its images are submitted,
   * and refilled as soon as it is used up; so each image pays only its online stage (warm).
   * The pool is refilled between images, not during one: a session's messages are sequential.
   */
  prefetch?: number;
  /** an image is submitted (`ready`: its material was already there, only the online stage runs for it) */
  onSubmit?: (index: number, ready: boolean) => void;
}

/**
 * Latency as a user sees it. cold: session start → first image's logits, the image given at
 * session start (set-up + its batch's preprocessing + online). warm: the median time from
 * submitting an image whose material was ready to its logits (online stage only); null when
 * no image was warm (without prefetch every image is submitted at session start).
 */
export interface SessionLatency {
  coldMs: number;
  warmMs: number | null;
  warmImages: number;
}

export interface ClientSessionResult {
  architecture: Architecture;
  masks: ArchMasks;
  provider: ProviderInfoWire;
  logits: Float64Array[];
  setup: StageTally;
  preprocessing: StageTally;
  online: StageTally;
  perImage: { onlineMs: number[]; onlineBytes: number[]; preprocessingMs: number[]; preprocessingBytes: number[] };
  latency: SessionLatency;
  stats: HeStats | null;
}

export interface ServerRoleOptions {
  /** largest batch of images a client may preprocess at once */
  maxBatch?: number;
  /** frame size the batches are split for (default and upper limit: the transport's frame limit) */
  maxFrameBytes?: number;
  receiveTimeoutMs?: number;
  onEvent?: (ev: { type: 'stage'; stage: string } | { type: 'batch'; count: number }) => void;
}

export interface ServerSessionSummary {
  scheme: string;
  images: number;
  preprocessingMs: number;
  onlineMs: number;
  stats: HeStats | null;
}

/** The frame limit of `t` (framed transports expose it; the default otherwise), or `wanted` when smaller. */
export function frameLimitOf(t: Transport, wanted?: number): number {
  const m = (t as Partial<{ maxFrameBytes: number }>).maxFrameBytes;
  const limit = typeof m === 'number' && m > 0 ? m : DEFAULT_MAX_FRAME_BYTES;
  return wanted !== undefined && wanted > 0 ? Math.min(limit, wanted) : limit;
}

export const emptyTally = (): StageTally => ({
  wallMs: 0,
  serverMs: 0,
  bytesClientToServer: 0,
  bytesServerToClient: 0,
  messages: 0,
  rounds: 0,
});

/** Sum of two tallies (a new object). */
export function addTally(a: StageTally, b: StageTally): StageTally {
  const out = emptyTally();
  for (const k of Object.keys(out) as (keyof StageTally)[]) out[k] = a[k] + b[k];
  return out;
}

function traffic(t: Transport, since: TransportStats): Omit<StageTally, 'wallMs' | 'serverMs' | 'rounds'> {
  const s = t.stats;
  return {
    bytesClientToServer: s.bytesSent - since.bytesSent,
    bytesServerToClient: s.bytesReceived - since.bytesReceived,
    messages: s.messagesSent - since.messagesSent + s.messagesReceived - since.messagesReceived,
  };
}

function stepIo(t: Transport, step: number, recv: ReceiveOptions): StepIo {
  return {
    send: (tag, blobs) => t.send({ tag, header: { step }, blobs }),
    expect: async (tag, blobs) => decodeStep(await receive(t, tag, recv), step, blobs),
  };
}

/**
 * Run a whole client session of `scheme` over `t` on `inputs` (model-ready vectors, possibly made from the
 * architecture).
 */
export async function runClientRole<Ctx, Step extends RoleStep>(
  t: Transport,
  inputsOrMaker: readonly Float64Array[] | ((arch: Architecture) => readonly Float64Array[]),
  scheme: ClientScheme<Ctx, Step>,
  opts: ClientRoleOptions,
): Promise<ClientSessionResult> {
  const recv: ReceiveOptions = {
    timeoutMs: opts.receiveTimeoutMs ?? 10 * 60_000,
    ...(opts.signal ? { signal: opts.signal } : {}),
  };
  const prefetch = opts.prefetch ?? 0;
  if (!Number.isInteger(prefetch) || prefetch < 0)
    throw new PpnnError('ARGUMENT_INVALID', `prefetch must be a non-negative integer, got ${prefetch}`);
  let side: ClientSide<Ctx, Step> | undefined;
  try {
    const setupStart = performance.now();
    const snap0 = { ...t.stats };
    t.send({
      tag: TAG.hello,
      header: { protocol: PROTOCOL_ID, scheme: scheme.id, inputBits: opts.inputBits },
      blobs: [],
    });
    const arch = decodeArch(await receive(t, TAG.arch, recv));
    const { architecture } = arch;
    // inputs may depend on the architecture (its public input normalisation)
    const inputs = typeof inputsOrMaker === 'function' ? inputsOrMaker(architecture) : inputsOrMaker;
    const inSize = shapeSize(architecture.inputShape);
    inputs.forEach((x, i) => {
      if (x.length !== inSize)
        throw new PpnnError(
          'SHAPE_MISMATCH',
          `input ${i} has ${x.length} values, the model expects [${architecture.inputShape.join(',')}]`,
        );
    });
    // with prefetch, a pool of material is one offline batch of `prefetch` images
    let batchSize = Math.max(1, Math.min(prefetch > 0 ? prefetch : (opts.batchSize ?? 64), arch.maxBatch));
    // keys are made for the layouts chosen at exactly the batch sizes this session will use (a frame-size
    // cap below may still lower them: the plans then use layouts these keys allow — one without rotations
    // always exists when the client folds)
    const batches = [...new Set([Math.min(batchSize, inputs.length), inputs.length % batchSize].filter((b) => b > 0))];
    side = await scheme.start(arch, { inputBits: opts.inputBits, batches });
    t.send({ tag: TAG.setup, header: null, blobs: side.setupBlobs() });
    const setup: StageTally = {
      ...emptyTally(),
      ...traffic(t, snap0),
      wallMs: performance.now() - setupStart,
      rounds: 1,
    };

    // the server sized maxBatch by its frame limit; the responses must also fit this side's
    if (side.offlineFrameBytes)
      batchSize = largestBatch(frameLimitOf(t, opts.maxFrameBytes), side.offlineFrameBytes, batchSize);
    let coldMs = -1;
    const warm: number[] = [];
    const logits: Float64Array[] = [];
    let preprocessing = emptyTally(),
      online = emptyTally();
    const perImage = {
      onlineMs: [] as number[],
      onlineBytes: [] as number[],
      preprocessingMs: [] as number[],
      preprocessingBytes: [] as number[],
    };
    for (let start = 0; start < inputs.length; start += batchSize) {
      if (opts.signal?.aborted) throw new PpnnError('CANCELLED', 'session cancelled');
      const batch = inputs.slice(start, start + batchSize);
      const pre = await clientOffline(t, side, start, batch.length, recv, opts);
      preprocessing = addTally(preprocessing, pre.tally);
      opts.onPreprocessed?.(start, batch.length, pre.tally, side.stats());
      for (let i = 0; i < batch.length; i++) {
        if (opts.signal?.aborted) throw new PpnnError('CANCELLED', 'session cancelled');
        // without prefetch the images were all given at session start; with it, each is taken in once its
        // material is in the pool, and its latency is its online stage
        opts.onSubmit?.(start + i, prefetch > 0);
        const { logits: y, tally } = await clientOnline(t, side, pre.states, i, batch[i]!, recv);
        if (coldMs < 0) coldMs = performance.now() - setupStart;
        if (prefetch > 0) warm.push(tally.wallMs);
        online = addTally(online, tally);
        logits.push(y);
        perImage.onlineMs.push(tally.wallMs);
        perImage.onlineBytes.push(tally.bytesClientToServer + tally.bytesServerToClient);
        perImage.preprocessingMs.push(pre.tally.wallMs / batch.length);
        perImage.preprocessingBytes.push(
          (pre.tally.bytesClientToServer + pre.tally.bytesServerToClient) / batch.length,
        );
        opts.onImage?.(start + i, y, tally);
      }
    }
    t.send({ tag: TAG.bye, header: null, blobs: [] });
    return {
      architecture,
      masks: arch.masks,
      provider: arch.provider,
      logits,
      setup,
      preprocessing,
      online,
      perImage,
      latency: { coldMs: Math.max(0, coldMs), warmMs: warm.length ? median(warm) : null, warmImages: warm.length },
      stats: side.stats(),
    };
  } finally {
    await side?.close();
  }
}

/** One batch's offline stage, client side: every request first, then the responses in step order. */
async function clientOffline<Ctx, Step extends RoleStep>(
  t: Transport,
  side: ClientSide<Ctx, Step>,
  batchStart: number,
  count: number,
  recv: ReceiveOptions,
  opts: ClientRoleOptions,
) {
  const t0 = performance.now();
  const snap = { ...t.stats };
  t.send({ tag: TAG.batch, header: { count }, blobs: [] });
  const pending: [Step, OfflineRequest<unknown>][] = [];
  for (const step of side.steps) {
    const proto = side.protocolOf(step) as LayerProtocol<Ctx, unknown, Step, unknown, unknown, unknown>;
    if (!proto.hasOffline(step)) continue;
    const req = proto.offlineClient(side.ctx, step, count);
    if (!req)
      throw new PpnnError(
        'INTERNAL',
        `step ${step.index} ('${step.name}') announces offline material but made no request`,
      );
    t.send({ tag: TAG.preMasks, header: { step: step.index, count }, blobs: req.blobs });
    pending.push([step, req]);
  }
  const states = new Map<number, unknown[]>();
  let serverMs = 0,
    done = 0;
  // A batch's response takes the server time proportional to its images (minutes for 64 on a loaded
  // machine): the wait for it gets the receive timeout per 8 images, a silent peer is still caught.
  const shareRecv: ReceiveOptions = { ...recv, timeoutMs: (recv.timeoutMs ?? 600_000) * Math.ceil(count / 8) };
  for (const [step, req] of pending) {
    const resp = decodePreShares(await receive(t, TAG.preShares, shareRecv), step.index);
    serverMs += resp.serverMs;
    const st = req.finish(resp.blobs);
    if (st.length !== count)
      throw new PpnnError('INTERNAL', `step ${step.index}: ${st.length} states for ${count} images`);
    states.set(step.index, st);
    opts.onPreprocessProgress?.({ batchStart, count, layer: step.name, done: ++done, total: pending.length });
  }
  return { states, tally: { ...traffic(t, snap), wallMs: performance.now() - t0, serverMs, rounds: 1 } };
}

async function clientOnline<Ctx, Step extends RoleStep>(
  t: Transport,
  side: ClientSide<Ctx, Step>,
  states: Map<number, unknown[]>,
  img: number,
  x: Float64Array,
  recv: ReceiveOptions,
) {
  const t0 = performance.now();
  const snap = { ...t.stats };
  let share: Float64Array = x;
  for (const step of side.steps) {
    const proto = side.protocolOf(step) as LayerProtocol<Ctx, unknown, Step, unknown, unknown, unknown>;
    const st = states.get(proto.stateOf?.(step) ?? step.index)?.[img];
    share = await proto.onlineClient(side.ctx, step, st, share, stepIo(t, step.index, recv));
  }
  const res = decodeResult(await receive(t, TAG.onResult, recv));
  const serverShare = bytesToF64(res.share, share.length);
  const logits = side.reconstruct ? side.reconstruct(share, serverShare) : share.map((v, i) => v + serverShare[i]!);
  const sent = t.stats.messagesSent - snap.messagesSent;
  return {
    logits,
    tally: { ...traffic(t, snap), wallMs: performance.now() - t0, serverMs: res.serverMs, rounds: sent },
  };
}

/**
 * Serve one session of `scheme` whose hello has been read. Resolves at 'bye'; on error tells the client, then rethrows.
 */
export async function runServerRole<Ctx, Step extends RoleStep>(
  t: Transport,
  model: Model,
  hello: Hello,
  scheme: ServerScheme<Ctx, Step>,
  opts: ServerRoleOptions = {},
): Promise<ServerSessionSummary> {
  const recv: ReceiveOptions = { timeoutMs: opts.receiveTimeoutMs ?? 10 * 60_000 };
  let maxBatch = Math.min(opts.maxBatch ?? 256, MAX_BATCH);
  let side: SessionSide<Ctx, Step> | undefined;
  try {
    const prep = scheme.prepare(model, hello);
    // a scheme whose offline material per image is large (garbled circuits) caps the batch
    maxBatch = Math.min(maxBatch, prep.maxBatch ?? maxBatch);
    // byte-bounded batches: no offline frame of a batch may exceed the frame limit, in either direction
    if (prep.offlineFrameBytes)
      maxBatch = largestBatch(frameLimitOf(t, opts.maxFrameBytes), prep.offlineFrameBytes, maxBatch);
    t.send({
      tag: TAG.arch,
      header: { architecture: prep.architecture, masks: prep.masks, provider: prep.provider, maxBatch },
      blobs: [],
    });
    const setup = await receive(t, TAG.setup, recv);
    side = await prep.create(setup.blobs);
    let images = 0,
      preprocessingMs = 0,
      onlineMs = 0;
    for (;;) {
      const msg = await receive(t, [TAG.batch, TAG.bye], recv);
      if (msg.tag === TAG.bye) break;
      const { count } = decodeBatch(msg, maxBatch);
      opts.onEvent?.({ type: 'batch', count });
      const states = new Map<number, unknown[]>();
      for (const step of side.steps) {
        const proto = side.protocolOf(step) as LayerProtocol<unknown, Ctx, unknown, Step, unknown, unknown>;
        if (!proto.hasOffline(step)) continue;
        const request = decodePreMasks(await receive(t, TAG.preMasks, recv), step.index, count);
        const t0 = performance.now();
        const r = await proto.offlineServer(side.ctx, step, request, count);
        const ms = performance.now() - t0;
        preprocessingMs += ms;
        states.set(step.index, r.states);
        t.send({ tag: TAG.preShares, header: { step: step.index, serverMs: ms }, blobs: r.blobs });
      }
      for (let img = 0; img < count; img++) onlineMs += await serverOnline(t, side, states, img, recv);
      images += count;
    }
    return { scheme: scheme.id, images, preprocessingMs, onlineMs, stats: side.stats() };
  } catch (e) {
    sendError(t, e);
    throw e;
  } finally {
    await side?.close();
  }
}

/** Online stage for one image, server side; returns the server's compute time in ms (waiting excluded). */
async function serverOnline<Ctx, Step extends RoleStep>(
  t: Transport,
  side: SessionSide<Ctx, Step>,
  states: Map<number, unknown[]>,
  img: number,
  recv: ReceiveOptions,
): Promise<number> {
  let share: Float64Array | undefined;
  let waitMs = 0;
  const t0 = performance.now();
  for (const step of side.steps) {
    const proto = side.protocolOf(step) as LayerProtocol<unknown, Ctx, unknown, Step, unknown, unknown>;
    const st = states.get(proto.stateOf?.(step) ?? step.index)?.[img];
    const io = stepIo(t, step.index, recv);
    // time spent waiting for the client is not the server's work
    const timed: StepIo = {
      send: io.send,
      expect: async (tag, blobs) => {
        const w = performance.now();
        try {
          return await io.expect(tag, blobs);
        } finally {
          waitMs += performance.now() - w;
        }
      },
    };
    share = await proto.onlineServer(side.ctx, step, st, share, timed);
  }
  if (!share) throw new PpnnError('INTERNAL', 'the network has no steps');
  const computeMs = performance.now() - t0 - waitMs;
  t.send({ tag: TAG.onResult, header: { serverMs: computeMs }, blobs: [f64ToBytes(share)] });
  return computeMs;
}

/** Read the hello of a new session (the server role's first receive). */
export async function receiveHello(t: Transport, receiveTimeoutMs?: number): Promise<Hello> {
  return decodeHello(await receive(t, TAG.hello, { timeoutMs: receiveTimeoutMs ?? 10 * 60_000 }));
}
