/**
 * `gazelle`: the GAZELLE approach on the same merged network — every linear map is an HE
 * round trip in the online stage (the client sends Enc(<v>c); the server adds its share,
 * applies the preceding activation slot-wise inside HE, evaluates M and returns
 * Enc(M·A(v) − s)); no preprocessing. Running it on the merged network isolates
 * HE-online against float-online.
 *
 *   client                                   server
 *   Enc(<v>c)            ──── on.enc ──────▶ Enc(M·A(<v>c + <v>s) − s)
 *   <y>c = M·A(v) − s    ◀─── on.eval ─────  <y>s = s + b
 */
import { PpnnError } from '../errors.ts';
import { architectureOf } from '../model/json.ts';
import type { MergeResult } from '../model/merge.ts';
import type { Model } from '../model/types.ts';
import { ckksClientProviders, ckksServerProviders } from '../protocol/ckks-provider.ts';
import type { LayerProtocol } from '../protocol/layers/types.ts';
import { TAG } from '../protocol/messages.ts';
import {
  gazelleShareRange,
  planClient,
  planServer,
  type ActivationStep,
  type ClientLinearStep,
  type ClientStep,
  type MaskParams,
  type Poly,
  type ServerLinearStep,
  type ServerStep,
} from '../protocol/plan.ts';
import type { ClientPreprocessor, ProviderInfo, ServerPreprocessor } from '../protocol/provider.ts';
import { clientMasks, floatUnsupported, serverMasks } from './float.ts';
import { cachedNetwork } from './network.ts';
import type { InteractiveScheme } from './types.ts';

interface GazelleClientCtx {
  provider: ClientPreprocessor;
}
interface GazelleServerCtx {
  provider: ServerPreprocessor;
  masks: MaskParams;
  /** the activation applied homomorphically before linear step i */
  activationBefore: Map<number, Poly>;
}

const noOffline = {
  hasOffline: () => false,
  offlineClient: () => null,
  offlineServer: () => Promise.reject(new PpnnError('INTERNAL', 'gazelle has no offline exchange')),
};

const gazelleLinear: LayerProtocol<
  GazelleClientCtx,
  GazelleServerCtx,
  ClientLinearStep,
  ServerLinearStep,
  undefined,
  undefined
> = {
  name: 'gazelle-linear',
  ...noOffline,
  async onlineClient(ctx, step, _state, share, io) {
    const p = ctx.provider;
    if (!p.encryptOnline || !p.decryptOnline)
      throw new PpnnError('INTERNAL', `provider '${p.kind}' cannot run gazelle`);
    io.send(TAG.onEnc, p.encryptOnline(step, share));
    return p.decryptOnline(step, await io.expect(TAG.onEval, [1, 1 << 16]));
  },
  async onlineServer(ctx, step, _state, share, io) {
    const p = ctx.provider;
    if (!p.evaluateOnline) throw new PpnnError('INTERNAL', `provider '${p.kind}' cannot evaluate online (gazelle)`);
    const request = await io.expect(TAG.onEnc, [1, 1 << 16]);
    const activation = ctx.activationBefore.get(step.index);
    const r = await p.evaluateOnline(step, request, {
      sRange: gazelleShareRange(step, ctx.masks),
      ...(share ? { serverShare: share } : {}),
      ...(activation ? { activation } : {}),
    });
    // the server's new share is s + b: conv biases are per output channel, each over outSize / outChannels positions
    const layer = step.layer;
    const perChannel = layer.kind === 'conv2d' ? step.outSize / layer.outChannels : 1;
    io.send(TAG.onEval, r.response);
    return r.s.map((v, i) => v + layer.bias[Math.floor(i / perChannel)]!);
  },
};

/** Activations are applied inside HE by the next linear step: nothing to do on shares. */
const gazelleActivation: LayerProtocol<
  GazelleClientCtx,
  GazelleServerCtx,
  ActivationStep,
  ActivationStep,
  undefined,
  undefined
> = {
  name: 'gazelle-activation',
  ...noOffline,
  onlineClient: async (_c, _s, _st, share) => share,
  onlineServer: async (_c, _s, _st, share) => {
    if (!share) throw new PpnnError('INTERNAL', 'activation before any linear map');
    return share;
  },
};

const protocolOf = (step: ClientStep | ServerStep): typeof gazelleLinear | typeof gazelleActivation =>
  step.kind === 'linear' ? gazelleLinear : gazelleActivation;

const network = (m: Model): MergeResult => cachedNetwork(m, 'gazelle', 'cost-model');

export const gazelle: InteractiveScheme = {
  kind: 'interactive',
  id: 'gazelle',
  label: 'GAZELLE (HE online)',
  family: 'float',
  summary: 'linear maps by HE in the online stage on the merged network; activations applied homomorphically',
  remote: true,
  unsupported(arch) {
    const poly = floatUnsupported(arch, 'gazelle');
    if (poly) return poly;
    const last = [...arch.layers].reverse().find((l) => l.kind !== 'flatten');
    return last && (last.kind === 'square' || last.kind === 'poly')
      ? 'gazelle: the network must end with a linear layer'
      : null;
  },
  network,
  client: (opts) => ({
    id: 'gazelle',
    async start(arch, { inputBits }) {
      const steps = planClient(arch.architecture, clientMasks(inputBits));
      const provider = await (opts.providers ?? ckksClientProviders()).create(
        arch.provider as ProviderInfo,
        arch.architecture,
      );
      return {
        ctx: { provider },
        steps,
        protocolOf,
        setupBlobs: () => provider.setupBlobs(),
        stats: () => provider.stats(),
        close: () => provider.close(),
      };
    },
  }),
  server: (opts) => {
    const providers = opts.providers ?? ckksServerProviders();
    return {
      id: 'gazelle',
      prepare(model, hello) {
        const net = network(model).model;
        const masks = serverMasks(hello.inputBits, opts.shareBits);
        const steps = planServer(net, masks);
        if (steps[steps.length - 1]!.kind !== 'linear') {
          throw new PpnnError(
            'MODEL_UNSUPPORTED_LAYER',
            'gazelle: the network must end with a linear layer (activations are applied homomorphically before the ' +
              'next linear map)',
          );
        }
        const activationBefore = new Map<number, Poly>();
        steps.forEach((s, i) => {
          if (s.kind === 'linear' && i > 0 && steps[i - 1]!.kind === 'activation')
            activationBefore.set(i, (steps[i - 1] as ActivationStep).poly);
        });
        const info = providers.propose(steps, masks, 'gazelle');
        return {
          architecture: architectureOf(net),
          masks,
          provider: info,
          async create(setupBlobs) {
            const provider = await providers.create(info, setupBlobs);
            return {
              ctx: { provider, masks, activationBefore },
              steps,
              protocolOf,
              stats: () => provider.stats(),
              close: () => provider.close(),
            };
          },
        };
      },
    };
  },
};
