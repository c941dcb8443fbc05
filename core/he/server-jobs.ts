/**
 * What the server's evaluation needs besides eval-core's arithmetic: the job for a set of
 * outputs and the keys from the client's set-up message. Its own module so the server,
 * the worker pool and the pool's workers all import it without importing each other.
 */
import type { Encryptor, GaloisKeys, RelinKeys } from 'node-seal';
import type { Conv2dLayer, DenseLayer } from '../model/types.ts';
import type { HeContext } from './context.ts';
import type { EvalJob, EvalOutputJob, ServerKeys } from './eval-core.ts';
import type { HePlan } from './layout.ts';
import { weightKey } from './reuse.ts';
import { sealGuard } from './seal.ts';
import { decodeSetup } from './setup.ts';

/** The evaluation job for a subset of outputs (weights as slot vectors, only those used). */
export function buildJob(
  layer: Conv2dLayer | DenseLayer,
  plan: HePlan,
  inputLevel: number,
  outputs: readonly EvalOutputJob[],
  inputScale?: number,
): EvalJob {
  const pts = new Map<number, Float64Array | null>();
  for (const o of outputs)
    for (const t of o.terms) if (!pts.has(t.pt)) pts.set(t.pt, plan.weightVector(layer.weight, t.pt));
  return {
    layer: layer.name,
    inputLevel,
    outputs,
    pts,
    weightKey: `${weightKey(layer.weight)}|${plan.kind}|${plan.slots}|${plan.description}`,
    babyStep: plan.babyStep,
    ...(inputScale !== undefined ? { inputScale } : {}),
  };
}

/**
 * Public key (re-randomisation), Galois keys and (if sent) relinearization keys from the set-up message, owned by
 * he.scope.
 */
export function loadServerKeys(he: HeContext, setupMessage: Uint8Array): ServerKeys {
  const parts = decodeSetup(setupMessage, he.fingerprint);
  const s = he.scope;
  const pk = s.own(new he.seal.PublicKey());
  sealGuard('loading the public key', () => pk.loadFromArray(he.context, parts.publicKey), 'CIPHERTEXT_INVALID');
  const galois: GaloisKeys = s.own(new he.seal.GaloisKeys());
  sealGuard('loading the Galois keys', () => galois.loadFromArray(he.context, parts.galoisKeys), 'CIPHERTEXT_INVALID');
  const encryptor: Encryptor = sealGuard('creating the encryptor', () => s.own(new he.seal.Encryptor(he.context, pk)));
  let relin: RelinKeys | undefined;
  if (parts.relinKeys) {
    const rk: RelinKeys = s.own(new he.seal.RelinKeys());
    sealGuard(
      'loading the relinearization keys',
      () => rk.loadFromArray(he.context, parts.relinKeys!),
      'CIPHERTEXT_INVALID',
    );
    relin = rk;
  }
  return { galois, encryptor, relin };
}
