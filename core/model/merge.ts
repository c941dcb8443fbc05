/**
 * Merging stage (server side, once per model): fold every run of linear layers with no
 * activation between them into fewer affine maps, where a cost model says it pays.
 *
 * Why it pays in this protocol: every affine map the protocol evaluates costs one online
 * round (the client sends its masked share, 8 bytes per input value), one batch of CKKS
 * preprocessing (encrypt masks, ct×pt products, decrypt) and one HE level in schemes that
 * chain layers homomorphically. Folding conv → batch-norm → avg-pool into one strided
 * convolution removes two rounds, two mask transfers and usually most of the
 * multiplications (pooling shrinks the output the big kernel is evaluated on). But a
 * merged conv → dense can hold far more multiplications than its parts, so each candidate
 * merge is priced before it is accepted.
 */
import { PpnnError } from '../errors.ts';
import {
  affineMacs,
  composeAsDense,
  composeConvConv,
  composeDenseDense,
  toAffine,
  type AffineLayer,
} from './affine.ts';
import { layerOutputShape } from './shapes.ts';
import type { Layer, Model, Shape } from './types.ts';
import { AFFINE_KINDS, shapeSize } from './types.ts';

/** Estimated costs of evaluating one affine map in the merged/unmerged protocol, per image. */
export interface LinearCost {
  /** nonzero multiply-accumulates (ct×pt slot products in the preprocessing evaluation) */
  macs: number;
  /** ct×pt multiplications with the slot-filling (im2col) layout, amortised per image */
  heCtPtMul: number;
  /** ciphertext additions, amortised per image */
  heAdditions: number;
  /** rotations of the evaluation (0: the client sends shifted copies instead) */
  heRotations: number;
  /** multiplicative levels when the run is chained homomorphically (GAZELLE/CryptoNets style) */
  heLevels: number;
  /** online rounds (one client→server message per affine map) */
  onlineRounds: number;
  /** online bytes client→server for this map (float64 masked share of its input) */
  onlineBytes: number;
  /** preprocessing bytes per image (mask ciphertext share, amortised) */
  preprocessingBytes: number;
  /** single figure the decision uses, in estimated milliseconds */
  estimatedMs: number;
}

/** Constants of the cost model; defaults measured on this project's reference machine (docs/MERGING.md). */
export interface CostConstants {
  slots: number;
  ctPtMulMs: number;
  additionMs: number;
  rotationMs: number;
  /** bytes of one compressed ciphertext on the wire */
  ciphertextBytes: number;
  /** network: ms per byte (1 Gbit/s ≈ 8e-6 ms/byte) and per round trip */
  msPerByte: number;
  msPerRound: number;
}

export const DEFAULT_COSTS: CostConstants = {
  slots: 4096,
  ctPtMulMs: 0.8,
  additionMs: 0.05,
  rotationMs: 8.5,
  ciphertextBytes: 110_000,
  msPerByte: 8e-6,
  msPerRound: 1,
};

export function linearCost(l: AffineLayer, chwOrFlatInput: Shape, k: CostConstants = DEFAULT_COSTS): LinearCost {
  const input = flatFor(l, chwOrFlatInput);
  const macs = affineMacs(l, input);
  const heCtPtMul = macs / k.slots;
  const heAdditions = macs / k.slots;
  const inSize = shapeSize(input);
  const outSize = shapeSize(layerOutputShape(l, input));
  const onlineBytes = 8 * inSize;
  // mask ciphertexts: the fast layouts spread inputs/outputs over slots; per image
  // about (in + out) / slots ciphertexts cross the wire.
  const preprocessingBytes = ((inSize + outSize) / k.slots) * k.ciphertextBytes;
  const estimatedMs =
    heCtPtMul * k.ctPtMulMs +
    heAdditions * k.additionMs +
    (onlineBytes + preprocessingBytes) * k.msPerByte +
    k.msPerRound;
  return {
    macs,
    heCtPtMul,
    heAdditions,
    heRotations: 0,
    heLevels: 1,
    onlineRounds: 1,
    onlineBytes,
    preprocessingBytes,
    estimatedMs,
  };
}

function addCosts(a: LinearCost, b: LinearCost): LinearCost {
  const out = { ...a };
  for (const key of Object.keys(out) as (keyof LinearCost)[]) out[key] = a[key] + b[key];
  return out;
}

const ZERO_COST: LinearCost = {
  macs: 0,
  heCtPtMul: 0,
  heAdditions: 0,
  heRotations: 0,
  heLevels: 0,
  onlineRounds: 0,
  onlineBytes: 0,
  preprocessingBytes: 0,
  estimatedMs: 0,
};

export interface MergeDecision {
  /** original layer names the candidate folds */
  layers: string[];
  into: string;
  accepted: boolean;
  reason: string;
  before: LinearCost;
  after: LinearCost;
}

export interface NetworkCounts {
  layers: number;
  linearMaps: number;
  activations: number;
  cost: LinearCost;
}

export interface MergeReport {
  before: NetworkCounts;
  after: NetworkCounts;
  decisions: MergeDecision[];
  /** before minus after, per figure */
  saved: LinearCost;
}

export interface MergeResult {
  model: Model;
  report: MergeReport;
}

/** Dense maps read the CHW tensor as its flat CHW-order vector. */
function flatFor(l: AffineLayer, input: Shape): Shape {
  return l.kind === 'dense' ? [shapeSize(input)] : input;
}

interface Piece {
  layer: AffineLayer;
  input: Shape;
  names: string[];
}

/**
 * Compose two canonical pieces exactly. conv∘conv stays a convolution or is not merged
 * (a dense map cannot feed a later convolution in this IR, and would lose the fast
 * convolution packing); anything ending in a dense map becomes one dense matrix.
 */
function compose(a: Piece, b: Piece): AffineLayer | undefined {
  const name = `${a.layer.name}+${b.layer.name}`;
  if (a.layer.kind === 'conv2d' && b.layer.kind === 'conv2d') return composeConvConv(a.layer, b.layer, name);
  if (b.layer.kind === 'conv2d') return undefined;
  if (a.layer.kind === 'dense' && b.layer.kind === 'dense') return composeDenseDense(a.layer, b.layer, name);
  const mid = layerOutputShape(a.layer, flatFor(a.layer, a.input));
  const chain: Layer[] = [];
  if (a.layer.kind === 'dense' && a.input.length !== 1) chain.push({ kind: 'flatten', name: 'flatten.in' });
  chain.push(a.layer);
  if (b.layer.kind === 'dense' && mid.length !== 1) chain.push({ kind: 'flatten', name: 'flatten.mid' });
  chain.push(b.layer);
  return composeAsDense(chain, a.input, name);
}

function countNetwork(pieces: Piece[], activations: number, totalLayers: number, k: CostConstants): NetworkCounts {
  const cost = pieces.reduce((acc, p) => addCosts(acc, linearCost(p.layer, p.input, k)), ZERO_COST);
  return { layers: totalLayers, linearMaps: pieces.length, activations, cost };
}

/**
 * Merge consecutive affine layers of `model`. With `force: 'none'` nothing is merged (the
 * unmerged ablation, still in canonical form); `force: 'all'` accepts every exact merge
 * (used by property tests). Returns the merged model (valid IR: flatten inserted where a
 * dense map follows a CHW tensor) and the report of decisions and counts.
 * Throws SHAPE_MISMATCH for models whose layers do not chain.
 */
export function mergeModel(model: Model, opts: { force?: 'none' | 'all'; costs?: CostConstants } = {}): MergeResult {
  const k = opts.costs ?? DEFAULT_COSTS;
  const out: Layer[] = [];
  // inputBounds (public per-layer |input| bounds, meta) follow the layers they describe:
  // a merged map keeps the bound of its first original layer's input.
  const srcBounds = model.meta.inputBounds;
  const boundOf = new Map<string, number | undefined>(model.layers.map((l, i) => [l.name, srcBounds?.[i]]));
  const outBounds: (number | undefined)[] = [];
  const decisions: MergeDecision[] = [];
  const beforePieces: Piece[] = [];
  const afterPieces: Piece[] = [];
  let activations = 0;
  let shape: Shape = model.inputShape;
  let run: Piece[] = [];

  const flushRun = (): void => {
    if (run.length === 0) return;
    beforePieces.push(...run);
    const merged: Piece[] = [run[0]!];
    for (const next of run.slice(1)) {
      const cur = merged[merged.length - 1]!;
      const candidate = compose(cur, next);
      if (!candidate) {
        const zero = linearCost(next.layer, next.input, k);
        decisions.push({
          layers: [...cur.names, ...next.names],
          into: '',
          accepted: false,
          reason: 'no exact composition keeps the convolution structure (padded second convolution)',
          before: zero,
          after: zero,
        });
        merged.push(next);
        continue;
      }
      const before = addCosts(linearCost(cur.layer, cur.input, k), linearCost(next.layer, next.input, k));
      const after = linearCost(candidate, cur.input, k);
      const accepted =
        opts.force === 'all' ? true : opts.force === 'none' ? false : after.estimatedMs <= before.estimatedMs;
      const reason =
        opts.force === 'none'
          ? 'merging switched off'
          : opts.force === 'all'
            ? 'forced'
            : accepted
              ? `saves ${(before.estimatedMs - after.estimatedMs).toFixed(2)} ms/image (est.)`
              : `would cost ${(after.estimatedMs - before.estimatedMs).toFixed(2)} ms/image more (est.)`;
      decisions.push({ layers: [...cur.names, ...next.names], into: candidate.name, accepted, reason, before, after });
      if (accepted)
        merged[merged.length - 1] = { layer: candidate, input: cur.input, names: [...cur.names, ...next.names] };
      else merged.push(next);
    }
    // re-insert reshapes: a dense map reads a flat vector, the run's consumer expects `shape`
    let cur: Shape = run[0]!.input;
    for (const p of merged) {
      const bound = boundOf.get(p.names[0]!);
      if (p.layer.kind === 'dense' && cur.length !== 1) {
        out.push({ kind: 'flatten', name: `${p.layer.name}.flatten` });
        outBounds.push(bound);
        cur = [shapeSize(cur)];
      }
      out.push(p.layer);
      outBounds.push(bound);
      afterPieces.push(p);
      cur = layerOutputShape(p.layer, cur);
    }
    if (shape.length === 1 && cur.length !== 1) {
      out.push({ kind: 'flatten', name: `${merged[merged.length - 1]!.layer.name}.flatten.out` });
      outBounds.push(undefined);
    }
    run = [];
  };

  for (const layer of model.layers) {
    const next = layerOutputShape(layer, shape);
    if (layer.kind === 'flatten') {
      // a reshape of CHW data: no arithmetic, no protocol step. Inside a run it is
      // re-inserted where needed (before dense maps, at the run's end); elsewhere kept.
      if (run.length === 0) {
        out.push(layer);
        outBounds.push(boundOf.get(layer.name));
      }
    } else if (AFFINE_KINDS.has(layer.kind)) {
      const affine = toAffine(layer, shape);
      run.push({ layer: affine, input: shape, names: [layer.name] });
    } else {
      flushRun();
      if (layer.kind !== 'maxpool') activations++;
      if (shape.length !== next.length)
        throw new PpnnError('INTERNAL', `activation '${layer.name}' changed the tensor rank`);
      out.push(layer);
      outBounds.push(boundOf.get(layer.name));
    }
    shape = next;
  }
  flushRun();

  const before = countNetwork(beforePieces, activations, model.layers.length, k);
  const after = countNetwork(afterPieces, activations, out.length, k);
  const saved = { ...before.cost };
  for (const key of Object.keys(saved) as (keyof LinearCost)[]) saved[key] = before.cost[key] - after.cost[key];
  const merged: Model = {
    name: model.name,
    inputShape: model.inputShape,
    layers: out,
    meta: {
      ...model.meta,
      merged: opts.force !== 'none',
      ...(srcBounds ? { inputBounds: outBounds.map((b) => b ?? NaN) } : {}),
    },
  };
  return { model: merged, report: { before, after, decisions, saved } };
}
