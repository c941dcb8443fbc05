/**
 * The client → server set-up message: the public key (for the server's re-randomising
 * encryptions of zero), the Galois keys for exactly the rotation steps the plans use plus
 * step 0 (complex conjugation, circuit privacy), all seeded and zstd-compressed by SEAL.
 *
 * Layout: 'PS' v1, fingerprint u32 LE, step count u32, steps i32[], pk length u32, pk,
 * galois length u32, galois. Version 2 appends relin length u32, relinearization keys
 * (sent only when the server must multiply ciphertexts: gazelle's online activations).
 * A message under other parameters is PARAMS_MISMATCH.
 */
import { PpnnError } from '../errors.ts';
import { planLayer } from './layout.ts';
import type { HeLayerSpec, Layout } from './layout.ts';
import type { Shape } from '../model/types.ts';

export interface SetupParts {
  readonly fingerprint: number;
  readonly steps: readonly number[];
  readonly publicKey: Uint8Array;
  readonly galoisKeys: Uint8Array;
  readonly relinKeys?: Uint8Array | undefined;
}

export function encodeSetup(p: SetupParts): Uint8Array {
  const size =
    4 +
    4 +
    4 +
    4 * p.steps.length +
    4 +
    p.publicKey.length +
    4 +
    p.galoisKeys.length +
    (p.relinKeys ? 4 + p.relinKeys.length : 0);
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  out[0] = 0x50;
  out[1] = 0x53;
  out[2] = p.relinKeys ? 2 : 1;
  let o = 4;
  dv.setUint32(o, p.fingerprint, true);
  o += 4;
  dv.setUint32(o, p.steps.length, true);
  o += 4;
  for (const s of p.steps) {
    dv.setInt32(o, s, true);
    o += 4;
  }
  dv.setUint32(o, p.publicKey.length, true);
  o += 4;
  out.set(p.publicKey, o);
  o += p.publicKey.length;
  dv.setUint32(o, p.galoisKeys.length, true);
  o += 4;
  out.set(p.galoisKeys, o);
  o += p.galoisKeys.length;
  if (p.relinKeys) {
    dv.setUint32(o, p.relinKeys.length, true);
    o += 4;
    out.set(p.relinKeys, o);
  }
  return out;
}

/**
 * Parse a set-up message (relinKeys present for version 2); throws CIPHERTEXT_INVALID on malformed bytes,
 * PARAMS_MISMATCH on another parameter set.
 */
export function decodeSetup(bytes: Uint8Array, fingerprint: number): SetupParts {
  const bad = (why: string): never => {
    throw new PpnnError('CIPHERTEXT_INVALID', `HE set-up message: ${why}`);
  };
  if (
    !(bytes instanceof Uint8Array) ||
    bytes.length < 16 ||
    bytes[0] !== 0x50 ||
    bytes[1] !== 0x53 ||
    (bytes[2] !== 1 && bytes[2] !== 2)
  )
    bad('bad header');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let o = 4;
  const fp = dv.getUint32(o, true);
  o += 4;
  if (fp !== fingerprint)
    throw new PpnnError('PARAMS_MISMATCH', 'HE set-up message was made under other CKKS parameters');
  const n = dv.getUint32(o, true);
  o += 4;
  if (n > 4096 || o + 4 * n + 4 > bytes.length) bad('bad step count');
  const steps: number[] = [];
  for (let i = 0; i < n; i++) {
    steps.push(dv.getInt32(o, true));
    o += 4;
  }
  const take = (): Uint8Array => {
    if (o + 4 > bytes.length) bad('truncated');
    const len = dv.getUint32(o, true);
    o += 4;
    if (o + len > bytes.length) bad('truncated');
    const part = bytes.subarray(o, o + len);
    o += len;
    return part;
  };
  const publicKey = take();
  const galoisKeys = take();
  const relinKeys = bytes[2] === 2 ? take() : undefined;
  return { fingerprint: fp, steps, publicKey, galoisKeys, relinKeys };
}

/** Batch sizes the keys are made for by default: one image (cold) and a full batch. */
export const DEFAULT_KEY_BATCHES: readonly number[] = [1, 64];

/**
 * Rotation steps (Galois keys) for evaluating `layers` with `layout`: the union of the
 * steps of the plans the cost model picks at each batch size in `batches`. Other batch
 * sizes are planned among the layouts these keys allow (client and server both restrict
 * to the steps in the set-up message), so every batch size works. Conjugation is added
 * by the client itself.
 */
export function rotationStepsFor(
  layers: readonly { spec: HeLayerSpec; inputShape?: Shape; product?: boolean }[],
  layout: Layout,
  slots: number,
  batches: readonly number[] = DEFAULT_KEY_BATCHES,
  opts: { clientFold?: boolean } = {},
): number[] {
  const clientFold = opts.clientFold === true;
  const union = (free?: readonly number[]): Set<number> => {
    const steps = new Set<number>();
    for (const l of layers)
      for (const images of batches) {
        const o = { images, slots, layout, inputShape: l.inputShape, product: l.product, clientFold };
        for (const s of planLayer(l.spec, { ...o, freeSteps: free }).rotationSteps) steps.add(s);
      }
    return steps;
  };
  let steps = union();
  // one image is planned for bytes, layer by layer: let each layer use the keys the others need for free
  if (clientFold && batches.includes(1)) steps = union([...steps]);
  return [...steps].sort((a, b) => a - b);
}
