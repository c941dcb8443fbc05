/**
 * HeServer: the server's half of CKKS preprocessing. Holds the client's public key and
 * Galois keys (never a secret key), evaluates Enc(M·r − s) (and Enc((M·r)⊙a − t)) with
 * its weights, samples the masks s, a, t, and returns circuit-private ciphertexts (see
 * eval-core.ts). Independent output ciphertexts can run on a piscina worker pool.
 */
import type { Ciphertext } from 'node-seal';
import { PpnnError } from '../errors.ts';
import type { Conv2dLayer, DenseLayer, Shape } from '../model/types.ts';
import { HeContext } from './context.ts';
import { evaluateJob } from './eval-core.ts';
import type { EvalJob, EvalOutputJob, EvalResult, ServerKeys } from './eval-core.ts';
import { foldedOutputs, replicateOverGroups } from './client-fold.ts';
import { pickOutputs, planLayer } from './layout.ts';
import type { HePlan, Layout } from './layout.ts';
import { uniformMask } from './masks.ts';
import { WeightCache, ZeroPool, weightKey } from './reuse.ts';
import type { WeightCacheStats, ZeroPoolStats } from './reuse.ts';
import { activationLevels, applyOnlineActivation, checkActivation } from './online.ts';
import type { PolyActivation } from './online.ts';
import { checkUploadScaleBits, type CkksParams } from './params.ts';
import { EvalPool } from './pool.ts';
import { Scope, sealGuard } from './seal.ts';
import { buildJob, loadServerKeys } from './server-jobs.ts';
import { decodeSetup } from './setup.ts';
import type { HeStats } from './stats.ts';

export interface EvaluateOptions {
  readonly layout: Layout;
  /** s[b] uniform in [−sRange, sRange] (also in every unused slot) */
  readonly sRange: number;
  /** also return Enc((M·r)⊙a − t) with a ∈ ±aRange, t ∈ ±tRange (depth 2) */
  readonly product?: { readonly aRange: number; readonly tRange: number } | undefined;
  /** CHW input shape of a conv layer (default: square) */
  readonly inputShape?: Shape | undefined;
  /** the client encrypted its masks at Δ·2^b (HeClient.encryptMasks uploadScaleBits); default 0 */
  readonly uploadScaleBits?: number | undefined;
}

export interface EvaluateResult {
  response: Uint8Array[];
  s: Float64Array[];
  a?: Float64Array[];
  t?: Float64Array[];
}

export interface OnSharesOptions {
  readonly layout: Layout;
  /** s[b] uniform in [−sRange, sRange] (also in every unused slot) */
  readonly sRange: number;
  /** CHW input shape of a conv layer (default: square) */
  readonly inputShape?: Shape | undefined;
  /** the server's share y_s of the layer input, per image (default: zeros, e.g. the first layer) */
  readonly serverShare?: readonly Float64Array[] | undefined;
  /** A(y) = a·y² + b·y + c applied slot-wise to y = y_c + y_s before the linear map (default: identity) */
  readonly activation?: PolyActivation | undefined;
}

export interface ServerOptions {
  /** worker threads for evaluation; 0 or 1 = inline (default) */
  readonly workers?: number;
  /** encoded weights shared with other sessions (default: one cache for this server, freed by delete) */
  readonly weightCache?: WeightCache | undefined;
}

let sessionCounter = 0;

export class HeServer {
  readonly he: HeContext;
  readonly #keys: ServerKeys;
  readonly #pool: EvalPool | undefined;
  readonly #weights: WeightCache;
  readonly #ownWeights: boolean;
  readonly #zeros: ZeroPool;
  /** Galois steps the client sent keys for: plans are chosen among layouts that use only these */
  readonly steps: readonly number[];
  #deleted = false;

  private constructor(
    he: HeContext,
    keys: ServerKeys,
    pool: EvalPool | undefined,
    steps: readonly number[],
    weights: WeightCache | undefined,
  ) {
    this.he = he;
    this.#keys = keys;
    this.#pool = pool;
    this.steps = steps;
    this.#weights = weights ?? new WeightCache();
    this.#ownWeights = !weights;
    this.#zeros = new ZeroPool(he, keys.encryptor);
  }

  /**
   * Load the client's set-up message under `params`. Throws PARAMS_MISMATCH (message for
   * other parameters), CIPHERTEXT_INVALID (malformed keys), HE_PARAMS.
   */
  static async create(params: CkksParams, setupMessage: Uint8Array, opts: ServerOptions = {}): Promise<HeServer> {
    const he = await HeContext.create(params);
    try {
      const keys = loadServerKeys(he, setupMessage);
      const workers = opts.workers ?? 0;
      const pool =
        workers > 1
          ? new EvalPool(workers, `${process.pid}-${++sessionCounter}-${Date.now()}`, params, setupMessage)
          : undefined;
      try {
        await pool?.warm();
      } catch (e) {
        await pool?.destroy();
        throw e;
      }
      return new HeServer(he, keys, pool, decodeSetup(setupMessage, he.fingerprint).steps, opts.weightCache);
    } catch (e) {
      he.delete();
      throw e;
    }
  }

  get params(): CkksParams {
    return this.he.params;
  }
  get workers(): number {
    return this.#pool?.size ?? 1;
  }

  /**
   * Evaluate one linear layer (no bias) on the client's ciphertexts for B images.
   * Returns the response ciphertexts (shares, then products) and the masks drawn.
   * Throws SHAPE_MISMATCH (weights/shape), CIPHERTEXT_INVALID (wrong count, bad bytes),
   * PARAMS_MISMATCH (other parameters or level), HE_PARAMS (product without depth 2).
   */
  async evaluate(
    layer: Conv2dLayer | DenseLayer,
    cts: readonly Uint8Array[],
    B: number,
    opts: EvaluateOptions,
  ): Promise<EvaluateResult> {
    this.#checkCall(layer, opts.sRange, 'evaluate');
    const product = opts.product;
    if (product && (!(product.aRange > 0) || !(product.tRange > 0)))
      throw new RangeError('evaluate: product.aRange and product.tRange must be positive');
    if (product && this.params.depth < 2)
      throw new PpnnError('HE_PARAMS', `layer '${layer.name}': the correlated product needs depth-2 parameters`);
    const plan = this.#plan(layer, B, opts, { product: !!product, clientFold: true });
    checkCount(layer, plan, cts, B, opts.layout);
    const inputLevel = product ? 2 : 1;
    const uploadBits = opts.uploadScaleBits ?? 0;
    checkUploadScaleBits(this.params, inputLevel, uploadBits);
    const inputScale = this.he.scale * 2 ** uploadBits;
    // the next batch will need as many zeros again: make them while the client works
    const wantZeros = () => {
      this.#zeros.want(layer.name, inputLevel, plan.outputs.length);
      if (product) this.#zeros.want(layer.name, inputLevel - 1, plan.outputs.length);
    };
    const t0 = performance.now();
    this.he.stats.use(layer.name);

    const { sFull, outputs: plain } = this.#masked(plan, opts.sRange);
    const masks = (range: number) => plan.outputs.map(() => uniformMask(this.he.slots, range));
    const aFull = product ? masks(product.aRange) : undefined;
    const tFull = product ? masks(product.tRange) : undefined;
    // folded by the client: every slot keeps its own mask and a is copied over each fold group (client-fold.ts)
    const outputs: EvalOutputJob[] = plain.map((o, i) => ({
      ...o,
      product: product
        ? { halfA: replicateOverGroups(plan, i, aFull![i]!).map((x) => 0.5 * x), negT: tFull![i]!.map((x) => -x) }
        : undefined,
    }));

    const scope = new Scope();
    let result: EvalResult;
    try {
      // Inline: load (= fully validate) every ciphertext before any work. Pool: check the
      // envelopes here and let each worker load (and validate) the ciphertexts it uses —
      // loading costs ~3 ms per ciphertext, so doing it twice would eat the parallel gain.
      cts.forEach((bytes, i) => {
        const what = `layer '${layer.name}' ciphertext ${i}`;
        if (this.#pool) this.he.checkEnvelope(bytes, 'mask', what);
        this.#record(layer.name, 'toServer', 'mask', inputLevel, bytes);
      });
      if (!this.#pool) {
        const loaded: Ciphertext[] = cts.map((bytes, i) =>
          this.he.loadBytes(scope, bytes, 'mask', inputLevel, `layer '${layer.name}' ciphertext ${i}`),
        );
        const job = buildJob(layer, plan, inputLevel, outputs, inputScale);
        result = evaluateJob(this.he, this.#keys, (i) => loaded[i]!, job, {
          weights: this.#weights,
          zeros: this.#zeros,
        });
      } else {
        const { result: r, ops } = await this.#pool.run(layer, plan, inputLevel, outputs, cts, inputScale);
        this.he.stats.merge(ops);
        result = r;
      }
    } finally {
      scope.free();
      if (!this.#pool) wantZeros();
    }
    const response = [...result.share, ...result.product];
    result.share.forEach((b) => this.#record(layer.name, 'toClient', 'share', 0, b));
    result.product.forEach((b) => this.#record(layer.name, 'toClient', 'product', 0, b));
    this.he.stats.addTime(layer.name, performance.now() - t0);
    // s and t: sums over each output's fold group; a: its value at the output slot
    const out: EvaluateResult = { response, s: foldedOutputs(plan, B, sFull) };
    if (aFull && tFull) {
      out.a = pickOutputs(plan, B, aFull);
      out.t = foldedOutputs(plan, B, tFull);
    }
    return out;
  }

  /**
   * gazelle's online linear layer: Enc(M·A(y_c + y_s) − s) from the client's Enc(y_c)
   * (encryptMasks with `online`, level 2 with an activation, else 1) and the server's
   * share y_s — see online.ts. Same finish (circuit privacy, level 0) as evaluate. Runs
   * inline even on a pooled server. Throws as evaluate, plus SHAPE_MISMATCH (serverShare
   * sizes), RangeError (bad activation), HE_PARAMS (activation without depth 2 or without
   * the client's relinearization keys).
   */
  async evaluateOnShares(
    layer: Conv2dLayer | DenseLayer,
    cts: readonly Uint8Array[],
    B: number,
    opts: OnSharesOptions,
  ): Promise<{ response: Uint8Array[]; s: Float64Array[] }> {
    this.#checkCall(layer, opts.sRange, 'evaluateOnShares');
    const act = opts.activation;
    if (act) checkActivation(act);
    if (act && this.params.depth < 2)
      throw new PpnnError('HE_PARAMS', `layer '${layer.name}': an online activation needs depth-2 parameters`);
    if (activationLevels(act) > 0 && !this.#keys.relin)
      throw new PpnnError(
        'HE_PARAMS',
        `layer '${layer.name}': the client's set-up message has no relinearization keys (HeClient.create with ` +
          `relinKeys: true)`,
      );
    const plan = this.#plan(layer, B, opts, {});
    const share = opts.serverShare ?? Array.from({ length: B }, () => new Float64Array(plan.inputSize));
    if (!Array.isArray(share) || share.length !== B)
      throw new PpnnError(
        'SHAPE_MISMATCH',
        `layer '${layer.name}': serverShare must hold ${B} vectors, got ${(share as { length?: number })?.length}`,
      );
    share.forEach((v, b) => {
      if (!(v instanceof Float64Array) || v.length !== plan.inputSize)
        throw new PpnnError(
          'SHAPE_MISMATCH',
          `layer '${layer.name}': serverShare ${b} has ${(v as { length?: number })?.length} values, expected ` +
            `${plan.inputSize}`,
        );
      for (const x of v) if (!Number.isFinite(x)) throw new RangeError(`evaluateOnShares: serverShare ${b} holds ${x}`);
    });
    checkCount(layer, plan, cts, B, opts.layout);
    const inputLevel = act ? 2 : 1;
    const t0 = performance.now();
    this.he.stats.use(layer.name);
    const { sFull, outputs } = this.#masked(plan, opts.sRange);
    const scope = new Scope();
    let result: EvalResult;
    try {
      const loaded: Ciphertext[] = cts.map((bytes, i) =>
        this.he.loadBytes(scope, bytes, 'mask', inputLevel, `layer '${layer.name}' ciphertext ${i}`),
      );
      cts.forEach((bytes) => this.#record(layer.name, 'toServer', 'mask', inputLevel, bytes));
      const inputs = applyOnlineActivation(this.he, scope, this.#keys.relin, plan, loaded, inputLevel, share, act);
      const job = {
        ...buildJob(layer, plan, inputs.level, outputs),
        weightFactor: inputs.weightFactor,
        inputScale: inputs.scale,
      };
      result = evaluateJob(this.he, this.#keys, (i) => inputs.cts[i]!, job, {
        weights: this.#weights,
        zeros: this.#zeros,
      });
    } finally {
      scope.free();
      this.#zeros.want(layer.name, inputLevel - activationLevels(act), plan.outputs.length);
    }
    result.share.forEach((b) => this.#record(layer.name, 'toClient', 'share', 0, b));
    this.he.stats.addTime(layer.name, performance.now() - t0);
    return { response: result.share, s: pickOutputs(plan, B, sFull) };
  }

  /** The checks both entry points start with: a live server, a supported layer, a positive mask range. */
  #checkCall(layer: Conv2dLayer | DenseLayer, sRange: number, caller: string): void {
    if (this.#deleted) throw new PpnnError('INTERNAL', 'HeServer used after delete()');
    checkLayer(layer);
    if (!(sRange > 0) || !Number.isFinite(sRange))
      throw new RangeError(`${caller}: sRange must be positive, got ${sRange}`);
  }

  /** The layer's plan for B images under this server's slots and Galois steps. */
  #plan(
    layer: Conv2dLayer | DenseLayer,
    B: number,
    opts: { readonly layout: Layout; readonly inputShape?: Shape | undefined },
    extra: { product?: boolean; clientFold?: boolean },
  ): HePlan {
    const base = { images: B, slots: this.he.slots, layout: opts.layout, inputShape: opts.inputShape };
    return planLayer(layer, { ...base, steps: this.steps, ...extra });
  }

  /** The output masks s (one full slot vector per response ciphertext) and the jobs that subtract them. */
  #masked(plan: HePlan, sRange: number): { sFull: Float64Array[]; outputs: EvalOutputJob[] } {
    const sFull = plan.outputs.map(() => uniformMask(this.he.slots, sRange));
    const outputs = plan.outputs.map((o, i) => ({
      index: i,
      terms: o.terms,
      foldSteps: o.foldSteps,
      giantStep: o.giantStep,
      negMask: sFull[i]!.map((x) => -x),
    }));
    return { sFull, outputs };
  }

  /** One ciphertext's bytes into the layer's traffic stats (a response is at level 0, one prime). */
  #record(
    layer: string,
    direction: 'toServer' | 'toClient',
    role: 'mask' | 'share' | 'product',
    level: number,
    bytes: Uint8Array,
  ): void {
    this.he.stats.record({ layer, direction, role, level, primes: level + 1, bytes: bytes.length });
  }

  get stats(): HeStats {
    return this.he.stats.snapshot();
  }

  /** Encoded-weight cache and zero pool figures (memory reported by the bench and the stats). */
  get reuse(): { weights: WeightCacheStats; zeros: ZeroPoolStats } {
    return { weights: this.#weights.stats(), zeros: this.#zeros.stats() };
  }

  /** Free SEAL objects and stop the worker pool. Safe to call twice. */
  async delete(): Promise<void> {
    this.#deleted = true;
    this.#zeros.close();
    if (this.#ownWeights) this.#weights.clear();
    this.he.delete();
    await this.#pool?.destroy();
  }
}

/** CIPHERTEXT_INVALID unless the client sent exactly the plan's input ciphertexts. */
function checkCount(
  layer: Conv2dLayer | DenseLayer,
  plan: HePlan,
  cts: readonly Uint8Array[],
  B: number,
  layout: Layout,
): void {
  if (!Array.isArray(cts) || cts.length !== plan.inputCount)
    throw new PpnnError(
      'CIPHERTEXT_INVALID',
      `layer '${layer.name}': expected ${plan.inputCount} ciphertexts for ${B} images (${layout}), got ` +
        `${(cts as { length?: number })?.length}`,
    );
}

function checkLayer(layer: Conv2dLayer | DenseLayer): void {
  if (layer.kind === 'dense') {
    if (!(layer.weight instanceof Float64Array) || layer.weight.length !== layer.inFeatures * layer.outFeatures)
      throw new PpnnError(
        'SHAPE_MISMATCH',
        `dense '${layer.name}': weight has ${layer.weight?.length} values, expected ` +
          `${layer.inFeatures}×${layer.outFeatures}`,
      );
  } else if (layer.kind === 'conv2d') {
    const n = layer.outChannels * layer.inChannels * layer.kernel[0] * layer.kernel[1];
    if (!(layer.weight instanceof Float64Array) || layer.weight.length !== n)
      throw new PpnnError(
        'SHAPE_MISMATCH',
        `conv '${layer.name}': weight has ${layer.weight?.length} values, expected ${n}`,
      );
  } else
    throw new PpnnError(
      'MODEL_UNSUPPORTED_LAYER',
      `CKKS preprocessing supports conv2d and dense, not ${(layer as { kind: string }).kind}`,
    );
  for (const w of layer.weight)
    if (!Number.isFinite(w)) throw new PpnnError('MODEL_INVALID', `layer '${layer.name}': non-finite weight`);
}
