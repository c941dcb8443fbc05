/**
 * Checks of a model against what it will run with, said before a run starts: which
 * schemes can run it (and why not), and whether the dataset is the one it was trained
 * on. Pure functions over plain data, so the CLI, the bridge and the app say the same.
 */
import { PpnnError } from '../errors.ts';
import type { Architecture, Model } from '../model/types.ts';
import { architectureOf } from '../model/json.ts';
import { schemeSupport } from '../schemes/index.ts';

/** One scheme's verdict on a model. */
export interface SchemeVerdict {
  id: string;
  label: string;
  ok: boolean;
  /** why it cannot run the model */
  reason?: string;
}

/** Which registered schemes can run `model` and, for the others, why not. */
export function modelSchemeSupport(model: Model): SchemeVerdict[] {
  return schemeSupport(architectureOf(model));
}

export { datasetMismatch } from '../data/match.ts';

/**
 * A remote run scores the server's logits against a local reference model: only meaningful
 * when it is the server's network. Throws ARCH_MISMATCH when the architecture the server
 * sent (shapes, activations, public bounds; the name aside) differs from the reference's.
 * The client worker calls it on the server's arch message, before any key is made.
 */
export function checkSameArchitecture(remote: Architecture, local: Architecture, localName: string): void {
  const strip = (a: Architecture): string => JSON.stringify({ ...a, name: undefined });
  if (strip(remote) !== strip(local)) {
    throw new PpnnError(
      'ARCH_MISMATCH',
      `the server's network '${remote.name}' is not the local reference '${localName}' (architectures differ): ` +
        'its plaintext figures would be meaningless; drop --reference to run without them',
    );
  }
}
