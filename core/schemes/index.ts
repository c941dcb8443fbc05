/**
 * The scheme registry: scheme id → its module (planner, provider, layer protocols). Adding
 * a scheme is one folder (or file) under core/schemes/ and one line in SCHEMES. Session,
 * CLI, bench, bridge and app take their scheme lists from here.
 */
import { PpnnError } from '../errors.ts';
import type { Architecture, Model } from '../model/types.ts';
import { DEFAULT_MASKS } from '../protocol/plan.ts';
import {
  receiveHello,
  runClientRole,
  runServerRole,
  type ClientRoleOptions,
  type ClientSessionResult,
  type ServerRoleOptions,
  type ServerSessionSummary,
} from '../protocol/roles.ts';
import type { Transport } from '../transport/transport.ts';
import { sendError } from '../transport/transport.ts';
import { cryptonets } from './cryptonets.ts';
import { merged, unmerged } from './float.ts';
import { gazelle } from './gazelle.ts';
import { delphi, mergedRing } from './ring.ts';
import type { InteractiveScheme, SchemeClientOptions, SchemeModule, SchemeServerOptions } from './types.ts';

export const SCHEMES: readonly SchemeModule[] = [merged, unmerged, gazelle, cryptonets, mergedRing, delphi];

/** Ids of every registered scheme, in menu order. */
export const schemeIds = (): string[] => SCHEMES.map((s) => s.id);

/** The scheme `id`; ARGUMENT_INVALID listing the known ids otherwise. */
export function schemeById(id: string): SchemeModule {
  const s = SCHEMES.find((x) => x.id === id);
  if (!s) throw new PpnnError('ARGUMENT_INVALID', `unknown scheme '${id}' (${schemeIds().join(' | ')})`);
  return s;
}

/** The interactive scheme `id`; ARGUMENT_INVALID when it has no two-party protocol. */
export function interactiveScheme(id: string): InteractiveScheme {
  const s = schemeById(id);
  if (s.kind !== 'interactive')
    throw new PpnnError('ARGUMENT_INVALID', `${id} is not an interactive scheme (it runs locally only)`);
  return s;
}

/** For each scheme: can it run this architecture, and if not, why. */
export function schemeSupport(arch: Architecture): { id: string; label: string; ok: boolean; reason?: string }[] {
  return SCHEMES.map((s) => {
    const why = s.unsupported(arch);
    return why ? { id: s.id, label: s.label, ok: false, reason: why } : { id: s.id, label: s.label, ok: true };
  });
}

export interface ClientSessionOptions extends Omit<ClientRoleOptions, 'inputBits'>, SchemeClientOptions {
  scheme: string;
  /** the client's input-mask hiding bits (default DEFAULT_MASKS.inputBits) */
  inputBits?: number;
}

/** Run a client session of `opts.scheme` over `t`. */
export function runClientSession(
  t: Transport,
  inputs: readonly Float64Array[] | ((arch: Architecture) => readonly Float64Array[]),
  opts: ClientSessionOptions,
): Promise<ClientSessionResult> {
  const scheme = interactiveScheme(opts.scheme);
  return runClientRole(t, inputs, scheme.client(opts), {
    ...opts,
    inputBits: opts.inputBits ?? DEFAULT_MASKS.inputBits,
  });
}

export interface ServeOptions extends ServerRoleOptions, SchemeServerOptions {
  model: Model;
  /** schemes this server runs (default: every interactive scheme) */
  schemes?: readonly string[];
}

/**
 * Serve one session on `t`: read the hello, dispatch to its scheme. Rejects (after telling the client) on any error.
 */
export async function serveSession(t: Transport, opts: ServeOptions): Promise<ServerSessionSummary> {
  let scheme: InteractiveScheme;
  let hello;
  try {
    hello = await receiveHello(t, opts.receiveTimeoutMs);
    scheme = interactiveScheme(hello.scheme);
    if (opts.schemes && !opts.schemes.includes(scheme.id))
      throw new PpnnError('ARGUMENT_INVALID', `this server does not run '${scheme.id}' (${opts.schemes.join(' | ')})`);
  } catch (e) {
    sendError(t, e);
    throw e;
  }
  return runServerRole(t, opts.model, hello, scheme.server(opts), opts);
}

export type { ClientSessionResult, ServerSessionSummary };
export type { InteractiveScheme, LocalScheme, SchemeModule } from './types.ts';
