/**
 * CryptoNets server: evaluates the whole network on ciphertexts laid out one per value
 * (slot j of every ciphertext = image j), with only the relinearisation keys.
 *
 *  - conv2d / dense: each output is Σ w·ct over its receptive field, every weight a
 *    constant plaintext encoded at scale exactly q_l (the prime the following rescale
 *    divides out), so the layer leaves the scale unchanged; then bias as a plaintext
 *    added at the rescaled ciphertext's exact scale. Zero weights are skipped. Loop order
 *    is output-group major (a conv output channel, a dense row): the group's weights are
 *    encoded once (deduplicated by value), used for every output position, then freed —
 *    a layer-wide cache would hold 4608 plaintexts (~1 GB) for MNIST's second conv.
 *  - square: ct×ct, relinearise, rescale. poly a·x² + b·x + c: u = a·x + b (one level),
 *    then x·u with x mod-switched down to u's level (second level), + c.
 *  - Layer by layer; a layer's input ciphertexts are freed as soon as it is done, and an
 *    activation that follows a linear layer is applied to each output as it is produced.
 *
 * All handles belong to the caller's Scope; this module never frees what it did not make.
 */
import type { Ciphertext, CKKSEncoder, Evaluator, ParmsIdType, Plaintext, RelinKeys, SEALContext } from 'node-seal';
import { PpnnError } from '../errors.ts';
import { layerOutputShape } from '../model/shapes.ts';
import type { Shape } from '../model/types.ts';
import type { HeOpCounts } from '../report/types.ts';
import { Scope, sealGuard } from '../he/seal.ts';
import type { Seal } from '../he/seal.ts';
import { layerDepth } from './cryptonets-params.ts';
import type { CryptoNetsLayer } from './cryptonets-params.ts';

/** The server's HE objects (owned by the caller). */
export interface ServerHe {
  readonly seal: Seal;
  readonly context: SEALContext;
  readonly encoder: CKKSEncoder;
  readonly evaluator: Evaluator;
  readonly relinKeys: RelinKeys;
  readonly slots: number;
  /** data primes q0 … q_D as doubles (exact rescale divisors) */
  readonly primes: readonly number[];
  /** parms id by chain index (0 = only q0 left) */
  readonly parmsIds: readonly ParmsIdType[];
  readonly counts: HeOpCounts;
}

/** Ciphertexts of one tensor: one per value (CHW order), all at `level` with the same scale. */
export interface EncryptedTensor {
  cts: Ciphertext[];
  shape: Shape;
  level: number;
  /**
   * Lazy tensor (the network input): `cts` starts empty and ciphertext i is deserialised
   * on first use. A first convolution then streams over its input, freeing each pixel's
   * ciphertext after its last use, so the whole input never sits in memory at once.
   */
  load?: (i: number) => Ciphertext;
}

/** Deserialise every remaining ciphertext of a lazy tensor. */
function materialise(x: EncryptedTensor): EncryptedTensor {
  if (!x.load) return x;
  const n = x.shape.reduce((a, b) => a * b, 1);
  for (let i = 0; i < n; i++) x.cts[i] ??= x.load(i);
  return { cts: x.cts, shape: x.shape, level: x.level };
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

/** Read the chain index of a ciphertext (measured, not assumed). */
export function chainIndexOf(he: Pick<ServerHe, 'context'>, ct: Ciphertext): number {
  const s = new Scope();
  try {
    return sealGuard('reading a ciphertext level', () => s.own(he.context.getContextData(s.own(ct.parmsId()))).chainIndex());
  } finally {
    s.free();
  }
}

/** Constant plaintext `value` in every slot, at `scale`, brought down to chain index `level`. */
function encodeConstant(he: ServerHe, scope: Scope, value: number, scale: number, level: number): Plaintext {
  return sealGuard('encoding a constant', () => {
    const pt = scope.own(new he.seal.Plaintext());
    he.encoder.encode(new Float64Array(he.slots).fill(value), scale, pt);
    if (level < he.parmsIds.length - 1) he.evaluator.plainModSwitchToInplace(pt, he.parmsIds[level]!);
    return pt;
  });
}

/** One affine output: the (input index, weight) terms of its receptive field. */
type Terms = { idx: number[]; w: number[] };

/**
 * Σ w·x over `terms`, rescaled, plus bias. The weight plaintexts come from `weightPt`
 * (group cache). A row with no usable weight gets the smallest representable one (1/q_l)
 * on its first input: SEAL refuses to produce a transparent (all-zero) ciphertext, and
 * the added |x|/q_l is far below CKKS noise.
 */
function affineOutput(he: ServerHe, scope: Scope, x: (i: number) => Ciphertext, terms: Terms, q: number, tmp: Ciphertext, weightPt: (w: number) => Plaintext): Ciphertext {
  const acc = scope.own(new he.seal.Ciphertext());
  let first = true;
  sealGuard('ct×pt multiply-accumulate', () => {
    for (let k = 0; k < terms.idx.length; k++) {
      const w = terms.w[k]!;
      if (Math.round(Math.abs(w) * q) === 0) continue;
      const pt = weightPt(w);
      if (first) { he.evaluator.multiplyPlain(x(terms.idx[k]!), pt, acc); first = false; } else {
        he.evaluator.multiplyPlain(x(terms.idx[k]!), pt, tmp);
        he.evaluator.addInplace(acc, tmp);
        he.counts.additions++;
      }
      he.counts.ctPtMul++;
    }
    if (first) {
      he.evaluator.multiplyPlain(x(terms.idx[0] ?? 0), weightPt(1 / q), acc);
      he.counts.ctPtMul++;
    }
    he.evaluator.rescaleToNextInplace(acc);
    he.counts.rescales++;
  });
  return acc;
}

/** Add the constant `value` (at the ciphertext's exact scale and level) to every ct; 0 adds nothing. */
function addConstant(he: ServerHe, scope: Scope, cts: readonly Ciphertext[], value: number, level: number, cache: Map<number, Plaintext>): void {
  if (value === 0 || cts.length === 0) return;
  let pt = cache.get(value);
  if (!pt) { pt = encodeConstant(he, scope, value, cts[0]!.scale(), level); cache.set(value, pt); }
  for (const ct of cts) {
    sealGuard('adding a constant', () => he.evaluator.addPlainInplace(ct, pt));
    he.counts.additions++;
  }
}

/** Receptive-field terms of output group `o` at each position (conv) or of row `o` (dense). */
function groupTerms(l: Extract<CryptoNetsLayer, { kind: 'conv2d' | 'dense' }>, input: Shape, o: number): Terms[] {
  if (l.kind === 'dense') {
    const idx = Array.from({ length: l.inFeatures }, (_, i) => i);
    return [{ idx, w: Array.from(l.weight.subarray(o * l.inFeatures, (o + 1) * l.inFeatures)) }];
  }
  const [C, H, W] = input as [number, number, number];
  const [kh, kw] = l.kernel, [sh, sw] = l.stride, [ph, pw] = l.padding;
  const out = layerOutputShape(l, input) as [number, number, number];
  const terms: Terms[] = [];
  for (let oy = 0; oy < out[1]; oy++) {
    for (let ox = 0; ox < out[2]; ox++) {
      const t: Terms = { idx: [], w: [] };
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

async function affineLayer(he: ServerHe, scope: Scope, l: Extract<CryptoNetsLayer, { kind: 'conv2d' | 'dense' }>, input: EncryptedTensor, hooks: EvalHooks, then?: (ct: Ciphertext) => Ciphertext): Promise<EncryptedTensor> {
  if (input.level < 1) throw new PpnnError('INTERNAL', `cryptonets: no level left for layer '${l.name}'`);
  const q = he.primes[input.level]!;
  const groups = l.kind === 'dense' ? l.outFeatures : l.outChannels;
  const tmp = scope.own(new he.seal.Ciphertext());
  const biasPts = new Map<number, Plaintext>();
  const level = input.level;
  const encoder = (cache: Map<number, Plaintext>) => (w: number): Plaintext => {
    let pt = cache.get(w);
    if (!pt) { pt = encodeConstant(he, scope, w, q, level); cache.set(w, pt); }
    return pt;
  };
  const nIn = input.shape.reduce((a, b) => a * b, 1);
  // Stream over a lazy input (position-major, layer-wide weight cache) when the weights
  // are few next to the input ciphertexts they let us free early (MNIST's first conv:
  // 288 weights, 784 pixels); otherwise output-channel-major with all inputs loaded.
  if (l.kind === 'conv2d' && input.load && l.weight.length <= 2 * nIn) {
    const load = input.load;
    const x = input.cts;
    const get = (i: number): Ciphertext => (x[i] ??= load(i));
    const terms = Array.from({ length: groups }, (_, o) => groupTerms(l, input.shape, o));
    const positions = terms[0]!.length;
    const uses = new Int32Array(nIn);
    for (const g of terms) for (const t of g) for (const i of t.idx) uses[i]!++;
    const cache = new Map<number, Plaintext>();
    const weightPt = encoder(cache);
    const out: Ciphertext[] = new Array<Ciphertext>(groups * positions);
    for (let p = 0; p < positions; p++) {
      for (let o = 0; o < groups; o++) {
        const t = terms[o]![p]!;
        const y = affineOutput(he, scope, get, t, q, tmp, weightPt);
        addConstant(he, scope, [y], l.bias[o]!, level - 1, biasPts);
        out[o * positions + p] = then ? then(y) : y;
        for (const i of t.idx) if (--uses[i]! === 0 && x[i]) { scope.release(x[i]!); delete x[i]; }
        await hooks.tick();
      }
    }
    for (const pt of cache.values()) scope.release(pt);
    for (const pt of biasPts.values()) scope.release(pt);
    scope.release(tmp);
    return { cts: out, shape: layerOutputShape(l, input.shape), level: level - 1 };
  }
  const x = materialise(input).cts;
  const out: Ciphertext[] = [];
  for (let o = 0; o < groups; o++) {
    const cache = new Map<number, Plaintext>();
    const weightPt = encoder(cache);
    const group: Ciphertext[] = [];
    for (const t of groupTerms(l, input.shape, o)) {
      group.push(affineOutput(he, scope, (i) => x[i]!, t, q, tmp, weightPt));
      await hooks.tick();
    }
    addConstant(he, scope, group, l.bias[o]!, level - 1, biasPts);
    for (const pt of cache.values()) scope.release(pt);
    out.push(...(then ? group.map(then) : group));
  }
  for (const pt of biasPts.values()) scope.release(pt);
  scope.release(tmp);
  return { cts: out, shape: layerOutputShape(l, input.shape), level: level - 1 };
}

/**
 * The activation `l` as a per-ciphertext map at input level `level`: `apply(ct)` returns
 * the activated ciphertext and releases `ct`; `done()` frees the cached constants.
 */
function activation(he: ServerHe, scope: Scope, l: Extract<CryptoNetsLayer, { kind: 'square' | 'poly' }>, level: number): { apply: (ct: Ciphertext) => Ciphertext; done: () => void; level: number } {
  const depth = layerDepth(l);
  if (level < depth) throw new PpnnError('INTERNAL', `cryptonets: not enough levels left for layer '${l.name}'`);
  const a = l.kind === 'poly' ? l.a : 1, b = l.kind === 'poly' ? l.b : 0, c = l.kind === 'poly' ? l.c : 0;
  const ev = he.evaluator;
  const pts = new Map<string, Plaintext>();
  // every ciphertext of a layer has the same history, hence the same scale: encode once
  const constPt = (key: string, v: number, scale: number, lv: number): Plaintext => {
    let pt = pts.get(key);
    if (!pt) { pt = encodeConstant(he, scope, v, scale, lv); pts.set(key, pt); }
    return pt;
  };
  const q = he.primes[level]!;
  const apply = (ct: Ciphertext): Ciphertext => {
    const y = scope.own(new he.seal.Ciphertext());
    sealGuard(`evaluating ${l.kind} '${l.name}'`, () => {
      if (a === 0) { // b·x: one ct×pt level
        ev.multiplyPlain(ct, constPt('b', b, q, level), y); he.counts.ctPtMul++;
        ev.rescaleToNextInplace(y); he.counts.rescales++;
      } else {
        if (depth === 1) { // x²
          ev.square(ct, y); he.counts.ctCtMul++;
        } else { // x·(a·x + b)
          const u = scope.own(new he.seal.Ciphertext());
          ev.multiplyPlain(ct, constPt('a', a, q, level), u); he.counts.ctPtMul++;
          ev.rescaleToNextInplace(u); he.counts.rescales++;
          if (b !== 0) { ev.addPlainInplace(u, constPt('b', b, u.scale(), level - 1)); he.counts.additions++; }
          ev.cipherModSwitchToNext(ct, y); he.counts.modSwitches++;
          ev.multiplyInplace(y, u); he.counts.ctCtMul++;
          scope.release(u);
        }
        ev.relinearizeInplace(y, he.relinKeys); he.counts.relinearizations++;
        ev.rescaleToNextInplace(y); he.counts.rescales++;
      }
      if (c !== 0) { ev.addPlainInplace(y, constPt('c', c, y.scale(), level - depth)); he.counts.additions++; }
    });
    scope.release(ct);
    return y;
  };
  return { apply, done: () => { for (const pt of pts.values()) scope.release(pt); }, level: level - depth };
}

/**
 * Evaluate `layers` on the encrypted input (consumed: its ciphertexts are released).
 * Returns the encrypted logits, owned by `scope`. Reports every finished layer with the
 * measured chain index of its output. Throws INTERNAL when the measured level differs
 * from the planned one, HE_ERROR on a SEAL failure, whatever `hooks.tick` throws.
 */
export async function evaluateNetwork(he: ServerHe, scope: Scope, layers: readonly CryptoNetsLayer[], input: EncryptedTensor, hooks: EvalHooks): Promise<EncryptedTensor> {
  let x = input;
  const report = (i: number, before: number, y: EncryptedTensor): void => {
    const measured = y.cts.length > 0 ? chainIndexOf(he, y.cts[0]!) : y.level;
    if (measured !== y.level) throw new PpnnError('INTERNAL', `cryptonets: layer '${layers[i]!.name}' left its output at level ${measured}, planned ${y.level}`);
    hooks.layerDone({ layer: layers[i]!.name, index: i, level: measured, levelsUsed: before - measured, ciphertexts: y.cts.length });
  };
  for (let i = 0; i < layers.length; i++) {
    const l = layers[i]!;
    const before = x.level;
    if (l.kind === 'flatten') {
      x = { ...materialise(x), shape: layerOutputShape(l, x.shape) };
      report(i, before, x);
    } else if (l.kind === 'conv2d' || l.kind === 'dense') {
      // An activation right after is applied to each output as soon as it exists (fused):
      // the layer's outputs then never all sit in memory at the higher level, which
      // keeps SEAL's memory pool (it never shrinks) ~40% smaller on MNIST.
      const next = layers[i + 1];
      const act = next && (next.kind === 'square' || next.kind === 'poly') ? activation(he, scope, next, x.level - 1) : undefined;
      const y = await affineLayer(he, scope, l, x, hooks, act?.apply);
      act?.done();
      for (const ct of x.cts) if (ct) scope.release(ct);
      if (act) {
        hooks.layerDone({ layer: l.name, index: i, level: x.level - 1, levelsUsed: 1, ciphertexts: y.cts.length });
        x = { ...y, level: act.level };
        report(i + 1, before - 1, x);
        i++;
      } else {
        x = y;
        report(i, before, x);
      }
    } else {
      const act = activation(he, scope, l, x.level);
      x = materialise(x);
      const cts: Ciphertext[] = [];
      for (const ct of x.cts) { cts.push(act.apply(ct)); await hooks.tick(); }
      act.done();
      x = { cts, shape: x.shape, level: act.level };
      report(i, before, x);
    }
  }
  return x;
}
