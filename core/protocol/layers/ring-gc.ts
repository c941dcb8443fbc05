/**
 * ReLU / max-pool on the ring family's Z_p shares by garbled circuits: the four steps of
 * core/gc/activation.ts behind the LayerProtocol shape (diagram and online floor there).
 * The step takes the previous linear map's output shares at scale 2^(e+w) and returns
 * shares of floor(F(y) / 2^(e+w−f)) at 2^f, like the ring truncation does.
 */
import { PpnnError } from '../../errors.ts';
import {
  activationOfflineClient,
  activationOfflineServer,
  activationOnlineClient,
  activationOnlineServer,
  type ClientActivationState,
  type ServerActivationState,
} from '../../gc/activation.ts';
import type { GcClientSession, GcServerSession } from '../../gc/session.ts';
import type { RingGcStep } from '../ring-plan.ts';
import type { LayerProtocol } from './types.ts';

/** The part of the ring contexts this protocol uses (set when the plan has a gc step). */
export interface GcClientCtx {
  gc?: GcClientSession;
}
export interface GcServerCtx {
  gc?: GcServerSession;
}

function session<T>(s: T | undefined, step: RingGcStep): T {
  if (!s) throw new PpnnError('INTERNAL', `step '${step.name}' needs a garbled-circuit session (set up with the keys)`);
  return s;
}

function state<T>(s: T | undefined, step: RingGcStep): T {
  if (s === undefined) throw new PpnnError('INTERNAL', `missing offline state for ${step.name}`);
  return s;
}

export const ringGc: LayerProtocol<
  GcClientCtx,
  GcServerCtx,
  RingGcStep,
  RingGcStep,
  ClientActivationState,
  ServerActivationState
> = {
  name: 'ring-gc',
  hasOffline: () => true,
  offlineClient: (ctx, step, count) => activationOfflineClient(session(ctx.gc, step), step.layer, count),
  offlineServer: async (ctx, step, request, count) =>
    activationOfflineServer(session(ctx.gc, step), step.layer, request, count),
  onlineClient: (ctx, step, st, share, io) =>
    activationOnlineClient(session(ctx.gc, step), step.layer, state(st, step), share, io),
  async onlineServer(_ctx, step, st, share, io) {
    if (!share) throw new PpnnError('INTERNAL', `${step.name}: ReLU / max-pool before any linear map`);
    return activationOnlineServer(step.layer, state(st, step), share, io);
  },
};
