/**
 * What a scheme is: one module (a folder or file under core/schemes/) registered with one
 * line in core/schemes/index.ts. Session, CLI, bench, bridge and app list schemes from the
 * registry; none of them names a scheme in code.
 */
import type { MergeResult } from '../model/merge.ts';
import type { Architecture, Model } from '../model/types.ts';
import type { ClientProviderFactory, ServerProviderFactory } from '../protocol/provider.ts';
import type { MaskSource } from '../protocol/random.ts';
import type { ClientScheme, ServerScheme } from '../protocol/roles.ts';
import type { InferenceReport, ProgressEvent } from '../report/types.ts';

/** Share family: what the online stage computes on. */
export type SchemeFamily = 'float' | 'ring' | 'he';

export interface SchemeInfo {
  readonly id: string;
  /** short human name for menus and report headers */
  readonly label: string;
  readonly family: SchemeFamily;
  /** one sentence: what it is and what it costs */
  readonly summary: string;
  /** whether it runs against a remote `ppnn serve` */
  readonly remote: boolean;
  /** why this scheme cannot run `arch` (naming the layer), or null when it can */
  unsupported(arch: Architecture): string | null;
}

/** Client-side construction options (tests inject the insecure dealer provider here). */
export interface SchemeClientOptions {
  random: MaskSource;
  providers?: ClientProviderFactory;
}

export interface SchemeServerOptions {
  providers?: ServerProviderFactory;
  /** server-chosen hiding of its shares (bits) */
  shareBits?: number;
  /** target max |logit error| the CKKS parameters are planned for (core/protocol/precision.ts) */
  targetError?: number;
}

/** A two-party scheme: its merging stage and its two roles (context and step types are the scheme's own). */
/* eslint-disable @typescript-eslint/no-explicit-any */
export interface InteractiveScheme extends SchemeInfo {
  readonly kind: 'interactive';
  /** the network the scheme runs (merging stage, or canonical layers with merging off), with the merge report */
  network(model: Model): MergeResult;
  client(opts: SchemeClientOptions): ClientScheme<any, any>;
  server(opts: SchemeServerOptions): ServerScheme<any, any>;
}

export interface LocalRunRequest {
  model: string;
  dataset: string;
  limit: number;
  seed: number;
}

/** A non-interactive scheme run in one worker (e.g. CryptoNets: pure HE). */
export interface LocalScheme extends SchemeInfo {
  readonly kind: 'local';
  runLocal(
    req: LocalRunRequest,
    h: { onEvent?: (ev: ProgressEvent) => void; signal?: AbortSignal },
  ): Promise<InferenceReport>;
}

export type SchemeModule = InteractiveScheme | LocalScheme;
