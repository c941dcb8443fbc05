/**
 * CryptoNets baseline (Gilad-Bachrach et al., 2016) on our CKKS layer: pure HE,
 * non-interactive. The client encrypts its images, the server evaluates the whole
 * (merged, square-activated) network on the ciphertexts, the client decrypts the logits.
 *
 * Layout: images batched across the slots — slot j of every ciphertext belongs to image j,
 * one ciphertext per input value (pixel), up to N/2 images per batch. Every layer is then
 * slot-wise arithmetic: no rotations, so no Galois keys; only relinearisation keys.
 *
 * Encryption: symmetric (secret-key) and seeded. Nobody but the client ever encrypts (the
 * server never re-randomises: CryptoNets has no circuit-privacy step), so no public key
 * needs to travel; and a seeded symmetric ciphertext replaces its uniformly random half by
 * a 64-byte PRNG seed, halving the dominant upload. Security is the same RLWE assumption.
 * Everything on the wire is SEAL's own zstd-compressed serialisation (HeContext's bare format:
 * client and server share one process and one parameter set, so no envelope); we count its bytes.
 *
 * Engine: client and server each hold an HeContext (core/he/context.ts) under the network's
 * CkksNetworkParams; every encryption, operation and decryption runs through it and is counted
 * there, in the report's own vocabulary (core/report/he-ops.ts): the counts are added, not mapped.
 */
import type { Ciphertext } from 'node-seal';
import { PpnnError } from '../errors.ts';
import { mergeModel } from '../model/merge.ts';
import type { Model } from '../model/types.ts';
import { shapeSize } from '../model/types.ts';
import type { HeOpCounts, LayerLevelTrace } from '../report/types.ts';
import { HeContext } from '../he/context.ts';
import type { CkksNetworkParams } from '../he/params.ts';
import { Scope, sealGuard } from '../he/seal.ts';
import { addCounts, zeroCounts } from '../he/stats.ts';
import { evaluateNetwork } from './cryptonets-eval.ts';
import { chooseCryptoNetsParams, cryptoNetsLayers } from './cryptonets-params.ts';
import type { CryptoNetsLayer, CryptoNetsParams } from './cryptonets-params.ts';

export interface CryptoNetsProgress {
  layer: string;
  index: number;
  total: number;
  /** chain index of the layer's output ciphertexts (0 = only q0 left) */
  level: number;
}

export interface CryptoNetsOptions {
  onProgress?: (ev: CryptoNetsProgress) => void;
  signal?: AbortSignal;
}

export interface CryptoNetsResult {
  /** one logit vector per input image, in input order */
  logits: Float64Array[];
  params: { polyModulusDegree: number; coeffModulusBits: number[]; scaleBits: number; slots: number };
  clientMs: number;
  serverMs: number;
  bytesClientToServer: number;
  bytesServerToClient: number;
  he: HeOpCounts;
  /**
   * Per layer of the merged network, preceded by the encrypted input ('input'): chain
   * index of the output ciphertexts (`levels`, one entry per batch level seen), levels
   * consumed, ciphertext count (all batches), and their size (in-memory SEAL size; for 'input'
   * and the last layer, the compressed bytes actually sent).
   */
  levels: LayerLevelTrace[];
}

const YIELD_EVERY_MS = 100;

/** The engine's parameter set for `p` (validated by HeContext.create). */
function networkParams(p: CryptoNetsParams): CkksNetworkParams {
  return {
    scheme: 'ckks',
    purpose: 'network',
    polyModulusDegree: p.polyModulusDegree,
    coeffModulusBits: [...p.coeffModulusBits],
    scaleBits: p.scaleBits,
    depth: p.depth,
    securityLevel: 128,
  };
}

function validate(model: Model, images: Float64Array[]): void {
  if (!Array.isArray(images)) throw new TypeError('runCryptoNets: images must be an array of Float64Array');
  const size = shapeSize(model.inputShape);
  images.forEach((x, j) => {
    if (!(x instanceof Float64Array)) throw new TypeError(`runCryptoNets: images[${j}] is not a Float64Array`);
    if (x.length !== size)
      throw new PpnnError(
        'SHAPE_MISMATCH',
        `runCryptoNets: images[${j}] has ${x.length} values, model '${model.name}' expects ` +
          `[${model.inputShape.join(',')}] = ${size}`,
      );
    for (const v of x)
      if (!Number.isFinite(v)) throw new RangeError(`runCryptoNets: images[${j}] holds a non-finite value`);
  });
}

/**
 * Run CryptoNets on `images` (model-ready inputs): merge `model`, choose parameters,
 * encrypt (client), evaluate (server), decrypt (client), batch by batch of N/2 images.
 * Returns logits, costs, HE op counts and the per-layer level trace. Throws
 * MODEL_UNSUPPORTED_LAYER (relu, maxpool …), SHAPE_MISMATCH, HE_PARAMS (network too deep
 * for 128-bit security), CANCELLED (signal), HE_ERROR; TypeError/RangeError on bad
 * arguments. Every SEAL object is freed before it returns or throws.
 */
export async function runCryptoNets(
  model: Model,
  images: Float64Array[],
  opts: CryptoNetsOptions = {},
): Promise<CryptoNetsResult> {
  validate(model, images);
  const network = mergeModel(model).model;
  const layers = cryptoNetsLayers(network);
  const p = chooseCryptoNetsParams(network, layers);
  const trace = new Map<string, LayerLevelTrace>();
  const traceOf = (layer: string): LayerLevelTrace => {
    let t = trace.get(layer);
    if (!t) {
      t = { layer, levelsUsed: 0, levels: [], ciphertexts: 0, bytes: 0 };
      trace.set(layer, t);
    }
    return t;
  };
  const result: CryptoNetsResult = {
    logits: [],
    params: {
      polyModulusDegree: p.polyModulusDegree,
      coeffModulusBits: [...p.coeffModulusBits],
      scaleBits: p.scaleBits,
      slots: p.slots,
    },
    clientMs: 0,
    serverMs: 0,
    bytesClientToServer: 0,
    bytesServerToClient: 0,
    he: zeroCounts(),
    levels: [],
  };
  if (images.length === 0) return result;
  const params = networkParams(p);
  const clientScope = new Scope();
  const serverScope = new Scope();
  let client: HeContext<CkksNetworkParams> | undefined;
  let server: HeContext<CkksNetworkParams> | undefined;
  let lastYield = performance.now();
  const tick = async (): Promise<void> => {
    if (opts.signal?.aborted) throw new PpnnError('CANCELLED', 'cryptonets run cancelled');
    if (performance.now() - lastYield < YIELD_EVERY_MS) return;
    await new Promise<void>((r) => setImmediate(r));
    lastYield = performance.now();
    if (opts.signal?.aborted) throw new PpnnError('CANCELLED', 'cryptonets run cancelled');
  };
  try {
    // ---- client: keys (the relinearisation keys go to the server once, seeded) ----
    let t0 = performance.now();
    client = await HeContext.create(params);
    const cc = client;
    const keys = sealGuard('generating CKKS keys', () => {
      const keygen = clientScope.own(new cc.seal.KeyGenerator(cc.context));
      const secret = clientScope.own(keygen.secretKey());
      // node-seal's Encryptor constructor insists on a public key; it is never sent
      const publicKey = clientScope.own(keygen.createPublicKey());
      const rk = clientScope.own(keygen.createRelinKeysSerializable());
      const relinBytes = rk.saveToArray(cc.seal.ComprModeType.zstd) as Uint8Array;
      clientScope.release(rk);
      const encryptor = clientScope.own(new cc.seal.Encryptor(cc.context, publicKey, secret));
      const decryptor = clientScope.own(new cc.seal.Decryptor(cc.context, secret));
      clientScope.release(keygen);
      return { relinBytes, encryptor, decryptor };
    });
    result.bytesClientToServer += keys.relinBytes.length;
    result.clientMs += performance.now() - t0;

    // ---- server: its own context, the relinearisation keys ----
    t0 = performance.now();
    server = await HeContext.create(params);
    const sc = server;
    const relinKeys = serverScope.own(new sc.seal.RelinKeys());
    sealGuard(
      'loading relinearisation keys',
      () => relinKeys.loadFromArray(sc.context, keys.relinBytes),
      'CIPHERTEXT_INVALID',
    );
    result.serverMs += performance.now() - t0;

    const inputSize = shapeSize(network.inputShape);
    const total = layers.length;
    for (let start = 0; start < images.length; start += p.slots) {
      const batch = images.slice(start, start + p.slots);
      // ---- client: one seeded symmetric ciphertext per pixel, values of the batch in the slots ----
      t0 = performance.now();
      const upload: Uint8Array[] = [];
      const values = new Float64Array(batch.length);
      for (let i = 0; i < inputSize; i++) {
        for (let j = 0; j < batch.length; j++) values[j] = batch[j]![i]!;
        const pt = cc.encode(clientScope, values, cc.scale, cc.topLevel);
        upload.push(cc.encryptSymmetricBytes(keys.encryptor, pt, null));
        clientScope.release(pt);
        result.bytesClientToServer += upload[i]!.length;
        if (i % 64 === 0) {
          result.clientMs += performance.now() - t0;
          await tick();
          t0 = performance.now();
        }
      }
      result.clientMs += performance.now() - t0;
      const inputTrace = traceOf('input');
      inputTrace.ciphertexts += inputSize;
      inputTrace.bytes += upload.reduce((a, u) => a + u.length, 0);
      if (!inputTrace.levels.includes(p.depth)) inputTrace.levels.push(p.depth);

      // ---- server: load, evaluate the whole network, serialise the logits ----
      t0 = performance.now();
      // inputs stay serialised until the first layer needs them, one at a time (see evaluateNetwork)
      const load = (i: number): Ciphertext => {
        const ct = sc.loadBytes(serverScope, upload[i]!, null, p.depth, `cryptonets input ciphertext ${i}`);
        upload[i] = new Uint8Array(0); // the server keeps the ciphertext, not the bytes
        return ct;
      };
      const bytesPerPrime = 2 * p.polyModulusDegree * 8;
      const out = await evaluateNetwork(
        sc,
        relinKeys,
        serverScope,
        layers,
        { shape: network.inputShape, level: p.depth, load },
        {
          tick,
          layerDone: (d) => {
            const t = traceOf(d.layer);
            t.levelsUsed = d.levelsUsed;
            if (!t.levels.includes(d.level)) t.levels.push(d.level);
            t.ciphertexts += d.ciphertexts;
            t.bytes += d.ciphertexts * bytesPerPrime * (d.level + 1);
            opts.onProgress?.({ layer: d.layer, index: d.index, total, level: d.level });
          },
        },
      );
      const download = out.cts.map((ct) => sc.saveBytes(ct, null));
      for (const ct of out.cts) serverScope.release(ct);
      result.serverMs += performance.now() - t0;
      const sent = download.reduce((a, u) => a + u.length, 0);
      result.bytesServerToClient += sent;
      if (layers.length > 0) {
        const last = traceOf(layers[layers.length - 1]!.name);
        // the last layer's outputs are what was sent
        last.bytes += sent - out.cts.length * bytesPerPrime * (out.level + 1);
      }

      // ---- client: decrypt, decode, read slot j for image j ----
      t0 = performance.now();
      const logits = batch.map(() => new Float64Array(download.length));
      const dec = clientScope.own(new cc.seal.Plaintext());
      download.forEach((bytes, k) => {
        // the chain is exactly as deep as the network: the logits arrive at level 0
        const ct = cc.loadBytes(clientScope, bytes, null, 0, `cryptonets logit ciphertext ${k}`);
        cc.decryptTo(keys.decryptor, ct, dec);
        clientScope.release(ct);
        const slots = cc.decode(dec);
        for (let j = 0; j < batch.length; j++) logits[j]![k] = slots[j]!;
      });
      clientScope.release(dec);
      result.clientMs += performance.now() - t0;
      result.logits.push(...logits);
    }
    result.levels = [...trace.values()];
    // one count per operation, made by the engine: the client's encryptions and decryptions, the server's evaluation
    for (const he of [client, server]) addCounts(result.he, he.stats.snapshot().totals.ops);
    return result;
  } finally {
    serverScope.free();
    clientScope.free();
    server?.delete();
    client?.delete();
  }
}

export type { CryptoNetsLayer, CryptoNetsParams };
