/** A small network with the structure of the bundled models, and a CKKS session runner over an in-memory transport. */
import { calibrateBounds } from '../../core/model/bounds.ts';
import type { Conv2dLayer, DenseLayer, Model } from '../../core/model/types.ts';
import { ckksClientProviders, ckksServerProviders } from '../../core/protocol/ckks-provider.ts';
import { cryptoMasks, type MaskSource } from '../../core/protocol/random.ts';
import { runClientSession, serveSession } from '../../core/schemes/index.ts';
import { memoryPair } from '../../core/transport/memory.ts';
import type { Transport } from '../../core/transport/transport.ts';
import { randomInput, rng, signedUniform } from './random-model.ts';

/** A k×k convolution layer with square stride and padding (1 and 0 unless given) and zero bias unless given. */
export function convLayer(
  name: string,
  inChannels: number,
  outChannels: number,
  o: { k: number; weight: Float64Array; bias?: Float64Array; stride?: number; padding?: number },
): Conv2dLayer {
  const [st, pad] = [o.stride ?? 1, o.padding ?? 0];
  return {
    kind: 'conv2d',
    name,
    inChannels,
    outChannels,
    kernel: [o.k, o.k],
    stride: [st, st],
    padding: [pad, pad],
    weight: o.weight,
    bias: o.bias ?? new Float64Array(outChannels),
  };
}

/** A dense layer with the given weight (out × in, row-major); bias zero unless given. */
export function denseLayer(
  name: string,
  inFeatures: number,
  outFeatures: number,
  weight: Float64Array,
  bias: Float64Array = new Float64Array(outFeatures),
): DenseLayer {
  return { kind: 'dense', name, inFeatures, outFeatures, weight, bias };
}

/** A 3×3 convolution layer with square stride and padding (weight and bias drawn by the caller, in that order). */
export function conv3x3(
  name: string,
  inChannels: number,
  outChannels: number,
  weight: Float64Array,
  bias: Float64Array,
  step = 1,
  pad = 0,
): Conv2dLayer {
  return convLayer(name, inChannels, outChannels, { k: 3, weight, bias, stride: step, padding: pad });
}

/** conv → bn → avgpool → square → flatten → dense → dense: the shape of the bundled models, small. */
export function smallSquareNet(seed: number): Model {
  const r = rng(seed);
  const v = signedUniform(r);
  const m: Model = {
    name: 'small',
    inputShape: [1, 10, 10],
    meta: {},
    layers: [
      conv3x3('conv', 1, 3, v(27, 0.5), v(3, 0.1)),
      {
        kind: 'batchnorm',
        name: 'bn',
        channels: 3,
        gamma: v(3).map((x) => 1 + x / 4),
        beta: v(3, 0.1),
        mean: v(3, 0.1),
        variance: v(3).map((x) => 1 + x / 4),
        epsilon: 1e-5,
      },
      { kind: 'avgpool', name: 'pool', kernel: [2, 2], stride: [2, 2], padding: [0, 0] },
      { kind: 'square', name: 'sq' },
      { kind: 'flatten', name: 'flat' },
      { kind: 'dense', name: 'fc1', inFeatures: 48, outFeatures: 12, weight: v(48 * 12, 0.3), bias: v(12, 0.1) },
      { kind: 'dense', name: 'fc2', inFeatures: 12, outFeatures: 4, weight: v(48, 0.5), bias: v(4, 0.1) },
    ],
  };
  const calib = Array.from({ length: 30 }, (_, i) => randomInput(m, 900 + i));
  return { ...m, meta: { inputBounds: calibrateBounds(m, calib) } };
}

export async function runCkks(
  model: Model,
  inputs: Float64Array[],
  scheme: 'merged' | 'unmerged' | 'gazelle',
  batchSize = 4,
  wrap: { client?: (t: Transport) => Transport; server?: (t: Transport) => Transport; random?: MaskSource } = {},
) {
  const [c0, s0] = memoryPair();
  const ct = wrap.client ? wrap.client(c0) : c0,
    st = wrap.server ? wrap.server(s0) : s0;
  const server = serveSession(st, { model, providers: ckksServerProviders() });
  const client = await runClientSession(ct, inputs, {
    scheme,
    providers: ckksClientProviders(),
    random: wrap.random ?? cryptoMasks,
    batchSize,
  });
  return { client, summary: await server };
}
