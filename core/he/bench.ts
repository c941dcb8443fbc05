// Long file: the op-cost micro-benchmark, the per-layer preprocessing run and its text table share one
// result shape and are read together when a figure looks wrong; it is also perf's file this round (issue 14),
// so it is not split under them. A seam exists (formatPreprocessingBench → its own file) if it grows further.
/**
 * Preprocessing benchmark: runs client and server in this process on random masks for a
 * list of linear layers and reports, per layer and in total, client/server time, op
 * counts, levels, bytes each way and per-image figures, plus `predictedMs` = Σ op count ×
 * per-op cost from a micro-benchmark in the same run (measured/predicted is reported).
 */
import { PpnnError } from '../errors.ts';
import type { Conv2dLayer, DenseLayer, Shape } from '../model/types.ts';
import { HeClient } from './client.ts';
import { HeContext } from './context.ts';
import { planCost, planLayer } from './layout.ts';
import type { Layout } from './layout.ts';
import { chooseParams } from './params.ts';
import type { CkksParams } from './params.ts';
import { Scope } from './seal.ts';
import { HeServer } from './server.ts';
import { rotationStepsFor } from './setup.ts';
import { OP_NAMES, addCounts, zeroCounts } from './stats.ts';
import type { HeLayerStats, HeOpCounts, OpName } from './stats.ts';
import type { WeightCacheStats } from './reuse.ts';

/** ms per operation, in the one op vocabulary (core/report/he-ops.ts), plus ciphertext load and save. */
/**
 * Per-op ms; `load` / `save` of a level-0 response ciphertext, `loadMask` of a client upload (a
 * seeded 'mask' ciphertext at the measured level, expanded and validated as the server loads it).
 */
export type OpCostMs = Record<OpName | 'load' | 'save', number> & { loadMask?: number };

export interface LayerBench {
  layer: string;
  kind: 'conv2d' | 'dense';
  description: string;
  clientMs: number;
  serverMs: number;
  ops: HeOpCounts;
  /** level of the client's ciphertexts and of the responses (levels consumed = difference) */
  inputLevel: number;
  outputLevel: number;
  ciphertextsToServer: number;
  ciphertextsToClient: number;
  bytesToServer: number;
  bytesToClient: number;
  /** Σ op count × per-op median of this run, plus (de)serialisation of every ciphertext */
  predictedMs: number;
  /** measured (client + server) ÷ predictedMs */
  ratio: number;
  /** the layout the cost model chose: unique input values ÷ uploaded slots, and its own prediction */
  plan: { utilisation: number; modelMs: number; modelBytes: number };
  perImage: { ms: number; bytes: number };
}

export interface PreprocessingBench {
  params: CkksParams;
  layout: Layout;
  images: number;
  workers: number;
  setup: { keygenMs: number; serverLoadMs: number; bytes: number; rotationSteps: number };
  /** ms per operation measured in this run (micro-benchmark at the input level) */
  opCostMs: OpCostMs;
  layers: LayerBench[];
  total: Omit<LayerBench, 'layer' | 'kind' | 'description' | 'inputLevel' | 'outputLevel' | 'ratio' | 'plan'> & {
    ratioMeasuredToPredicted: number;
  };
  /** encoded-weight cache after the run (the figures are of the last of `repeat` batches) */
  weightCache: WeightCacheStats;
  repeat: number;
}

export interface BenchOptions {
  images: number;
  layout: Layout;
  workers: number;
  /** CHW input shape per layer index (required for conv layers) */
  inputShapes?: readonly (Shape | undefined)[];
  /** layers (by index) followed by a square activation: also compute the product (depth 2) */
  product?: readonly boolean[];
  params?: CkksParams;
  /** batches per layer; figures are those of the last (default 2: the first fills the weight cache) */
  repeat?: number;
}

const rand = (n: number) => Float64Array.from({ length: n }, () => Math.random() * 2 - 1);

/**
 * Mean ms of `f` over `reps` runs after one warm-up: the rate of a sustained stream of the op,
 * as a run's batches are. (On a shared machine, the median of a few short runs picks the ones
 * that got a whole time slice, i.e. the idle-machine cost: a stream gets only its share.)
 */
export function meanMs(f: () => void, reps: number): number {
  f();
  const t = performance.now();
  for (let i = 0; i < reps; i++) f();
  return (performance.now() - t) / reps;
}

/** Median ms of `f` over `reps` runs after one warm-up. */
export function medianMs(f: () => void, reps: number): number {
  f();
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    f();
    ts.push(performance.now() - t);
  }
  return ts.sort((a, b) => a - b)[reps >> 1]!;
}

/**
 * Per-op cost (ms) at the given input level: median of `reps` runs (plus load/save of one ciphertext,
 * and the load of one upload); `stat: 'mean'` for the mean (meanMs: what a stream of ops costs).
 */
export async function measureOpCosts(
  params: CkksParams,
  level: number,
  reps = 9,
  opts: { stat?: 'median' | 'mean' } = {},
): Promise<OpCostMs> {
  const he = await HeContext.create(params);
  const s = new Scope();
  try {
    const seal = he.seal;
    const kg = s.own(new seal.KeyGenerator(he.context));
    const sk = s.own(kg.secretKey()),
      pk = s.own(kg.createPublicKey());
    const enc = s.own(new seal.Encryptor(he.context, pk, sk)),
      encPk = s.own(new seal.Encryptor(he.context, pk));
    const dec = s.own(new seal.Decryptor(he.context, sk));
    const gk = s.own(kg.createGaloisKeysWithSteps(Int32Array.from([0, 1])));
    const v = rand(he.slots);
    const time = (f: () => void): number => (opts.stat === 'mean' ? meanMs : medianMs)(f, reps);
    const pt = he.encode(s, v, he.scale, level);
    const ct = s.own(new seal.Ciphertext());
    enc.encryptSymmetric(pt, ct);
    const wpt = he.encode(s, v, he.primes[level]!, level);
    const tmp = s.own(new seal.Ciphertext());
    const c: OpCostMs = { ...zeroCounts(), load: 0, save: 0 };
    c.encodes = time(() => {
      const p = he.encode(s, v, he.scale, level);
      s.release(p);
    });
    c.encryptions = time(() => {
      he.encryptSymmetricBytes(enc, pt, 'mask');
    });
    c.ctPtMul = time(() => he.evaluator.multiplyPlain(ct, wpt, tmp));
    c.additions = time(() => he.evaluator.add(ct, ct, tmp));
    c.rotations = time(() => he.evaluator.rotateVector(ct, 1, gk, tmp));
    c.conjugations = time(() => he.evaluator.complexConjugate(ct, gk, tmp));
    c.rescales =
      time(() => {
        he.evaluator.multiplyPlain(ct, wpt, tmp);
        he.evaluator.rescaleToNextInplace(tmp);
      }) - c.ctPtMul;
    c.modSwitches = time(() => {
      he.evaluator.cipherModSwitchToNext(ct, tmp);
    });
    c.zeroEncryptions = time(() => {
      const z = he.encryptZeroAt(s, encPk, level, ct.scale());
      s.release(z);
    });
    const low = s.own(new seal.Ciphertext());
    he.evaluator.cipherModSwitchTo(ct, he.parmsIdAt(0), low);
    const out = s.own(new seal.Plaintext());
    c.decryptions = time(() => {
      dec.decrypt(low, out);
      he.decode(out);
    });
    // ct×ct square and relinearisation (gazelle's online square, CryptoNets' activations)
    const rk = s.own(kg.createRelinKeys());
    const sq = s.own(new seal.Ciphertext());
    c.ctCtMul = time(() => he.evaluator.square(ct, sq));
    c.relinearizations =
      time(() => {
        he.evaluator.square(ct, sq);
        he.evaluator.relinearizeInplace(sq, rk);
      }) - c.ctCtMul;
    const bytes = he.saveBytes(low, 'share');
    c.save = time(() => {
      he.saveBytes(low, 'share');
    });
    c.load = time(() => {
      s.release(he.loadBytes(s, bytes, 'share', 0, 'bench'));
    });
    const upload = he.encryptSymmetricBytes(enc, pt, 'mask');
    c.loadMask = time(() => {
      s.release(he.loadBytes(s, upload, 'mask', level, 'bench'));
    });
    return c;
  } finally {
    s.free();
    he.delete();
  }
}

/**
 * Run the preprocessing of `layers` for `images` random masks. Returns per-layer and
 * total figures (see PreprocessingBench). Throws SHAPE_MISMATCH when a conv layer has no
 * input shape, HE_PARAMS when parameters cannot be found.
 */
export async function benchPreprocessing(
  layers: readonly (Conv2dLayer | DenseLayer)[],
  opts: BenchOptions,
): Promise<PreprocessingBench> {
  const product = opts.product ?? [];
  const depth = product.some(Boolean) ? 2 : 1;
  const params = opts.params ?? chooseParams({ depth, maxAbsValue: 2 ** 14, precision: 1e-7 });
  const slots = params.polyModulusDegree / 2;
  const specs = layers.map((layer, i) => {
    const inputShape = opts.inputShapes?.[i];
    if (layer.kind === 'conv2d' && !inputShape)
      throw new PpnnError(
        'SHAPE_MISMATCH',
        `benchPreprocessing: conv layer '${layer.name}' needs opts.inputShapes[${i}]`,
      );
    return {
      spec: layer,
      inputShape: inputShape ?? [layer.kind === 'dense' ? layer.inFeatures : 0],
      product: product[i] === true,
    };
  });
  const steps = rotationStepsFor(specs, opts.layout, slots, [opts.images], { clientFold: true });
  let t = performance.now();
  const client = await HeClient.create(params, { rotationSteps: steps });
  const keygenMs = performance.now() - t;
  const setupBytes = client.setupMessage();
  t = performance.now();
  const server = await HeServer.create(params, setupBytes, { workers: opts.workers });
  const serverLoadMs = performance.now() - t;
  try {
    const opCostMs = await measureOpCosts(params, depth);
    const results: LayerBench[] = [];
    const repeat = Math.max(1, opts.repeat ?? 2);
    for (const [i, layer] of layers.entries())
      for (let rep = 0; rep < repeat; rep++) {
        const shape = specs[i]!.inputShape;
        const inSize = shape.reduce((a, b) => a * b, 1);
        const masks = Array.from({ length: opts.images }, () => rand(inSize));
        const withProduct = product[i] === true;
        const cBefore = client.stats.layers.find((l) => l.layer === layer.name),
          sBefore = server.stats.layers.find((l) => l.layer === layer.name);
        const t0 = performance.now();
        const cts = client.encryptMasks(layer, masks, opts.layout, { inputShape: shape, product: withProduct });
        const t1 = performance.now();
        const res = await server.evaluate(layer, cts, opts.images, {
          layout: opts.layout,
          sRange: 2 ** 12,
          product: withProduct ? { aRange: 1, tRange: 2 ** 12 } : undefined,
          inputShape: shape,
        });
        const t2 = performance.now();
        client.decryptShares(layer, res.response, opts.images);
        const t3 = performance.now();
        if (rep < repeat - 1) continue;
        const cs = delta(
            client.stats.layers.find((l) => l.layer === layer.name)!,
            cBefore,
          ),
          ss = delta(
            server.stats.layers.find((l) => l.layer === layer.name)!,
            sBefore,
          );
        const ops = addCounts(addCounts(zeroCounts(), cs.ops), ss.ops);
        // every ciphertext is saved once and loaded once (client → server and back)
        const predictedMs =
          OP_NAMES.reduce((a, k) => a + ops[k] * opCostMs[k], 0) +
          (cts.length + res.response.length) * (opCostMs.save + opCostMs.load);
        const clientMs = t1 - t0 + (t3 - t2),
          serverMs = t2 - t1;
        const plan = planLayer(layer, {
          images: opts.images,
          slots,
          layout: opts.layout,
          inputShape: layer.kind === 'conv2d' ? shape : undefined,
          steps,
          product: withProduct,
          clientFold: true, // the plan HeClient / HeServer chose (their preprocessing path)
        });
        const model = planCost(plan, { product: withProduct, n: params.polyModulusDegree });
        results.push({
          layer: layer.name,
          kind: layer.kind,
          description: `${opts.layout}: ${plan.description}`,
          clientMs,
          serverMs,
          ops,
          inputLevel: withProduct ? 2 : 1,
          outputLevel: 0,
          ciphertextsToServer: cts.length,
          ciphertextsToClient: res.response.length,
          bytesToServer: cs.bytesToServer,
          bytesToClient: cs.bytesToClient,
          predictedMs,
          ratio: (clientMs + serverMs) / predictedMs,
          plan: { utilisation: plan.utilisation, modelMs: model.ms, modelBytes: model.bytes },
          perImage: {
            ms: (clientMs + serverMs) / opts.images,
            bytes: (cs.bytesToServer + cs.bytesToClient) / opts.images,
          },
        });
      }
    const sum = (f: (l: LayerBench) => number) => results.reduce((a, l) => a + f(l), 0);
    const total = {
      clientMs: sum((l) => l.clientMs),
      serverMs: sum((l) => l.serverMs),
      ops: results.reduce((a, l) => addCounts(a, l.ops), zeroCounts()),
      ciphertextsToServer: sum((l) => l.ciphertextsToServer),
      ciphertextsToClient: sum((l) => l.ciphertextsToClient),
      bytesToServer: sum((l) => l.bytesToServer),
      bytesToClient: sum((l) => l.bytesToClient),
      predictedMs: sum((l) => l.predictedMs),
      perImage: { ms: sum((l) => l.perImage.ms), bytes: sum((l) => l.perImage.bytes) },
      ratioMeasuredToPredicted: 0,
    };
    total.ratioMeasuredToPredicted = (total.clientMs + total.serverMs) / total.predictedMs;
    return {
      params,
      layout: opts.layout,
      images: opts.images,
      workers: server.workers,
      setup: { keygenMs, serverLoadMs, bytes: setupBytes.length, rotationSteps: steps.length },
      opCostMs,
      layers: results,
      total,
      weightCache: server.reuse.weights,
      repeat,
    };
  } finally {
    client.delete();
    await server.delete();
  }
}

/** Figures of one layer since `before` (the stats accumulate over repeated batches). */
function delta(now: HeLayerStats, before: HeLayerStats | undefined): HeLayerStats {
  if (!before) return now;
  const ops = zeroCounts();
  for (const k of OP_NAMES) ops[k] = now.ops[k] - before.ops[k];
  return {
    layer: now.layer,
    ops,
    ms: now.ms - before.ms,
    bytesToServer: now.bytesToServer - before.bytesToServer,
    bytesToClient: now.bytesToClient - before.bytesToClient,
    ciphertexts: now.ciphertexts.slice(before.ciphertexts.length),
  };
}

const kb = (b: number) => `${(b / 1024).toFixed(0)} KiB`;
const mb = (b: number) => `${(b / 1048576).toFixed(2)} MiB`;

/** Text table of a bench result (pure). */
export function formatPreprocessingBench(b: PreprocessingBench): string {
  const lines: string[] = [];
  lines.push(
    `CKKS preprocessing — layout ${b.layout}, ${b.images} images, ${b.workers} worker(s), ` +
      `N=${b.params.polyModulusDegree}, primes [${b.params.coeffModulusBits.join(',')}], Δ=2^${b.params.scaleBits}`,
  );
  lines.push(
    `setup: keygen ${b.setup.keygenMs.toFixed(0)} ms, server load ${b.setup.serverLoadMs.toFixed(0)} ms, ` +
      `${mb(b.setup.bytes)} (${b.setup.rotationSteps} rotation keys + conjugation + public key)`,
  );
  lines.push(
    `op cost (ms): ${Object.entries(b.opCostMs)
      .filter(([, v]) => v > 0)
      .map(([k, v]) => `${k} ${v.toFixed(2)}`)
      .join(', ')}`,
  );
  const head = [
    'layer',
    'client ms',
    'server ms',
    'pred ms',
    'meas/pred',
    'model ms',
    'util',
    'ct×pt',
    'rot',
    'conj',
    'add',
    'enc',
    'levels',
    'cts ↑/↓',
    'bytes ↑',
    'bytes ↓',
    'ms/img',
    'bytes/img',
  ];
  const rows = b.layers.map((l) => [
    l.layer,
    l.clientMs.toFixed(0),
    l.serverMs.toFixed(0),
    l.predictedMs.toFixed(0),
    l.ratio.toFixed(2),
    l.plan.modelMs.toFixed(0),
    `${(100 * l.plan.utilisation).toFixed(0)} %`,
    String(l.ops.ctPtMul),
    String(l.ops.rotations),
    String(l.ops.conjugations),
    String(l.ops.additions),
    String(l.ops.encryptions),
    `${l.inputLevel}→${l.outputLevel}`,
    `${l.ciphertextsToServer}/${l.ciphertextsToClient}`,
    mb(l.bytesToServer),
    kb(l.bytesToClient),
    l.perImage.ms.toFixed(1),
    kb(l.perImage.bytes),
  ]);
  const t = b.total;
  rows.push([
    'TOTAL',
    t.clientMs.toFixed(0),
    t.serverMs.toFixed(0),
    t.predictedMs.toFixed(0),
    t.ratioMeasuredToPredicted.toFixed(2),
    '',
    '',
    String(t.ops.ctPtMul),
    String(t.ops.rotations),
    String(t.ops.conjugations),
    String(t.ops.additions),
    String(t.ops.encryptions),
    '',
    `${t.ciphertextsToServer}/${t.ciphertextsToClient}`,
    mb(t.bytesToServer),
    kb(t.bytesToClient),
    t.perImage.ms.toFixed(1),
    kb(t.perImage.bytes),
  ]);
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(width[i]!) : c.padStart(width[i]!))).join('  ');
  lines.push(fmt(head), ...rows.map(fmt));
  for (const l of b.layers) lines.push(`  ${l.layer}: ${l.description}`);
  lines.push(
    `measured / predicted (client+server vs Σ ops × per-op median + ciphertext save/load): ` +
      `${t.ratioMeasuredToPredicted.toFixed(2)}; figures of batch ${b.repeat} of ${b.repeat} per layer`,
  );
  const w = b.weightCache;
  lines.push(
    `weight cache: ${w.entries} plaintexts, ${mb(w.bytes)} (bound ${mb(w.maxBytes)}), ${w.hits} hits / ${w.misses} ` +
      `encodes, ${w.evictions} evictions`,
  );
  return lines.join('\n');
}
