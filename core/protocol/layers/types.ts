/**
 * The shape every layer protocol has (DELPHI habit): four steps — offline client, offline
 * server, online client, online server — over explicit per-image state. The roles
 * (core/protocol/roles.ts) only sequence them: batches, steps, images. A share family
 * (float, ring) or a new activation (garbled circuits) is a new implementation of this
 * interface, never a branch inside the roles.
 *
 * Offline is one exchange per step and batch: the client's request (e.g. Enc(r) for every
 * image), the server's response. A step without offline material returns `null` and no
 * message crosses. Online, a step talks to its peer only through its StepIo, whose
 * messages carry the step index and are checked against it.
 */
import type { Message } from '../../transport/transport.ts';

/** A step's messages: header.step is set on send and checked on receive. */
export interface StepIo {
  send(tag: string, blobs: Uint8Array[]): void;
  /** the blobs of the next message, which must have `tag` and this step's index; `blobs` = allowed count */
  expect(tag: string, blobs?: [number, number]): Promise<Uint8Array[]>;
}

/** What offlineClient hands the role: the request to send and how to finish once the response is in. */
export interface OfflineRequest<CState> {
  blobs: Uint8Array[];
  finish(response: Uint8Array[]): CState[];
}

export interface OfflineResponse<SState> {
  blobs: Uint8Array[];
  states: SState[];
}

/**
 * One layer kind's protocol. `CCtx` / `SCtx`: the party's session context (its
 * preprocessing provider, mask source, public parameters); `CStep` / `SStep`: the step as
 * each party plans it (the server's holds weights); `CState` / `SState`: what one image
 * keeps from offline to online.
 */
export interface LayerProtocol<CCtx, SCtx, CStep, SStep, CState, SState> {
  readonly name: string;
  /** whether this step exchanges offline material (both roles ask, so they agree without a message) */
  hasOffline(step: CStep): boolean;
  /** the step whose offline state this step's online functions receive (default: its own) */
  stateOf?(step: CStep): number;
  /** offline, client: the request for `count` images, or null when this step has no offline exchange */
  offlineClient(ctx: CCtx, step: CStep, count: number): OfflineRequest<CState> | null;
  /** offline, server: the response to the client's request (called only when offlineClient is not null) */
  offlineServer(ctx: SCtx, step: SStep, request: Uint8Array[], count: number): Promise<OfflineResponse<SState>>;
  /** online, client: the client's new share of the step's output */
  onlineClient(
    ctx: CCtx,
    step: CStep,
    state: CState | undefined,
    share: Float64Array,
    io: StepIo,
  ): Promise<Float64Array>;
  /** online, server: the server's new share (`share` undefined before the first linear map) */
  onlineServer(
    ctx: SCtx,
    step: SStep,
    state: SState | undefined,
    share: Float64Array | undefined,
    io: StepIo,
  ): Promise<Float64Array>;
}

export type { Message };
