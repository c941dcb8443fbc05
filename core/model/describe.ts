import { inferShapes } from './shapes.ts';
import type { Model } from './types.ts';

/** One line per layer: name, kind, output shape (what `ppnn merge`, `ppnn info` and the app's Model view show). */
export function describeLayers(model: Model): { name: string; kind: string; output: number[] }[] {
  const shapes = inferShapes(model.inputShape, model.layers);
  return model.layers.map((l, i) => ({ name: l.name, kind: l.kind, output: [...shapes[i]!] }));
}
