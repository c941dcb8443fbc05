/**
 * A plan before the run (`ppnn plan`): for every scheme, whether it can run the model and
 * why not, and for the CKKS schemes — merged and unmerged here, gazelle (predict-gazelle.ts)
 * and cryptonets (predict-cryptonets.ts, from op counts) — the predicted time, bytes and
 * logit error per stage, per image. The ring schemes (merged-ring, delphi) have no prediction yet.
 *
 * Bytes are computed, not modelled: the key-setup blob and every upload are produced by
 * the real client code (HeClient.create / encryptMasks on a batch of random masks, so the
 * zstd-compressed sizes are the ones the run sends), a response's size is that of a real
 * level-0 ciphertext of the proposed parameters, and every frame is encoded with the
 * transport's own encoder (online frames carry zero-filled float64 shares of the exact
 * lengths). Times come from the per-op cost model of core/he/layout.ts (planCost) with
 * per-op costs measured here and now (measureOpCosts), the merging stage is timed by
 * running it, and the online stage from a timed plaintext pass of the merged network; every
 * stage adds its chain of messages between the role threads at the per-message cost measured
 * now (latency.ts).
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
import { dealerClient, dealerServer } from '../protocol/dealer-provider.ts';
import { cryptoMasks } from '../protocol/random.ts';
import { median } from '../report/median.ts';
import { runClientSession, schemeById, schemeSupport, serveSession } from '../schemes/index.ts';
import { memoryPair } from '../transport/memory.ts';
import { measureMessageCost, type MessageCost } from './latency.ts';
import { predictCryptoNets } from './predict-cryptonets.ts';
import { predictGazelle } from './predict-gazelle.ts';
import {
  ckksPlanHead,
  costModelFrom,
  frameBytes,
  messagesMs,
  responseCiphertextBytes,
  type SchemePlan,
  type StagePrediction,
} from './predict-parts.ts';
import { timedMerge } from './predict-parts.ts';

export type { SchemePlan, StagePrediction };

/**
 * ms per image of the online stage of `id` on `model`, run by the real roles over an in-memory
 * transport (one thread), the preprocessing material made by the trusted-dealer test provider
 * instead of CKKS (the online stage is the same code whatever made the material; the inputs
 * are random). The median of 5 images after 2 warm-up images.
 */
async function onlineInProcess(model: Model, id: 'merged' | 'unmerged'): Promise<number> {
  const inputs = Array.from({ length: 7 }, () =>
    Float64Array.from({ length: shapeSize(model.inputShape) }, () => Math.random()),
  );
  const [ct, st] = memoryPair();
  try {
    const server = serveSession(st, {
      model,
      providers: { propose: () => ({ kind: 'dealer', params: null }), create: async () => dealerServer(cryptoMasks) },
    });
    server.catch(() => {});
    const client = await runClientSession(ct, inputs, {
      scheme: id,
      providers: { create: async () => dealerClient() },
      random: cryptoMasks,
      batchSize: inputs.length,
    });
    await server;
    return median(client.perImage.onlineMs.slice(2));
  } finally {
    ct.close();
    st.close();
  }
}

/** Predict a merged / unmerged run of `model` in batches of `batch` images. */
async function predictFloat(
  model: Model,
  id: 'merged' | 'unmerged',
  batch: number,
  targetError: number,
  onLog: (s: string) => void,
  msg: MessageCost,
): Promise<SchemePlan> {
  const scheme = schemeById(id);
  if (scheme.kind !== 'interactive') throw new TypeError(`${id} is not interactive`);
  const { net, mergeMs } = timedMerge(() => scheme.network({ ...model }).model);
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
    cost = costModelFrom(await measureOpCosts(params, params.depth, 3));
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
  // Online: the frames of one image (client: x − r per linear step; server: d per square, the logit share),
  // a chain of messages each of which waits for the one before
  let onUp = 0,
    onDown = 0,
    onMessages = 1;
  for (const st of steps) {
    if (st.kind === 'linear') {
      onUp += frameBytes(st.index === 0 ? TAG.onInput : TAG.onShare, { step: st.index }, [8 * st.inSize]);
      onMessages++;
    } else if (st.poly.a !== 0) {
      onDown += frameBytes(TAG.onAct, { step: st.index }, [8 * st.size]);
      onMessages++;
    }
  }
  onDown += frameBytes(TAG.onResult, { serverMs: 1.2345678901234 }, [
    8 * shapeSize(architectureOf(net).shapes.at(-1)!),
  ]);
  // both parties' share arithmetic and message handling, timed on the real roles in one thread, + the thread hops
  const onlineMs = (await onlineInProcess(model, id)) + messagesMs(msg, onMessages, onUp + onDown);
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
    label: scheme.label,
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
  const log = opts.onLog ?? (() => {});
  let msg: MessageCost | undefined;
  const messageCost = async (): Promise<MessageCost> => (msg ??= await measureMessageCost());
  for (const s of support) {
    if (!s.ok) {
      out.push({ scheme: s.id, label: s.label, ok: false, ...(s.reason ? { reason: s.reason } : {}) });
      continue;
    }
    if (s.id === 'merged' || s.id === 'unmerged') {
      out.push(await predictFloat(model, s.id, opts.batch ?? 64, opts.targetError ?? 1e-3, log, await messageCost()));
    } else if (s.id === 'gazelle') {
      out.push(await predictGazelle(model, log, await messageCost()));
    } else if (s.id === 'cryptonets') {
      // one batch holds up to N/2 images: `batch` is the run's image count here
      out.push(await predictCryptoNets(model, s.label, opts.batch ?? 64, log));
    } else {
      out.push({
        scheme: s.id,
        label: s.label,
        ok: true,
        notModelled:
          'runs this model; no prediction: the cost model covers the CKKS schemes (merged, unmerged, gazelle, ' +
          'cryptonets), not the ring (BFV + garbled-circuit) schemes yet',
      });
    }
  }
  return out;
}
