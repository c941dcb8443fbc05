/**
 * Preprocessing behind a small interface (CrypTen habit). The real provider is CKKS
 * (core/protocol/ckks-provider.ts). A plaintext "trusted dealer" provider exists only to
 * test the online stage in isolation: the same online test suite runs on both.
 */
import type { HeStats } from '../he/stats.ts';
import type { Architecture } from '../model/types.ts';
import type { ClientLinearStep, MaskParams, ServerLinearStep, ServerMaskRanges, ServerStep } from './plan.ts';

/** The float-family schemes a CKKS provider serves (gazelle needs relinearisation keys and online evaluation). */
export type FloatSchemeId = 'merged' | 'unmerged' | 'gazelle';

export interface ProviderInfo {
  /** 'ckks' or 'dealer' (insecure, tests only) */
  kind: 'ckks' | 'dealer';
  /** provider parameters the server proposes (e.g. CKKS parameters); plain data */
  params: unknown;
}

export interface ClientPreprocessor {
  readonly kind: ProviderInfo['kind'];
  /** blobs the server needs before evaluating (e.g. Galois keys); may be empty */
  setupBlobs(): Uint8Array[];
  /** masks (one per image, step.inSize values each) → request blobs */
  encryptMasks(step: ClientLinearStep, masks: Float64Array[]): Uint8Array[];
  /** response blobs → per image y_c = M·r − s, and p = (M·r)⊙a − t when step.next */
  decryptShares(
    step: ClientLinearStep,
    response: Uint8Array[],
    count: number,
  ): { share: Float64Array[]; product?: Float64Array[] };
  /** plain-data statistics (HE op counts, level trace); null without HE */
  stats(): HeStats | null;
  /** free everything (safe to call twice) */
  close(): void;
  /** gazelle: encrypt the client's current share (one image) for an online HE evaluation */
  encryptOnline?(step: ClientLinearStep, share: Float64Array): Uint8Array[];
  /** gazelle: decrypt M·A(<v>c + <v>s) − s for one image */
  decryptOnline?(step: ClientLinearStep, response: Uint8Array[]): Float64Array;
}

/** Server-side options of a gazelle (online HE) evaluation. */
export interface OnlineEvalOptions {
  sRange: number;
  /** the server's share of the layer input, added homomorphically (absent for the first layer) */
  serverShare?: Float64Array;
  /** activation applied slot-wise to the summed shares before the linear map */
  activation?: { a: number; b: number; c: number };
}

export interface ServerPreprocessor {
  readonly kind: ProviderInfo['kind'];
  evaluate(
    step: ServerLinearStep,
    request: Uint8Array[],
    count: number,
    ranges: ServerMaskRanges,
  ): Promise<{ response: Uint8Array[]; s: Float64Array[]; a?: Float64Array[]; t?: Float64Array[] }>;
  stats(): HeStats | null;
  /** free SEAL objects and stop worker pools; safe to call twice */
  close(): void | Promise<void>;
  /** gazelle: Enc(M·A(c + serverShare) − s) for one image; returns the response and s */
  evaluateOnline?(
    step: ServerLinearStep,
    request: Uint8Array[],
    opts: OnlineEvalOptions,
  ): Promise<{ response: Uint8Array[]; s: Float64Array }>;
}

/** How the server builds its preprocessing provider for a planned network. */
export interface ServerProviderFactory {
  propose(steps: ServerStep[], masks: MaskParams, scheme: FloatSchemeId): ProviderInfo;
  create(info: ProviderInfo, setupBlobs: Uint8Array[]): Promise<ServerPreprocessor>;
}

/** How the client builds its provider from the server's proposal (it validates the proposal first). */
export interface ClientProviderFactory {
  /** `batches`: the batch sizes the client will preprocess (keys are made for their layouts; default 1 and 64) */
  create(info: ProviderInfo, arch: Architecture, opts?: { batches?: readonly number[] }): Promise<ClientPreprocessor>;
}
