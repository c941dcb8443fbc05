/**
 * `merged` and `unmerged`: the paper's scheme (Chen et al., FITEE 2025) and its ablation.
 * One module: they differ only in the merging stage. Float shares, CKKS preprocessing
 * with the fast convolution, square / polynomial activations by HE-made correlations.
 */
import { PpnnError } from '../errors.ts';
import { architectureOf } from '../model/json.ts';
import type { MergeResult } from '../model/merge.ts';
import type { Architecture, Model } from '../model/types.ts';
import { ckksOfflineFrameBytes } from '../protocol/batch-bytes.ts';
import { ckksClientProviders, ckksServerProviders, type CkksProposal } from '../protocol/ckks-provider.ts';
import { floatProtocolOf, type FloatClientCtx, type FloatServerCtx } from '../protocol/layers/float.ts';
import {
  DEFAULT_MASKS,
  planClient,
  planServer,
  type ClientStep,
  type MaskParams,
  type ServerStep,
} from '../protocol/plan.ts';
import type { FloatSchemeId } from '../protocol/provider.ts';
import type { ClientScheme, ServerScheme } from '../protocol/roles.ts';
import { cachedNetwork } from './network.ts';
import type { InteractiveScheme, SchemeClientOptions, SchemeServerOptions } from './types.ts';

const NON_POLY = new Set(['relu', 'maxpool']);

/** Float schemes run square / polynomial activations only; name the first layer they cannot run. */
export function floatUnsupported(arch: Architecture, id: string): string | null {
  const bad = arch.layers.find((l) => NON_POLY.has(l.kind));
  return bad
    ? `${id} runs square / polynomial activations only; layer '${bad.name}' is ${bad.kind} (use merged-ring or delphi)`
    : null;
}

/** The client's own masks: its input bits, the public default bound; never the server's choice. */
export function clientMasks(inputBits: number): MaskParams {
  return { ...DEFAULT_MASKS, inputBits };
}

/** The server's masks for a session: the client's input bits (from its hello), its own share bits. */
export function serverMasks(inputBits: number, shareBits: number | undefined): MaskParams {
  return { ...DEFAULT_MASKS, inputBits, shareBits: shareBits ?? DEFAULT_MASKS.shareBits };
}

/** The byte model of the batch's offline frames for CKKS preprocessing (none for other providers, e.g. the dealer). */
function frameBytesOf(
  info: { kind: string; params: unknown },
  steps: readonly { kind: string }[],
  batches?: readonly number[],
): { offlineFrameBytes?: (count: number) => number } {
  // the client knows the batch sizes its keys are made for; the server assumes keys for the size it checks
  return info.kind === 'ckks'
    ? { offlineFrameBytes: ckksOfflineFrameBytes(steps, info.params as CkksProposal, batches ? { batches } : {}) }
    : {};
}

function floatClient(id: FloatSchemeId, opts: SchemeClientOptions): ClientScheme<FloatClientCtx, ClientStep> {
  return {
    id,
    async start(arch, { inputBits, batches }) {
      const masks = clientMasks(inputBits);
      const steps = planClient(arch.architecture, masks);
      const provider = await (opts.providers ?? ckksClientProviders()).create(
        arch.provider as never,
        arch.architecture,
        batches ? { batches } : {},
      );
      return {
        ctx: { provider, random: opts.random, masks },
        steps,
        protocolOf: floatProtocolOf,
        ...frameBytesOf(arch.provider, steps, batches),
        setupBlobs: () => provider.setupBlobs(),
        stats: () => provider.stats(),
        close: () => provider.close(),
      };
    },
  };
}

function floatServer(
  id: FloatSchemeId,
  network: (m: Model) => MergeResult,
  opts: SchemeServerOptions,
): ServerScheme<FloatServerCtx, ServerStep> {
  const providers =
    opts.providers ?? ckksServerProviders(opts.targetError !== undefined ? { targetError: opts.targetError } : {});
  return {
    id,
    prepare(model, hello) {
      const net = network(model).model;
      const masks = serverMasks(hello.inputBits, opts.shareBits);
      const steps = planServer(net, masks);
      const info = providers.propose(steps, masks, id);
      return {
        architecture: architectureOf(net),
        masks,
        provider: info,
        ...frameBytesOf(info, steps),
        async create(setupBlobs) {
          const provider = await providers.create(info, setupBlobs);
          return {
            ctx: { provider, masks },
            steps,
            protocolOf: floatProtocolOf,
            stats: () => provider.stats(),
            close: () => provider.close(),
          };
        },
      };
    },
  };
}

function floatScheme(id: 'merged' | 'unmerged', label: string, summary: string): InteractiveScheme {
  const network = (m: Model): MergeResult => cachedNetwork(m, id, id === 'unmerged' ? 'none' : 'cost-model');
  return {
    kind: 'interactive',
    id,
    label,
    family: 'float',
    summary,
    remote: true,
    unsupported: (arch) => floatUnsupported(arch, id),
    network,
    client: (opts) => floatClient(id, opts),
    server: (opts) => floatServer(id, network, opts),
  };
}

export const merged = floatScheme(
  'merged',
  'merged (paper)',
  'merging + CKKS preprocessing with fast convolution + float shares online (statistical hiding)',
);
export const unmerged = floatScheme(
  'unmerged',
  'unmerged (ablation)',
  'the paper’s protocol with the merging stage switched off',
);

/** Refuse a hello whose scheme this server does not run. */
export function unknownScheme(id: string, known: readonly string[]): never {
  throw new PpnnError('ARGUMENT_INVALID', `unknown scheme '${id}' (${known.join(' | ')})`);
}
