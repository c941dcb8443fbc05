// jsdom implements no canvas: answer "no 2D context" quietly instead of logging
// "not implemented" for every chart and thumbnail (the components handle null).
(
  globalThis as unknown as { HTMLCanvasElement: { prototype: { getContext: () => null } } }
).HTMLCanvasElement.prototype.getContext = () => null;
