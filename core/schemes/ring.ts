/**
 * `merged-ring` and `delphi`: secret shares in Z_p with BFV preprocessing — perfectly
 * hiding online messages, exact arithmetic, fixed point with exact truncation.
 *
 * - `merged-ring`: the paper's scheme on ring shares: the merging stage and the fast
 *   convolution layout (core/he/layout.ts 'fast'), BFV instead of CKKS.
 * - `delphi`: the DELPHI baseline (Mishra et al., USENIX Security 2020) for square
 *   activations in the same harness: no merging (every batch-norm / pooling map is its own
 *   linear step, each followed by a truncation), the rotation-based reference layout.
 *
 * One module: they differ in the merging policy and the layout only.
 */
import { PpnnError } from '../errors.ts';
import type { BfvParams } from '../he/bfv-params.ts';
import { chooseBfvParams, validateBfvParams } from '../he/bfv-params.ts';
import { BfvClient, BfvServer } from '../he/bfv.ts';
import type { Layout } from '../he/layout.ts';
import { rotationStepsFor } from '../he/setup.ts';
import { architectureOf } from '../model/json.ts';
import type { MergeResult } from '../model/merge.ts';
import type { Architecture, Model } from '../model/types.ts';
import { ringProtocolOf, reconstructRing, type RingClientCtx, type RingServerCtx } from '../protocol/layers/ring.ts';
import { activationOfflineBytes } from '../gc/activation.ts';
import { GcClientSession, GcServerSession } from '../gc/session.ts';
import { DEFAULT_MASKS, planClientNonlinear, planServerNonlinear } from '../protocol/plan.ts';
import {
  chooseRingScales,
  maxWithoutWrapPerStep,
  ringSteps,
  type RingLinearStep,
  type RingScales,
  type RingServerLinearStep,
  type RingStep,
  type WrapRow,
} from '../protocol/ring-plan.ts';
import { ringOfflineFrameBytes, type RingByteStep } from '../protocol/batch-bytes.ts';
import type { ClientScheme, ServerScheme } from '../protocol/roles.ts';
import { P } from '../ring/field.ts';
import { quantizeLinear, type QuantizedLinear } from '../ring/quantize.ts';
import { cryptoRing } from '../ring/random.ts';
import { cachedNetwork } from './network.ts';
import type { InteractiveScheme } from './types.ts';

/** The client's floor on circuit privacy (bits of statistical distance) of the server's BFV responses. */
export const MIN_CIRCUIT_PRIVACY_BITS = 40;

/** The proposal the server sends in `arch` (public). */
export interface RingProposal {
  bfv: BfvParams;
  layout: Layout;
  scales: RingScales;
  /** base64 of the garbled-circuit session's base-OT offer, when the network has ReLU / max-pool */
  gc?: string;
}

/** Largest offline response of one garbled-circuit step per image (OT corrections, AND tables, output rows). */
function gcBytesPerImage(steps: readonly RingStep[]): number {
  let bytes = 0;
  for (const s of steps) if (s.kind === 'gc') bytes = Math.max(bytes, activationOfflineBytes(s.layer));
  return bytes;
}

/** The byte model of a batch's offline frames (core/protocol/batch-bytes.ts): the roles split batches by it. */
function ringFrameBytes(steps: readonly RingStep[], bfv: BfvParams, layout: Layout): (count: number) => number {
  const byStep = steps.map((s): RingByteStep => {
    if (s.kind === 'linear') return { kind: 'linear', spec: s.base.spec, inShape: s.base.inShape };
    if (s.kind === 'gc') return { kind: 'gc', bytesPerImage: gcBytesPerImage([s]) };
    return { kind: s.kind, size: s.size };
  });
  return ringOfflineFrameBytes(byStep, bfv, layout);
}

/** Images per batch so that one step's offline response stays well under the 256 MiB frame limit. */
const GC_BATCH_BYTES = 192 * 2 ** 20;

type RingId = 'merged-ring' | 'delphi';

const NON_SQUARE = new Set(['poly']);

function ringUnsupported(arch: Architecture, id: RingId): string | null {
  const bad = arch.layers.find((l) => NON_SQUARE.has(l.kind));
  if (bad) return `${id} runs x², ReLU and max-pool; layer '${bad.name}' is ${bad.kind}`;
  const last = [...arch.layers].reverse().find((l) => l.kind !== 'flatten');
  return last && last.kind === 'square' ? `${id}: the network must end with a linear layer` : null;
}

/** The proposal as the client received it: every field checked before any key is made. */
function checkProposal(info: { kind: string; params: unknown }, layout: Layout): RingProposal {
  if (info.kind !== 'bfv')
    throw new PpnnError('PARAMS_MISMATCH', `server proposed provider '${info.kind}'; the ring schemes accept BFV only`);
  const p = info.params as Partial<RingProposal> | null;
  if (!p || typeof p !== 'object' || !p.bfv || !p.scales)
    throw new PpnnError('PROTOCOL_VIOLATION', 'arch: ring proposal must carry bfv and scales');
  if (p.layout !== layout)
    throw new PpnnError(
      'PARAMS_MISMATCH',
      `server proposed layout '${String(p.layout)}'; this scheme uses '${layout}'`,
    );
  if (p.gc !== undefined && (typeof p.gc !== 'string' || p.gc.length > 16384))
    throw new PpnnError('PROTOCOL_VIOLATION', 'arch: gc offer must be a base64 string');
  // the client's own floor: its share modulus, ≥ 40 bits of circuit privacy, 128-bit security
  validateBfvParams(p.bfv, { plainModulus: P, minCircuitPrivacyBits: MIN_CIRCUIT_PRIVACY_BITS, minSlots: 1 });
  return p as RingProposal;
}

/** Wrap-around table of a session (printed by `ppnn infer` and kept in the report). */
export function ringWrapTable(arch: Architecture, scales: RingScales): WrapRow[] {
  const plan = planClientNonlinear(arch, DEFAULT_MASKS);
  return maxWithoutWrapPerStep(ringSteps(plan, scales), plan);
}

function ringClient(id: RingId, layout: Layout): ClientScheme<RingClientCtx, RingStep> {
  return {
    id,
    async start(arch) {
      const proposal = checkProposal(arch.provider, layout);
      const plan = planClientNonlinear(arch.architecture, DEFAULT_MASKS);
      const steps = ringSteps(plan, proposal.scales);
      // garbled circuits: answer the server's base-OT offer in the set-up message
      const hasGc = steps.some((s) => s.kind === 'gc');
      if (hasGc && proposal.gc === undefined)
        throw new PpnnError('PROTOCOL_VIOLATION', 'arch: the network has ReLU / max-pool but no gc offer');
      const gc = hasGc ? GcClientSession.accept(new Uint8Array(Buffer.from(proposal.gc!, 'base64'))) : undefined;
      const linear = steps.filter((s): s is RingLinearStep => s.kind === 'linear');
      const slots = proposal.bfv.polyModulusDegree / 2;
      const rotations = rotationStepsFor(
        linear.map((s) => ({
          spec: s.base.spec,
          ...(s.base.spec.kind === 'conv2d' ? { inputShape: s.base.inShape } : {}),
        })),
        layout,
        slots,
      );
      const he = await BfvClient.create(proposal.bfv, rotations);
      const last = linear[linear.length - 1]!;
      return {
        ctx: { he, random: cryptoRing, layout, ...(gc ? { gc: gc.session } : {}) },
        steps,
        protocolOf: ringProtocolOf,
        offlineFrameBytes: ringFrameBytes(steps, proposal.bfv, layout),
        setupBlobs: () => (gc ? [he.setupMessage(), gc.reply] : [he.setupMessage()]),
        reconstruct: (c, s) => reconstructRing(c, s, last.inScale + last.weightScale),
        stats: () => he.stats,
        close: () => he.delete(),
      };
    },
  };
}

function ringServer(
  id: RingId,
  layout: Layout,
  network: (m: Model) => MergeResult,
): ServerScheme<RingServerCtx, RingStep> {
  return {
    id,
    prepare(model) {
      const net = network(model).model;
      const plan = planServerNonlinear(net, DEFAULT_MASKS);
      const scales = chooseRingScales(plan);
      const steps = ringSteps(plan, scales);
      const bfv = chooseBfvParams(P);
      const gcBytes = gcBytesPerImage(steps);
      // a fresh base-OT offer per session; its reply comes back in the set-up message
      const gcOffer = gcBytes > 0 ? GcServerSession.offer() : undefined;
      const proposal: RingProposal = {
        bfv,
        layout,
        scales,
        ...(gcOffer ? { gc: Buffer.from(gcOffer.offer).toString('base64') } : {}),
      };
      return {
        architecture: architectureOf(net),
        // ring masks are uniform in Z_p: no mask sizes to report
        masks: { inputBits: 0, shareBits: 0, defaultBound: DEFAULT_MASKS.defaultBound },
        provider: { kind: 'bfv', params: proposal },
        ...(gcBytes > 0 ? { maxBatch: Math.max(1, Math.floor(GC_BATCH_BYTES / gcBytes)) } : {}),
        offlineFrameBytes: ringFrameBytes(steps, bfv, layout),
        async create(setupBlobs) {
          const want = gcOffer ? 2 : 1;
          if (setupBlobs.length !== want)
            throw new PpnnError(
              'PROTOCOL_VIOLATION',
              `setup: expected ${want} blobs (keys${gcOffer ? ', gc reply' : ''}), got ${setupBlobs.length}`,
            );
          const gc = gcOffer ? gcOffer.complete(setupBlobs[1]!) : undefined;
          const he = await BfvServer.create(bfv, setupBlobs[0]!);
          const quantized = new Map<number, QuantizedLinear>();
          try {
            for (const s of steps) {
              if (s.kind !== 'linear') continue;
              const ls = s as RingServerLinearStep;
              quantized.set(s.index, quantizeLinear(ls.layer, ls.base.inShape, ls.inScale, ls.weightScale));
            }
          } catch (e) {
            he.delete();
            throw e;
          }
          return {
            ctx: { he, random: cryptoRing, layout, quantized, ...(gc ? { gc } : {}) },
            steps,
            protocolOf: ringProtocolOf,
            stats: () => he.stats,
            close: () => he.delete(),
          };
        },
      };
    },
  };
}

function ringScheme(
  id: RingId,
  label: string,
  summary: string,
  layout: Layout,
  policy: 'cost-model' | 'none',
): InteractiveScheme {
  const network = (m: Model): MergeResult => cachedNetwork(m, id, policy);
  return {
    kind: 'interactive',
    id,
    label,
    family: 'ring',
    summary,
    remote: true,
    unsupported: (arch) => ringUnsupported(arch, id),
    network,
    client: () => ringClient(id, layout),
    server: () => ringServer(id, layout, network),
  };
}

export const mergedRing = ringScheme(
  'merged-ring',
  'merged-ring (paper, exact)',
  'merging + BFV preprocessing with fast convolution + Z_p shares online (perfect hiding, exact truncation)',
  'fast',
  'cost-model',
);
export const delphi = ringScheme(
  'delphi',
  'DELPHI (baseline)',
  'DELPHI-style: no merging, rotation-based layout, BFV preprocessing, Z_p shares online',
  'reference',
  'none',
);
