/**
 * A plan before the run (`ppnn plan`): for every scheme, whether it can run the model and
 * why not, and for the float schemes with CKKS preprocessing (merged, unmerged) the
 * predicted time, bytes and logit error per stage, per image.
 *
 * Bytes are computed, not modelled: the key-setup blob and every upload are produced by
 * the real client code (HeClient.create / encryptMasks on a batch of random masks, so the
 * zstd-compressed sizes are the ones the run sends), a response's size is that of a real
 * level-0 ciphertext of the proposed parameters, and every frame is encoded with the
 * transport's own encoder (online frames carry zero-filled float64 shares of the exact
 * lengths). Times come from the per-op cost model of core/he/layout.ts (planCost) with
 * per-op costs measured here and now (measureOpCosts), the merging stage is timed by
 * running it, and the online stage from a timed plaintext pass of the merged network.
 * The logit error is the precision planner's bound (core/protocol/precision.ts).
 */
import { HeClient, type CkksParams } from '../he/index.ts';
import { measureOpCosts } from '../he/bench.ts';
import { HeContext } from '../he/context.ts';
import { DEFAULT_COSTS, planCost, planLayer, type CostModel } from '../he/layout.ts';
import { Scope } from '../he/seal.ts';
import { rotationStepsFor } from '../he/setup.ts';
import { forward } from '../model/forward.ts';
import { architectureOf } from '../model/json.ts';
import type { Model } from '../model/types.ts';
import { shapeSize } from '../model/types.ts';
import { ckksServerProviders, type CkksProposal } from '../protocol/ckks-provider.ts';
import { TAG } from '../protocol/messages.ts';
import { DEFAULT_MASKS, planServer, type ServerLinearStep } from '../protocol/plan.ts';
import { schemeById, schemeSupport } from '../schemes/index.ts';
import { encodeFrame } from '../transport/frame.ts';

/** One stage's prediction (per image; setup once per session). */
export interface StagePrediction {
  readonly ms: number;
  readonly bytesClientToServer: number;
  readonly bytesServerToClient: number;
}

export interface SchemePlan {
  readonly scheme: string;
  readonly label: string;
  readonly ok: boolean;
  /** why the scheme cannot run the model */
  readonly reason?: string;
  /** why there is no prediction (schemes the cost model does not cover) */
  readonly notModelled?: string;
  readonly params?: { polyModulusDegree: number; coeffModulusBits: readonly number[]; scaleBits: number };
  readonly stages?: {
    merging: StagePrediction;
    setup: StagePrediction;
    preprocessing: StagePrediction;
    online: StagePrediction;
  };
  readonly perStep?: readonly {
    name: string;
    preprocessingMs: number;
    bytesClientToServer: number;
    bytesServerToClient: number;
    predictedLogitError: number;
  }[];
  readonly logitError?: { predicted: number; target: number; meetsTarget: boolean; advice?: string };
  readonly batch?: number;
}

const frameBytes = (tag: string, header: unknown, blobs: readonly number[]): number =>
  encodeFrame({ tag, header, blobs: blobs.map((n) => new Uint8Array(n)) }).byteLength;

/** Size of a real level-0 ciphertext (what a response carries) under `params`. */
async function responseCiphertextBytes(params: CkksParams): Promise<number> {
  const he = await HeContext.create(params);
  const s = new Scope();
  try {
    const kg = s.own(new he.seal.KeyGenerator(he.context));
    const pk = s.own(kg.createPublicKey());
    const enc = s.own(new he.seal.Encryptor(he.context, pk));
    const pt = he.encode(
      s,
      Float64Array.from({ length: he.slots }, () => Math.random() * 2 - 1),
      he.scale,
      0,
    );
    const ct = s.own(new he.seal.Ciphertext());
    enc.encrypt(pt, ct);
    return he.saveBytes(ct, 'share').byteLength;
  } finally {
    s.free();
    he.delete();
  }
}

function costModelFrom(m: Record<string, number>): CostModel {
  const pick = (k: keyof CostModel, alt?: string): number => {
    const v = m[k] ?? (alt ? m[alt] : undefined);
    return typeof v === 'number' && v > 0 ? v : DEFAULT_COSTS[k];
  };
  return {
    encode: pick('encode'),
    encrypt: pick('encrypt'),
    load: pick('load'),
    mulPlain: pick('mulPlain', 'ctPtMul'),
    add: pick('add', 'additions'),
    rotate: pick('rotate', 'rotations'),
    conjugate: pick('conjugate', 'rotate'),
    encryptZero: pick('encryptZero'),
    rescale: pick('rescale', 'rescales'),
    save: pick('save'),
    decrypt: pick('decrypt', 'decryptions'),
    msPerByte: 0, // in-process transports: frames are copied, not sent over a link (time is in the ops)
  };
}

/** Predict a merged / unmerged run of `model` in batches of `batch` images. */
async function predictFloat(
  model: Model,
  id: 'merged' | 'unmerged',
  batch: number,
  targetError: number,
  onLog: (s: string) => void,
): Promise<SchemePlan> {
  const scheme = schemeById(id);
  if (scheme.kind !== 'interactive') throw new TypeError(`${id} is not interactive`);
  // Merging timed twice, the faster kept: the first run also pays for loading and JIT warm-up.
  let mergeMs = Infinity,
    net = model;
  for (let i = 0; i < 2; i++) {
    const m0 = performance.now();
    net = scheme.network({ ...model }).model;
    mergeMs = Math.min(mergeMs, performance.now() - m0);
  }
  const masks = DEFAULT_MASKS;
  const steps = planServer(net, masks);
  const proposal = ckksServerProviders({ targetError }).propose(steps, masks, id).params as CkksProposal;
  const params = proposal.params;
  const slots = params.polyModulusDegree / 2;
  const linear = steps.filter((s): s is ServerLinearStep => s.kind === 'linear');
  const heLayers = linear.map((st) => ({
    spec: st.spec,
    ...(st.spec.kind === 'conv2d' ? { inputShape: st.inShape } : {}),
    product: st.next !== undefined,
  }));
  onLog(`${id}: N=${params.polyModulusDegree}, measuring keys, ciphertext sizes and op costs…`);
  // the keys and plans of a real client preprocessing batches of `batch` (folding on the client, ckks-provider.ts)
  const rotationSteps = rotationStepsFor(heLayers, proposal.layout, slots, [batch], { clientFold: true });
  const client = await HeClient.create(params, { rotationSteps });
  const perStep: NonNullable<SchemePlan['perStep']>[number][] = [];
  let cost: CostModel, responseBytes: number, setupBytes: number;
  try {
    setupBytes = frameBytes(TAG.setup, null, [client.setupMessage().byteLength]);
    responseBytes = await responseCiphertextBytes(params);
    cost = costModelFrom((await measureOpCosts(params, params.depth, 3)) as unknown as Record<string, number>);
    for (const [k, st] of linear.entries()) {
      const masksB = Array.from({ length: batch }, () =>
        Float64Array.from({ length: st.inSize }, () => (2 * Math.random() - 1) * 1e3),
      );
      const product = st.next !== undefined;
      const blobs = client.encryptMasks(st.spec, masksB, proposal.layout, {
        product,
        ...(st.spec.kind === 'conv2d' ? { inputShape: st.inShape } : {}),
      });
      const plan = planLayer(st.spec, {
        images: batch,
        slots,
        layout: proposal.layout,
        inputShape: heLayers[k]!.inputShape,
        product,
        steps: rotationSteps,
        clientFold: true,
      });
      const responses = plan.outputs.length * (product ? 2 : 1);
      const up = frameBytes(
        TAG.preMasks,
        { step: st.index, count: batch },
        blobs.map((b) => b.byteLength),
      );
      const down = frameBytes(
        TAG.preShares,
        { step: st.index, serverMs: 1234.5678901234 },
        new Array<number>(responses).fill(responseBytes),
      );
      const ms = planCost(plan, { product, n: params.polyModulusDegree, cost }).ms;
      const err = proposal.precision?.steps.find((p) => p.index === st.index)?.predictedLogitError ?? 0;
      perStep.push({
        name: st.name,
        preprocessingMs: ms / batch,
        bytesClientToServer: up / batch,
        bytesServerToClient: down / batch,
        predictedLogitError: err,
      });
    }
  } finally {
    client.delete();
  }
  // Online: the frames of one image (client: x − r per linear step; server: d per square, the logit share).
  let onUp = 0,
    onDown = 0;
  for (const st of steps) {
    if (st.kind === 'linear')
      onUp += frameBytes(st.index === 0 ? TAG.onInput : TAG.onShare, { step: st.index }, [8 * st.inSize]);
    else if (st.poly.a !== 0) onDown += frameBytes(TAG.onAct, { step: st.index }, [8 * st.size]);
  }
  onDown += frameBytes(TAG.onResult, { serverMs: 1.2345678901234 }, [
    8 * shapeSize(architectureOf(net).shapes.at(-1)!),
  ]);
  const x = new Float64Array(shapeSize(net.inputShape)).fill(0.5);
  forward(net, x);
  const t0 = performance.now();
  for (let i = 0; i < 5; i++) forward(net, x);
  // both parties' arithmetic + message handling
  const onlineMs = 2 * ((performance.now() - t0) / 5) + 0.05 * steps.length;
  const sum = (k: 'preprocessingMs' | 'bytesClientToServer' | 'bytesServerToClient'): number =>
    perStep.reduce((a, s) => a + s[k], 0);
  const batchFrame = frameBytes(TAG.batch, { count: batch }, []) / batch;
  const p = proposal.precision;
  return {
    scheme: id,
    label: scheme.label,
    ok: true,
    batch,
    params: {
      polyModulusDegree: params.polyModulusDegree,
      coeffModulusBits: params.coeffModulusBits,
      scaleBits: params.scaleBits,
    },
    stages: {
      merging: { ms: mergeMs, bytesClientToServer: 0, bytesServerToClient: 0 },
      setup: { ms: 0, bytesClientToServer: setupBytes, bytesServerToClient: 0 },
      preprocessing: {
        ms: sum('preprocessingMs'),
        bytesClientToServer: sum('bytesClientToServer') + batchFrame,
        bytesServerToClient: sum('bytesServerToClient'),
      },
      online: { ms: onlineMs, bytesClientToServer: onUp, bytesServerToClient: onDown },
    },
    perStep,
    ...(p
      ? {
          logitError: {
            predicted: p.predictedLogitError,
            target: p.targetError,
            meetsTarget: p.meetsTarget,
            ...(p.advice ? { advice: p.advice } : {}),
          },
        }
      : {}),
  };
}

/**
 * The plan of every scheme (or `only`) for `model`: support and, where modelled, the
 * predictions. Needs node-seal for the float schemes (keys and ciphertexts are made to
 * be measured). Throws what the planner throws (HE_PARAMS, MODEL_UNSUPPORTED_LAYER).
 */
export async function planRun(
  model: Model,
  opts: { only?: string; batch?: number; targetError?: number; onLog?: (s: string) => void } = {},
): Promise<SchemePlan[]> {
  const support = schemeSupport(architectureOf(model)).filter((s) => !opts.only || s.id === opts.only);
  const out: SchemePlan[] = [];
  for (const s of support) {
    if (!s.ok) {
      out.push({ scheme: s.id, label: s.label, ok: false, ...(s.reason ? { reason: s.reason } : {}) });
      continue;
    }
    if (s.id === 'merged' || s.id === 'unmerged') {
      out.push(await predictFloat(model, s.id, opts.batch ?? 64, opts.targetError ?? 1e-3, opts.onLog ?? (() => {})));
    } else {
      out.push({
        scheme: s.id,
        label: s.label,
        ok: true,
        notModelled:
          'runs this model; no prediction: the cost model covers the CKKS-preprocessed float schemes (merged, ' +
          'unmerged) only',
      });
    }
  }
  return out;
}
