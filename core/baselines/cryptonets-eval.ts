// Long file: the streaming evaluator (accumulators, reference counts, on-demand deserialisation) is one state
// machine over the network; its parts share the counters that free ciphertexts after their last use, so
// splitting it would spread one lifetime argument over several files.
/**
 * CryptoNets server: evaluates the whole network on ciphertexts laid out one per value
 * (slot j of every ciphertext = image j), with only the relinearisation keys.
 *
 * Memory: the network is a STREAM, not a sequence of materialised layers. A layer's output
 * ciphertext is produced, activated, and at once scattered into the accumulators of the
 * next linear layer (conv: into every output whose window contains it; dense: into every
 * output), then freed. So at most one layer's worth of accumulators per linear layer is
 * alive (bundled MNIST: 256 for the second conv, 100 and 10 for the dense layers), never a
 * whole layer of outputs (1152 conv1 outputs at N = 16384 were 1.8 GB). An accumulator is
 * complete when all its inputs have contributed (counted in advance); then it is rescaled,
 * gets its bias and the following activation, and flows on.
 * The first linear layer reads the client's upload: its inputs stay serialised (JS memory)
 * and are deserialised on first use and freed after their last use; a first convolution
 * gathers position by position so only a band of input rows is alive.
 *
 *  - conv2d / dense: Σ w·ct, every weight a constant plaintext at scale exactly q_l (the
 *    prime the following rescale divides out), so the layer leaves the scale unchanged;
 *    bias added after the rescale at the ciphertext's exact scale. Zero weights are skipped.
 *    Constants are built by ConstantEncoder (no FFT); a layer whose weights are reused and
 *    fit CACHE_BYTES keeps them (MNIST conv1: 288 × 1 MB), others build them per use.
 *  - square: ct×ct, relinearise, rescale. poly a·x² + b·x + c: u = a·x + b (one level),
 *    then x·u with x mod-switched down to u's level (second level), + c.
 *
 * Every homomorphic operation runs through the server's HeContext (core/he/context.ts), which
 * counts it in its stats and translates SEAL errors; levels are read back from SEAL (levelOf).
 * All handles belong to the caller's Scope; this module frees what it made as it goes.
 */
import type { Ciphertext, Plaintext, RelinKeys } from 'node-seal';
import { PpnnError } from '../errors.ts';
import { layerOutputShape } from '../model/shapes.ts';
import type { Shape } from '../model/types.ts';
import type { HeContext } from '../he/context.ts';
import type { CkksNetworkParams } from '../he/params.ts';
import type { Scope } from '../he/seal.ts';
import { layerDepth } from './cryptonets-params.ts';
import type { CryptoNetsLayer } from './cryptonets-params.ts';
import { ConstantEncoder } from './cryptonets-plain.ts';

/** The server's engine: one context under the network's parameter set (owned by the caller). */
export type ServerHe = HeContext<CkksNetworkParams>;

/** The encrypted network input: `count` ciphertexts at `level`, deserialised on demand. */
export interface EncryptedInput {
  shape: Shape;
  level: number;
  /** deserialise input ciphertext i (owned by the evaluator's scope); called once per i */
  load: (i: number) => Ciphertext;
}

/** The encrypted logits, owned by the caller's scope. */
export interface EncryptedOutput {
  cts: Ciphertext[];
  shape: Shape;
  level: number;
}

export interface LayerDone {
  layer: string;
  index: number;
  level: number;
  levelsUsed: number;
  ciphertexts: number;
}

/** Hooks between outputs: `tick` may yield to the event loop and throws when cancelled. */
export interface EvalHooks {
  tick: () => Promise<void>;
  layerDone: (d: LayerDone) => void;
}

/** Cached weight plaintexts of one reusing layer may take this much WASM memory. */
const CACHE_BYTES = 384 * 2 ** 20;

/** Consumer of one tensor's ciphertexts, in any order; takes ownership of `ct`. */
type Sink = (i: number, ct: Ciphertext) => Promise<void>;
type Linear = Extract<CryptoNetsLayer, { kind: 'conv2d' | 'dense' }>;
type Activation = Extract<CryptoNetsLayer, { kind: 'square' | 'poly' }>;

/** Per-layer bookkeeping: counts outputs, checks the planned level on the first, reports on the last. */
class LayerTracker {
  #emitted = 0;
  readonly #he: ServerHe;
  readonly #hooks: EvalHooks;
  readonly #done: LayerDone;
  constructor(
    he: ServerHe,
    hooks: EvalHooks,
    l: CryptoNetsLayer,
    index: number,
    before: number,
    level: number,
    total: number,
  ) {
    this.#he = he;
    this.#hooks = hooks;
    this.#done = { layer: l.name, index, level, levelsUsed: before - level, ciphertexts: total };
  }
  /** Call once per output ciphertext, before handing it on. */
  produced(ct: Ciphertext): void {
    const d = this.#done;
    if (this.#emitted === 0) {
      const measured = this.#he.levelOf(ct);
      if (measured !== d.level)
        throw new PpnnError(
          'INTERNAL',
          `cryptonets: layer '${d.layer}' left its output at level ${measured}, planned ${d.level}`,
        );
    }
    if (++this.#emitted === d.ciphertexts) this.#hooks.layerDone(d);
  }
}

/** (input index, weight) terms of output group `o` at each position (conv) or of row `o` (dense). */
function groupTerms(l: Linear, input: Shape, o: number): { idx: number[]; w: number[] }[] {
  if (l.kind === 'dense') {
    return [
      {
        idx: Array.from({ length: l.inFeatures }, (_, i) => i),
        w: Array.from(l.weight.subarray(o * l.inFeatures, (o + 1) * l.inFeatures)),
      },
    ];
  }
  const [C, H, W] = input as [number, number, number];
  const [kh, kw] = l.kernel,
    [sh, sw] = l.stride,
    [ph, pw] = l.padding;
  const out = layerOutputShape(l, input) as [number, number, number];
  const terms: { idx: number[]; w: number[] }[] = [];
  for (let oy = 0; oy < out[1]; oy++) {
    for (let ox = 0; ox < out[2]; ox++) {
      const t = { idx: [] as number[], w: [] as number[] };
      for (let c = 0; c < C; c++) {
        for (let a = 0; a < kh; a++) {
          const iy = oy * sh + a - ph;
          if (iy < 0 || iy >= H) continue; // zero padding contributes nothing
          for (let b = 0; b < kw; b++) {
            const ix = ox * sw + b - pw;
            if (ix < 0 || ix >= W) continue;
            t.idx.push((c * H + iy) * W + ix);
            t.w.push(l.weight[((o * C + c) * kh + a) * kw + b]!);
          }
        }
      }
      terms.push(t);
    }
  }
  return terms;
}

/**
 * Where input `i` goes: (output index, weight) pairs, zero weights included (they count
 * towards completion). Output index is CHW for a conv.
 */
function fanOut(l: Linear, input: Shape, out: Shape, i: number, visit: (j: number, w: number) => void): void {
  if (l.kind === 'dense') {
    for (let o = 0; o < l.outFeatures; o++) visit(o, l.weight[o * l.inFeatures + i]!);
    return;
  }
  const [C, H, W] = input as [number, number, number];
  const [, OH, OW] = out as [number, number, number];
  const c = Math.floor(i / (H * W)),
    iy = Math.floor(i / W) % H,
    ix = i % W;
  const [kh, kw] = l.kernel,
    [sh, sw] = l.stride,
    [ph, pw] = l.padding;
  for (let a = 0; a < kh; a++) {
    const ny = iy + ph - a;
    if (ny < 0 || ny % sh !== 0 || ny / sh >= OH) continue;
    for (let b = 0; b < kw; b++) {
      const nx = ix + pw - b;
      if (nx < 0 || nx % sw !== 0 || nx / sw >= OW) continue;
      for (let o = 0; o < l.outChannels; o++)
        visit((o * OH + ny / sh) * OW + nx / sw, l.weight[((o * C + c) * kh + a) * kw + b]!);
    }
  }
}

/** Weight plaintexts at level `level`, scale q: layer-wide cache when reused and small enough, else built per use. */
function weightSource(he: ServerHe, scope: Scope, consts: ConstantEncoder, l: Linear, input: Shape, level: number) {
  const q = he.primes[level]!;
  const reused =
    l.kind === 'conv2d' &&
    layerOutputShape(l, input)
      .slice(1)
      .reduce((a, b) => a * b, 1) > 1;
  const bytes = l.weight.length * 2 * he.slots * 8 * (level + 1);
  const cache = reused && bytes <= CACHE_BYTES ? new Map<number, Plaintext>() : undefined;
  return {
    q,
    /** zero at this scale: skipped */
    negligible: (w: number) => Math.round(Math.abs(w) * q) === 0,
    get(w: number): Plaintext {
      if (!cache) return consts.encode(scope, w, q, level);
      let pt = cache.get(w);
      if (!pt) {
        pt = consts.encode(scope, w, q, level);
        cache.set(w, pt);
      }
      return pt;
    },
    put(pt: Plaintext): void {
      if (!cache) scope.release(pt);
    },
    done(): void {
      if (cache) for (const pt of cache.values()) scope.release(pt);
    },
  };
}

/** acc (+)= x·w (counted by the context); `acc` undefined = first term. Returns the accumulator. */
function multiplyAccumulate(
  he: ServerHe,
  scope: Scope,
  src: ReturnType<typeof weightSource>,
  x: Ciphertext,
  w: number,
  acc: Ciphertext | undefined,
  tmp: Ciphertext,
): Ciphertext {
  const pt = src.get(w);
  if (!acc) acc = he.mulPlain(scope, x, pt);
  else {
    he.mulPlainTo(x, pt, tmp);
    he.addInplace(acc, tmp);
  }
  src.put(pt);
  return acc;
}

/**
 * Finish one affine output: if no weight contributed, the smallest representable one (1/q)
 * on `any` (SEAL refuses to make a transparent ciphertext; |x|/q is far below CKKS noise);
 * rescale; add the bias at the exact scale.
 */
function finishAffine(
  he: ServerHe,
  scope: Scope,
  consts: ConstantEncoder,
  src: ReturnType<typeof weightSource>,
  acc: Ciphertext | undefined,
  any: Ciphertext,
  bias: number,
  level: number,
  tmp: Ciphertext,
): Ciphertext {
  const y = acc ?? multiplyAccumulate(he, scope, src, any, 1 / src.q, undefined, tmp);
  he.rescaleInplace(y);
  if (bias !== 0) {
    const pt = consts.encode(scope, bias, y.scale(), level - 1);
    he.addPlainInplace(y, pt);
    scope.release(pt);
  }
  return y;
}

/**
 * The activation `l` at input level `level` as a sink transformer: each ciphertext is
 * activated, released, and the result handed on. `done()` frees the cached constants.
 */
function activation(
  he: ServerHe,
  relinKeys: RelinKeys,
  scope: Scope,
  consts: ConstantEncoder,
  l: Activation,
  level: number,
) {
  const depth = layerDepth(l);
  if (level < depth) throw new PpnnError('INTERNAL', `cryptonets: not enough levels left for layer '${l.name}'`);
  const a = l.kind === 'poly' ? l.a : 1,
    b = l.kind === 'poly' ? l.b : 0,
    c = l.kind === 'poly' ? l.c : 0;
  const pts = new Map<string, Plaintext>();
  // every ciphertext of a layer has the same history, hence the same scale: encode once
  const constPt = (key: string, v: number, scale: number, lv: number): Plaintext => {
    let pt = pts.get(key);
    if (!pt) {
      pt = consts.encode(scope, v, scale, lv);
      pts.set(key, pt);
    }
    return pt;
  };
  const q = he.primes[level]!;
  const apply = (ct: Ciphertext): Ciphertext => {
    let y: Ciphertext;
    if (a === 0) {
      // b·x: one ct×pt level
      y = he.mulPlain(scope, ct, constPt('b', b, q, level));
      he.rescaleInplace(y);
    } else {
      if (depth === 1) {
        // x²
        y = he.square(scope, ct);
      } else {
        // x·(a·x + b)
        const u = he.mulPlain(scope, ct, constPt('a', a, q, level));
        he.rescaleInplace(u);
        if (b !== 0) he.addPlainInplace(u, constPt('b', b, u.scale(), level - 1));
        y = he.modSwitchToNext(scope, ct);
        he.mulCipherInplace(y, u);
        scope.release(u);
      }
      he.relinearizeInplace(y, relinKeys);
      he.rescaleInplace(y);
    }
    if (c !== 0) he.addPlainInplace(y, constPt('c', c, y.scale(), level - depth));
    scope.release(ct);
    return y;
  };
  return {
    apply,
    done: () => {
      for (const pt of pts.values()) scope.release(pt);
    },
    level: level - depth,
  };
}

/** A built pipeline stage: its sink, and what to free / check once the stream is over. */
interface Stage {
  sink: Sink;
  done: () => void;
}

/**
 * Evaluate `layers` on the encrypted input, streaming (see the file comment). Returns the
 * encrypted logits, owned by `scope`. Reports every finished layer, in order, with the
 * measured chain index of its output. Throws INTERNAL when a measured level differs from
 * the planned one, HE_ERROR on a SEAL failure, whatever `hooks.tick` throws.
 */
export async function evaluateNetwork(
  he: ServerHe,
  relinKeys: RelinKeys,
  scope: Scope,
  layers: readonly CryptoNetsLayer[],
  input: EncryptedInput,
  hooks: EvalHooks,
): Promise<EncryptedOutput> {
  const consts = new ConstantEncoder(he);
  // plan shapes and levels
  const shapes: Shape[] = [input.shape];
  const levels: number[] = [input.level];
  for (const l of layers) {
    shapes.push(layerOutputShape(l, shapes[shapes.length - 1]!));
    const lv = levels[levels.length - 1]! - layerDepth(l);
    if (lv < 0) throw new PpnnError('INTERNAL', `cryptonets: no level left for layer '${l.name}'`);
    levels.push(lv);
  }
  const size = (s: Shape) => s.reduce((a, b) => a * b, 1);
  const outShape = shapes[layers.length]!;
  const result: Ciphertext[] = new Array<Ciphertext>(size(outShape));
  const tmp = scope.own(new he.seal.Ciphertext());
  const cleanups: (() => void)[] = [];

  // build back to front: stage k consumes tensor k (the input of layer k)
  let next: Sink = async (i, ct) => {
    result[i] = ct;
  };
  let gather: { l: Extract<Linear, { kind: 'conv2d' }>; sink: Sink } | undefined;
  for (let k = layers.length - 1; k >= 0; k--) {
    const l = layers[k]!;
    const track = new LayerTracker(he, hooks, l, k, levels[k]!, levels[k + 1]!, size(shapes[k + 1]!));
    const downstream = next;
    if (l.kind === 'flatten') {
      next = async (i, ct) => {
        track.produced(ct);
        await downstream(i, ct);
      };
    } else if (l.kind === 'square' || l.kind === 'poly') {
      const act = activation(he, relinKeys, scope, consts, l, levels[k]!);
      cleanups.push(act.done);
      next = async (i, ct) => {
        const y = act.apply(ct);
        track.produced(y);
        await hooks.tick();
        await downstream(i, y);
      };
    } else if (k === 0 && l.kind === 'conv2d') {
      gather = {
        l,
        sink: async (i, ct) => {
          track.produced(ct);
          await downstream(i, ct);
        },
      };
      next = downstream; // driven directly from the input below
    } else {
      const stage = scatterStage(
        he,
        scope,
        consts,
        l,
        shapes[k]!,
        shapes[k + 1]!,
        levels[k]!,
        tmp,
        async (i, ct) => {
          track.produced(ct);
          await downstream(i, ct);
        },
        hooks,
      );
      cleanups.push(stage.done);
      next = stage.sink;
    }
  }
  try {
    if (gather) await gatherConv(he, scope, consts, gather.l, input, tmp, gather.sink, hooks);
    else {
      for (let i = 0; i < size(input.shape); i++) {
        await next(i, input.load(i));
        await hooks.tick();
      }
    }
  } finally {
    for (const f of cleanups) f();
    scope.release(tmp);
  }
  for (let i = 0; i < result.length; i++)
    if (!result[i]) throw new PpnnError('INTERNAL', `cryptonets: logit ${i} was never produced`);
  return { cts: result, shape: outShape, level: levels[layers.length]! };
}

/**
 * Linear layer fed one input ciphertext at a time (any order): scatter w·x into every
 * output that uses x, release x; an output whose contributions are all in is finished
 * and handed to `emit`. Holds at most one accumulator per output.
 */
function scatterStage(
  he: ServerHe,
  scope: Scope,
  consts: ConstantEncoder,
  l: Linear,
  inShape: Shape,
  outShape: Shape,
  level: number,
  tmp: Ciphertext,
  emit: Sink,
  hooks: EvalHooks,
): Stage {
  const nIn = inShape.reduce((a, b) => a * b, 1);
  const nOut = outShape.reduce((a, b) => a * b, 1);
  const perChannel = l.kind === 'conv2d' ? nOut / l.outChannels : 1;
  const remaining = new Int32Array(nOut);
  for (let i = 0; i < nIn; i++) fanOut(l, inShape, outShape, i, (j) => remaining[j]!++);
  const acc: (Ciphertext | undefined)[] = new Array(nOut);
  const src = weightSource(he, scope, consts, l, inShape, level);
  const targets: number[] = [],
    weights: number[] = [];
  const sink: Sink = async (i, x) => {
    targets.length = 0;
    weights.length = 0;
    fanOut(l, inShape, outShape, i, (j, w) => {
      targets.push(j);
      weights.push(w);
    });
    const js = targets.slice(),
      ws = weights.slice(); // emit() below re-enters other stages, not this one
    try {
      for (let k = 0; k < js.length; k++) {
        const j = js[k]!,
          w = ws[k]!;
        if (!src.negligible(w)) acc[j] = multiplyAccumulate(he, scope, src, x, w, acc[j], tmp);
        if (--remaining[j]! === 0) {
          const y = finishAffine(he, scope, consts, src, acc[j], x, l.bias[Math.floor(j / perChannel)]!, level, tmp);
          acc[j] = undefined;
          await emit(j, y);
        }
        await hooks.tick();
      }
    } finally {
      scope.release(x);
    }
  };
  return { sink, done: () => src.done() };
}

/**
 * First convolution, fed from the serialised upload: output position by position (all
 * channels), each input deserialised on first use and released after its last, so only a
 * band of input rows is alive.
 */
async function gatherConv(
  he: ServerHe,
  scope: Scope,
  consts: ConstantEncoder,
  l: Extract<Linear, { kind: 'conv2d' }>,
  input: EncryptedInput,
  tmp: Ciphertext,
  emit: Sink,
  hooks: EvalHooks,
): Promise<void> {
  const nIn = input.shape.reduce((a, b) => a * b, 1);
  const terms = Array.from({ length: l.outChannels }, (_, o) => groupTerms(l, input.shape, o));
  const positions = terms[0]!.length;
  const uses = new Int32Array(nIn);
  for (const g of terms) for (const t of g) for (const i of t.idx) uses[i]!++;
  const x: (Ciphertext | undefined)[] = new Array(nIn);
  const get = (i: number): Ciphertext => (x[i] ??= input.load(i));
  const src = weightSource(he, scope, consts, l, input.shape, input.level);
  try {
    for (let p = 0; p < positions; p++) {
      for (let o = 0; o < l.outChannels; o++) {
        const t = terms[o]![p]!;
        let acc: Ciphertext | undefined;
        for (let k = 0; k < t.idx.length; k++)
          if (!src.negligible(t.w[k]!)) acc = multiplyAccumulate(he, scope, src, get(t.idx[k]!), t.w[k]!, acc, tmp);
        const y = finishAffine(he, scope, consts, src, acc, get(t.idx[0] ?? 0), l.bias[o]!, input.level, tmp);
        for (const i of t.idx)
          if (--uses[i]! === 0 && x[i]) {
            scope.release(x[i]!);
            x[i] = undefined;
          }
        await emit(o * positions + p, y);
        await hooks.tick();
      }
    }
  } finally {
    src.done();
  }
}
