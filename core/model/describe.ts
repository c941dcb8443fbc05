import { inferShapes } from './shapes.ts';
import type { Model } from './types.ts';

/** One line per layer: name, kind, output shape (what `ppnn merge`, `ppnn info` and the app's Model view show). */
export function describeLayers(model: Model): { name: string; kind: string; output: number[] }[] {
  const shapes = inferShapes(model.inputShape, model.layers);
  return model.layers.map((l, i) => ({ name: l.name, kind: l.kind, output: [...shapes[i]!] }));
}

/**
 * The layers of a merged network, each labelled by what it contains: a merged layer's
 * kind reads "conv2d+avgpool+batchnorm" (the kinds of the original layers it replaced,
 * its name already joins theirs), not the plain "conv2d" it is computed as.
 */
export function describeMergedLayers(
  original: Model,
  merged: Model,
  decisions: readonly { layers: readonly string[]; into: string; accepted: boolean }[],
): { name: string; kind: string; output: number[] }[] {
  const kindOf = new Map(original.layers.map((l) => [l.name, l.kind]));
  const parts = new Map(decisions.filter((d) => d.accepted).map((d) => [d.into, d.layers]));
  return describeLayers(merged).map((row) => {
    const from = parts.get(row.name);
    return from && from.length > 1 ? { ...row, kind: from.map((n) => kindOf.get(n) ?? n).join('+') } : row;
  });
}
