/**
 * A plan before the run (`ppnn plan`): for every scheme, whether it can run the model and
 * why not, and for the CKKS schemes — merged and unmerged here, gazelle (predict-gazelle.ts)
 * and cryptonets (predict-cryptonets.ts, from op counts) — the predicted time, bytes and
 * logit error per stage, per image; the ring schemes (merged-ring, delphi) in predict-ring.ts.
 *
 * Bytes are computed, not modelled: the key-setup blob and every upload are produced by
 * the real client code (HeClient.create / encryptMasks on a batch of random masks, so the
 * zstd-compressed sizes are the ones the run sends), a response's size is that of a real
 * level-0 ciphertext of the proposed parameters, and every frame is encoded with the
 * transport's own encoder (online frames carry zero-filled float64 shares of the exact
 * lengths). Times come from the per-op cost model of core/he/layout.ts (planCost) with
 * per-op costs measured here and now (measureOpCosts: the mean of a stream of each op, an
 * upload's load being that of a seeded ciphertext at its level; the run's first batch also
 * encodes every weight plaintext, which later batches find in the weight cache), the merging stage is timed by
 * running it, and the online stage is the real roles' online code run for the run's images
 * in two fresh worker threads over the roles' transport (predict-online.ts: that is where the
 * round-4 model's 3–12x misses were) plus what the server's zero-pool refill adds to it
 * (zeroRefillMs); set-up and preprocessing add their messages between
 * the role threads at the per-message cost measured now (latency.ts).
 * The logit error is the precision planner's bound (core/protocol/precision.ts).
 */
import { HeClient } from '../he/index.ts';
import { measureOpCosts } from '../he/bench.ts';
import { planCost, planLayer, type CostModel } from '../he/layout.ts';
import { rotationStepsFor } from '../he/setup.ts';
import { architectureOf } from '../model/json.ts';
import type { Model } from '../model/types.ts';
import { shapeSize } from '../model/types.ts';
import { ckksServerProviders, type CkksProposal } from '../protocol/ckks-provider.ts';
import { TAG } from '../protocol/messages.ts';
import { DEFAULT_MASKS, planServer, type ServerLinearStep } from '../protocol/plan.ts';
import { schemeById, schemeSupport } from '../schemes/index.ts';
import { measureMessageCost, type MessageCost } from './latency.ts';
import { onlineInThreads } from './predict-online.ts';
import { predictCryptoNets } from './predict-cryptonets.ts';
import { predictGazelle } from './predict-gazelle.ts';
import { predictRing } from './predict-ring.ts';
import {
  ckksPlanHead,
  costModelFrom,
  frameBytes,
  messagesMs,
  responseCiphertextBytes,
  type SchemePlan,
  type StagePrediction,
} from './predict-parts.ts';
import { schemeNetwork, zeroRefillMs } from './predict-parts.ts';

export type { SchemePlan, StagePrediction };

/** Predict a merged / unmerged run of `model` in batches of `batch` images. */
async function predictFloat(
  model: Model,
  id: 'merged' | 'unmerged',
  batch: number,
  targetError: number,
  onLog: (s: string) => void,
  msg: MessageCost,
  images = batch,
): Promise<SchemePlan> {
  const { net, mergeMs, label } = schemeNetwork(id, model);
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
  let zeros = 0;
  try {
    setupBytes = frameBytes(TAG.setup, null, [client.setupMessage().byteLength]);
    responseBytes = await responseCiphertextBytes(params);
    // the mean of a stream of each op: a batch is one (measureOpCosts, meanMs)
    cost = costModelFrom(await measureOpCosts(params, params.depth, 5, { stat: 'mean' }));
    // a session encodes each weight plaintext once, in its first batch (the weight cache then holds
    // it): the run's batches of `batch` images, the first of them cold
    const batches = Math.max(1, Math.ceil(images / batch));
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
      zeros += responses; // one Enc_pk(0) per response (the pool's refill, zeroRefillMs)
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
      const costOf = (coldWeights: boolean) =>
        planCost(plan, { product, n: params.polyModulusDegree, cost, coldWeights }).ms;
      const ms = (costOf(true) + (batches - 1) * costOf(false)) / batches;
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
  // Online: the frames of one image (client: x − r per linear step; server: d per square, the logit share),
  // a chain of messages each of which waits for the one before
  let onUp = 0,
    onDown = 0,
    bursts = 0,
    lastFromClient = false;
  for (const st of steps) {
    if (st.kind === 'linear') {
      onUp += frameBytes(st.index === 0 ? TAG.onInput : TAG.onShare, { step: st.index }, [8 * st.inSize]);
      if (!lastFromClient) bursts++;
      lastFromClient = true;
    } else if (st.poly.a !== 0) {
      onDown += frameBytes(TAG.onAct, { step: st.index }, [8 * st.size]);
      lastFromClient = false;
    }
  }
  onDown += frameBytes(TAG.onResult, { serverMs: 1.2345678901234 }, [
    8 * shapeSize(architectureOf(net).shapes.at(-1)!),
  ]);
  // the real roles' online stage of a run of `images` images in two fresh worker threads (predict-online.ts)
  onLog(`${id}: timing the online stage of ${images} image(s) in two worker threads…`);
  const baseMs = (await onlineInThreads('float', id, model, images)).meanMs;
  const zeros1 = Math.min(zeros, 2 * 512); // the pool holds at most 512 per level (two levels here)
  const poolMs = zeroRefillMs({ zeros: zeros1, encryptZeroMs: cost!.zeroEncryptions, bursts, baseMs, batch });
  const onlineMs = baseMs + poolMs;
  const sum = (k: 'preprocessingMs' | 'bytesClientToServer' | 'bytesServerToClient'): number =>
    perStep.reduce((a, s) => a + s[k], 0);
  const batchFrame = frameBytes(TAG.batch, { count: batch }, []) / batch;
  // a batch: its request, then per linear step the uploads and the responses
  const preMsgMs =
    messagesMs(msg, 1 + 2 * linear.length, batch * (sum('bytesClientToServer') + sum('bytesServerToClient'))) / batch;
  const head = ckksPlanHead(params, mergeMs, msg, setupBytes);
  const p = proposal.precision;
  return {
    scheme: id,
    label,
    ok: true,
    batch,
    params: head.params,
    stages: {
      merging: head.merging,
      setup: head.setup,
      preprocessing: {
        ms: sum('preprocessingMs') + preMsgMs,
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

/** One supported scheme's plan (`cost`: the per-message cost, measured once per plan). */
async function planScheme(
  model: Model,
  s: { id: string; label: string },
  opts: { batch?: number; images?: number; targetError?: number },
  log: (s: string) => void,
  cost: () => Promise<MessageCost>,
): Promise<SchemePlan> {
  const batch = opts.batch ?? 64,
    images = opts.images ?? batch;
  switch (s.id) {
    case 'merged':
    case 'unmerged':
      return predictFloat(model, s.id, batch, opts.targetError ?? 1e-3, log, await cost(), images);
    case 'gazelle':
      return predictGazelle(model, log, await cost(), Math.min(batch, images));
    case 'cryptonets':
      // one batch holds up to N/2 images: `batch` is the run's image count here
      return predictCryptoNets(model, s.label, batch, log);
    case 'merged-ring':
    case 'delphi':
      return predictRing(model, s.id, batch, log, await cost(), images);
    default:
      return { scheme: s.id, label: s.label, ok: true, notModelled: 'runs this model; no prediction for this scheme' };
  }
}

/**
 * The plan of every scheme (or `only`) for `model`: support and, where modelled, the
 * predictions for a run of `images` images (default: one batch) in batches of `batch`. Needs
 * node-seal (keys and ciphertexts are made to be measured). Throws what the planner throws
 * (HE_PARAMS, MODEL_UNSUPPORTED_LAYER).
 */
export async function planRun(
  model: Model,
  opts: { only?: string; batch?: number; images?: number; targetError?: number; onLog?: (s: string) => void } = {},
): Promise<SchemePlan[]> {
  const support = schemeSupport(architectureOf(model)).filter((s) => !opts.only || s.id === opts.only);
  const out: SchemePlan[] = [];
  const log = opts.onLog ?? (() => {});
  let msg: MessageCost | undefined;
  const cost = async (): Promise<MessageCost> => (msg ??= await measureMessageCost());
  for (const s of support) {
    if (!s.ok) out.push({ scheme: s.id, label: s.label, ok: false, ...(s.reason ? { reason: s.reason } : {}) });
    else out.push(await planScheme(model, s, opts, log, cost));
  }
  return out;
}
