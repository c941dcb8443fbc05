/**
 * The real preprocessing provider: CKKS via core/he. The server proposes parameters from
 * the planned network (depth 2 when some linear map feeds a square activation, else 1;
 * value range from the mask ranges, which only the server can bound because it knows
 * ‖M‖); the client validates them (128-bit security) before making keys.
 */
import { PpnnError } from '../errors.ts';
import {
  addCounts,
  zeroCounts,
  chooseParams,
  validateParams,
  HeClient,
  HeServer,
  rotationStepsFor,
  DEFAULT_KEY_BATCHES,
  type CkksParams,
  type HeStats,
  type Layout,
} from '../he/index.ts';
import type { Architecture } from '../model/types.ts';
import type { HeOpCounts, LayerLevelTrace } from '../report/types.ts';
import { DEFAULT_TARGET_ERROR, planPrecision, type StepPrecision } from './precision.ts';
import {
  gazelleShareRange,
  inputMaskRange,
  planClient,
  serverMaskRanges,
  type ClientLinearStep,
  type ClientStep,
  type MaskParams,
  type ServerStep,
} from './plan.ts';
import type {
  ClientPreprocessor,
  ClientProviderFactory,
  FloatSchemeId,
  ProviderInfo,
  ServerPreprocessor,
  ServerProviderFactory,
} from './provider.ts';

export interface CkksProposal {
  params: CkksParams;
  layout: Layout;
  /**
   * Per linear step index: the correlated product is evaluated as p/f (a/f, t/f) and the
   * client multiplies by f. CKKS error is absolute, so f trades the product's precision
   * (error × f) for range, letting the shares keep the full precision of Δ. Public.
   */
  productScale: Record<number, number>;
  /**
   * Per linear step index: the client encrypts r/g, shares come back as (M·r − s)/g and
   * both parties multiply by g (core/protocol/precision.ts). Public; absent = 1.
   */
  shareScale?: Record<number, number>;
  /**
   * Per linear step index: the client encrypts its masks at scale Δ·2^b, the server encodes
   * the weights at q_L/2^b (core/he/params.ts maxUploadScaleBits). Public; absent = 0.
   */
  uploadScaleBits?: Record<number, number>;
  /** the precision plan's prediction (public: derived from public bounds and the parameters) */
  precision?: {
    targetError: number;
    predictedLogitError: number;
    meetsTarget: boolean;
    advice?: string;
    steps: StepPrecision[];
  };
  /** the protocol the parameters were made for (gazelle needs relinearisation keys) */
  scheme: FloatSchemeId;
}

/** Absolute error a decrypted share may carry (raw units): well below the 1e-3 logit budget. */
const SHARE_PRECISION = 1e-5;

const heShape = (step: ClientLinearStep, product: boolean) => ({
  spec: step.spec,
  product,
  ...(step.spec.kind === 'conv2d' ? { inputShape: step.inShape } : {}),
});

export function ckksServerProviders(
  opts: { layout?: Layout; workers?: number; targetError?: number } = {},
): ServerProviderFactory {
  const layout = opts.layout ?? 'fast';
  return {
    propose(steps: ServerStep[], masks: MaskParams, scheme: FloatSchemeId): ProviderInfo {
      if (scheme === 'gazelle') return proposeGazelle(steps, masks, layout);
      // Precision by design: parameters and per-step scales from the target logit error.
      const plan = planPrecision(steps, masks, opts.targetError ?? DEFAULT_TARGET_ERROR);
      const scales = (key: 'shareScale' | 'productScale'): Record<number, number> =>
        Object.fromEntries(plan.steps.filter((p) => p[key] !== 1).map((p) => [p.index, p[key]]));
      const uploadScaleBits = Object.fromEntries(
        plan.steps.filter((p) => p.uploadScaleBits !== 0).map((p) => [p.index, p.uploadScaleBits]),
      );
      const { targetError, predictedLogitError, meetsTarget, advice } = plan;
      return {
        kind: 'ckks',
        params: {
          params: plan.params,
          layout,
          productScale: scales('productScale'),
          shareScale: scales('shareScale'),
          uploadScaleBits,
          scheme,
          precision: {
            targetError,
            predictedLogitError,
            meetsTarget,
            ...(advice ? { advice } : {}),
            steps: [...plan.steps],
          },
        } satisfies CkksProposal,
      };
    },
    async create(info, setupBlobs): Promise<ServerPreprocessor> {
      const { params, layout: lay, productScale, shareScale = {}, uploadScaleBits = {} } = info.params as CkksProposal;
      if (setupBlobs.length !== 1)
        throw new PpnnError('PROTOCOL_VIOLATION', `setup: expected 1 blob (keys), got ${setupBlobs.length}`);
      const server = await HeServer.create(params, setupBlobs[0]!, opts.workers ? { workers: opts.workers } : {});
      return {
        kind: 'ckks',
        async evaluate(step, request, count, ranges) {
          const f = productScale[step.index] ?? 1,
            g = shareScale[step.index] ?? 1;
          const r = await server.evaluate(step.layer, request, count, {
            layout: lay,
            sRange: ranges.sRange / g,
            uploadScaleBits: uploadScaleBits[step.index] ?? 0,
            product: ranges.product
              ? { aRange: ranges.product.aRange / f, tRange: ranges.product.tRange / (g * f) }
              : undefined,
            ...(step.layer.kind === 'conv2d' ? { inputShape: step.inShape } : {}),
          });
          // the server keeps the unscaled s, a, t: y_c = g·(M·r/g − s/g) and
          // p = g·f·((M·r/g) ⊙ a/f − t/(g·f)) = (M·r)⊙a − t
          if (g !== 1) r.s = r.s.map((v) => v.map((x) => x * g));
          if ((f !== 1 || g !== 1) && r.a && r.t) {
            r.a = r.a.map((v) => v.map((x) => x * f));
            r.t = r.t.map((v) => v.map((x) => x * g * f));
          }
          return r;
        },
        async evaluateOnline(step, request, o) {
          const r = await server.evaluateOnShares(step.layer, request, 1, {
            layout: lay,
            sRange: o.sRange,
            ...(o.serverShare ? { serverShare: [o.serverShare] } : {}),
            ...(o.activation ? { activation: o.activation } : {}),
            ...(step.layer.kind === 'conv2d' ? { inputShape: step.inShape } : {}),
          });
          return { response: r.response, s: r.s[0]! };
        },
        stats: () => server.stats,
        close: () => server.delete(),
      };
    },
  };
}

/**
 * gazelle: depth = the activation's level (a square costs one ct×ct level) + the linear map.
 * The client's encrypted share can be as large as the previous layer's share mask, so the
 * top of the chain must hold it (inputMaxAbs); results M·A(v) − s are bounded by sRange.
 */
function proposeGazelle(steps: ServerStep[], masks: MaskParams, layout: Layout): ProviderInfo {
  let maxAbs = 1,
    inputMaxAbs = 1,
    depth: 1 | 2 = 1,
    prevRange = 0;
  steps.forEach((st, i) => {
    if (st.kind !== 'linear') return;
    const sRange = gazelleShareRange(st, masks);
    maxAbs = Math.max(maxAbs, 2 * sRange);
    inputMaxAbs = Math.max(inputMaxAbs, i === 0 ? st.inputBound : 2 * prevRange);
    if (i > 0 && steps[i - 1]!.kind === 'activation') depth = 2;
    prevRange = sRange;
  });
  const params = chooseParams({ depth, maxAbsValue: maxAbs, precision: SHARE_PRECISION, inputMaxAbs });
  return { kind: 'ckks', params: { params, layout, productScale: {}, scheme: 'gazelle' } satisfies CkksProposal };
}

/** masks / g, copied (the client keeps the unscaled r for the online stage). */
function scaleDown(masks: Float64Array[], g: number): Float64Array[] {
  return g === 1 ? masks : masks.map((m) => m.map((x) => x / g));
}

/** A gazelle linear step applies the preceding activation homomorphically. */
function followsActivation(steps: readonly ClientStep[], step: ClientLinearStep): boolean {
  return step.index > 0 && steps[step.index - 1]!.kind === 'activation';
}

export function ckksClientProviders(): ClientProviderFactory {
  return {
    async create(
      info: ProviderInfo,
      arch: Architecture,
      opts: { batches?: readonly number[] } = {},
    ): Promise<ClientPreprocessor> {
      if (info.kind !== 'ckks')
        throw new PpnnError(
          'PROTOCOL_VIOLATION',
          `server proposed provider '${info.kind}'; this client only accepts CKKS`,
        );
      const {
        params,
        layout,
        productScale,
        scheme,
        shareScale = {},
        uploadScaleBits = {},
      } = info.params as CkksProposal;
      validateParams(params);
      const all = planClient(arch, { inputBits: 0, shareBits: 0, defaultBound: 1 });
      const steps = all.filter((s): s is ClientLinearStep => s.kind === 'linear');
      const gazelle = scheme === 'gazelle';
      const rotationSteps = rotationStepsFor(
        steps.map((st) => heShape(st, !gazelle && st.next !== undefined)),
        layout,
        params.polyModulusDegree / 2,
        opts.batches ?? DEFAULT_KEY_BATCHES,
        // preprocessing folds on the client (fewer keys); gazelle's online layers are planned without it
        { clientFold: !gazelle },
      );
      const client = await HeClient.create(params, {
        rotationSteps,
        relinKeys: gazelle && all.some((s) => s.kind === 'activation' && s.poly.a !== 0),
      });
      return {
        kind: 'ckks',
        setupBlobs: () => [client.setupMessage()],
        encryptMasks: (step, masks) =>
          client.encryptMasks(step.spec, scaleDown(masks, shareScale[step.index] ?? 1), layout, {
            product: step.next !== undefined,
            uploadScaleBits: uploadScaleBits[step.index] ?? 0,
            ...(step.spec.kind === 'conv2d' ? { inputShape: step.inShape } : {}),
          }),
        decryptShares: (step, response, count) => {
          const out = client.decryptShares(step.spec, response, count);
          const f = productScale?.[step.index] ?? 1,
            g = shareScale[step.index] ?? 1;
          if (g !== 1) out.share = out.share.map((v) => v.map((x) => x * g));
          if (f * g !== 1 && out.product) out.product = out.product.map((v) => v.map((x) => x * f * g));
          return out;
        },
        encryptOnline: (step, share) =>
          client.encryptMasks(step.spec, [share], layout, {
            online: { activation: followsActivation(all, step) },
            ...(step.spec.kind === 'conv2d' ? { inputShape: step.inShape } : {}),
          }),
        decryptOnline: (step, response) => client.decryptShares(step.spec, response, 1).share[0]!,
        stats: () => client.stats,
        close: () => client.delete(),
      };
    },
  };
}

/**
 * Merge client and server HE statistics into the run's op counts (one vocabulary: the engine
 * counts in the report's names, so they are added, not mapped) and per-layer level trace. Each
 * side counts its own operations; both sides record every ciphertext that crosses the wire, so
 * the level trace is taken from one side only (the client's when present).
 */
export function summarizeHe(
  clientStats: HeStats | null | undefined,
  serverStats: HeStats | null | undefined,
): { counts: HeOpCounts; levels: LayerLevelTrace[] } {
  const counts = zeroCounts();
  const levels = new Map<string, LayerLevelTrace>();
  const traceFrom = clientStats ?? serverStats;
  for (const st of [clientStats, serverStats]) {
    if (!st) continue;
    for (const l of st.layers) {
      addCounts(counts, l.ops);
      if (st !== traceFrom) continue;
      const tr = levels.get(l.layer) ?? { layer: l.layer, levelsUsed: 0, levels: [], ciphertexts: 0, bytes: 0 };
      for (const c of l.ciphertexts) {
        if (!tr.levels.includes(c.level)) tr.levels.push(c.level);
        tr.ciphertexts++;
        tr.bytes += c.bytes;
      }
      tr.levelsUsed = tr.levels.length ? Math.max(...tr.levels) - Math.min(...tr.levels) : 0;
      levels.set(l.layer, tr);
    }
  }
  return { counts, levels: [...levels.values()] };
}
