/**
 * The plan's prediction for `gazelle` (core/schemes/gazelle.ts): no preprocessing; per image
 * and linear step one HE round trip in the online stage — the client's Enc(share) up, the
 * server adds its share, applies the preceding activation inside HE (square, relinearise,
 * rescale) and evaluates the map, level-0 results down.
 *
 * Bytes are produced as the run makes them: the set-up blob by HeClient.create with the keys
 * a gazelle client makes (rotationStepsFor at the default batch sizes, no client folding,
 * relinearisation keys when an activation squares), each upload by encryptMasks with the
 * online option, a real level-0 response ciphertext, frames by the transport's encoder.
 * Time: the chosen plans' op counts (planCost) × per-op costs measured now (measureOpCosts,
 * ct×ct square and relinearisation included), plus the activation's ops per uploaded
 * ciphertext and the chain of messages (latency.ts).
 */
import { HeClient } from '../he/index.ts';
import { measureOpCosts } from '../he/bench.ts';
import { planCost, planLayer } from '../he/layout.ts';
import { DEFAULT_KEY_BATCHES, rotationStepsFor } from '../he/setup.ts';
import { architectureOf } from '../model/json.ts';
import type { Model } from '../model/types.ts';
import { shapeSize } from '../model/types.ts';
import type { CkksProposal } from '../protocol/ckks-provider.ts';
import { ckksServerProviders } from '../protocol/ckks-provider.ts';
import { TAG } from '../protocol/messages.ts';
import { DEFAULT_MASKS, planServer, type ServerLinearStep } from '../protocol/plan.ts';
import type { MessageCost } from './latency.ts';
import { ckksPlanHead, costModelFrom, frameBytes, messagesMs, responseCiphertextBytes } from './predict-parts.ts';
import { schemeNetwork } from './predict-parts.ts';
import type { SchemePlan } from './predict-parts.ts';

/**
 * Predict a gazelle run of `model` (per image: its HE work has no batches; the client still opens each batch
 * of `batch` images with a batch request, the only preprocessing bytes).
 */
export async function predictGazelle(
  model: Model,
  onLog: (s: string) => void,
  msg: MessageCost,
  batch = 1,
): Promise<SchemePlan> {
  const { net, mergeMs, label } = schemeNetwork('gazelle', model);
  const steps = planServer(net, DEFAULT_MASKS);
  const proposal = ckksServerProviders().propose(steps, DEFAULT_MASKS, 'gazelle').params as CkksProposal;
  const { params, layout } = proposal;
  const slots = params.polyModulusDegree / 2;
  const linear = steps.filter((s): s is ServerLinearStep => s.kind === 'linear');
  const shapeOf = (st: ServerLinearStep) => (st.spec.kind === 'conv2d' ? { inputShape: st.inShape } : {});
  const activationBefore = (st: ServerLinearStep) => {
    const prev = st.index > 0 ? steps[st.index - 1] : undefined;
    return prev?.kind === 'activation' ? prev.poly : undefined;
  };
  onLog(`gazelle: N=${params.polyModulusDegree}, measuring keys, ciphertext sizes and op costs…`);
  const rotationSteps = rotationStepsFor(
    linear.map((st) => ({ spec: st.spec, ...shapeOf(st) })),
    layout,
    slots,
    DEFAULT_KEY_BATCHES,
  );
  const squares = linear.some((st) => (activationBefore(st)?.a ?? 0) !== 0);
  const client = await HeClient.create(params, { rotationSteps, relinKeys: squares });
  const perStep: NonNullable<SchemePlan['perStep']>[number][] = [];
  let setupBytes: number;
  try {
    setupBytes = frameBytes(TAG.setup, null, [client.setupMessage().byteLength]);
    const responseBytes = await responseCiphertextBytes(params);
    const raw = await measureOpCosts(params, params.depth, 3);
    const cost = costModelFrom(raw);
    for (const st of linear) {
      const act = activationBefore(st);
      const share = Float64Array.from({ length: st.inSize }, () => 2 * Math.random() - 1);
      const blobs = client.encryptMasks(st.spec, [share], layout, {
        online: { activation: act !== undefined },
        ...shapeOf(st),
      });
      const plan = planLayer(st.spec, { images: 1, slots, layout, ...shapeOf(st), steps: rotationSteps });
      // the server's share added (encode + add), then a true square: square, relinearise, rescale, + κ
      const sq = act !== undefined && act.a !== 0;
      const actMs =
        plan.inputCount *
        (cost.encodes +
          cost.additions +
          (sq ? raw.ctCtMul + raw.relinearizations + cost.rescales + cost.encodes + cost.additions : 0));
      const ms = planCost(plan, { n: params.polyModulusDegree, cost }).ms + actMs;
      const up = frameBytes(
        TAG.onEnc,
        { step: st.index },
        blobs.map((b) => b.byteLength),
      );
      const down = frameBytes(
        TAG.onEval,
        { step: st.index },
        new Array<number>(plan.outputs.length).fill(responseBytes),
      );
      perStep.push({
        name: st.name,
        preprocessingMs: ms, // gazelle's HE work is in the online stage: see stages.online
        bytesClientToServer: up,
        bytesServerToClient: down,
        predictedLogitError: 0,
      });
    }
  } finally {
    client.delete();
  }
  const result = frameBytes(TAG.onResult, { serverMs: 1.2345678901234 }, [
    8 * shapeSize(architectureOf(net).shapes.at(-1)!),
  ]);
  const sum = (k: 'preprocessingMs' | 'bytesClientToServer' | 'bytesServerToClient'): number =>
    perStep.reduce((a, s) => a + s[k], 0);
  const up = sum('bytesClientToServer'),
    down = sum('bytesServerToClient') + result;
  const head = ckksPlanHead(params, mergeMs, msg, setupBytes);
  const zero = { ms: 0, bytesClientToServer: 0, bytesServerToClient: 0 };
  return {
    scheme: 'gazelle',
    label,
    ok: true,
    batch: 1,
    params: head.params,
    stages: {
      merging: head.merging,
      setup: head.setup,
      // the batch request (sent without waiting for an answer: no time)
      preprocessing: { ...zero, bytesClientToServer: frameBytes(TAG.batch, { count: batch }, []) / batch },
      online: {
        ms: sum('preprocessingMs') + messagesMs(msg, 2 * linear.length + 1, up + down),
        bytesClientToServer: up,
        bytesServerToClient: down,
      },
    },
    perStep,
  };
}
