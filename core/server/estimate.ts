/**
 * How much memory one served session needs, estimated from the model and the CKKS
 * parameters the server will propose — before any client connects, so that `ppnn serve`
 * can derive its session limit from the memory it may use and say so at start-up.
 *
 * Sizes (SEAL in memory, 8 bytes per coefficient; k = number of primes incl. special):
 *   ciphertext at the top level      2 · (k − 1) · N · 8
 *   one Galois / relinearisation key (k − 1) decomposition parts · 2 · k · N · 8
 * The Galois keys are those a client makes since client-side folding: the rotation steps of
 * the plans at the batch sizes a session uses — one image (cold) and the largest batch the
 * server admits (maxBatch), with client folding — plus conjugation (mnist, maxBatch 16: 5
 * keys where the old count, without folding, was 11). The
 * batch term is the request, its deserialised ciphertexts and the response of the largest
 * batch the server admits (maxBatch), counted twice because a frame is held as wire bytes
 * and as a decoded message while it is relayed to the session process. A fixed process
 * overhead (a Node process with its node-seal instance, modules, model and merged
 * networks) comes on top: a warm spare of `ppnn serve --model mnist` holds 115 MiB
 * (VmRSS, 2026-12-02; test/server/estimate-rss.test.ts checks estimate vs. measurement).
 */
import { chooseParamsForModel } from './params.ts';
import { planLayer, rotationStepsFor } from '../he/index.ts';
import type { Model } from '../model/types.ts';

/**
 * Process overhead of one session (Node runtime, node-seal WASM instance, modules, model):
 * the measured RSS of an idle warm session process for the bundled mnist model, bytes.
 * It was 48 MiB for a worker thread, which shared the runtime and modules with the server.
 */
export const SESSION_PROCESS_BYTES = 115 * 1024 * 1024;

export interface SessionEstimate {
  /** total bytes per session */
  bytes: number;
  keysBytes: number;
  batchBytes: number;
  processBytes: number;
  polyModulusDegree: number;
  primes: number;
  galoisKeys: number;
  /** ciphertexts per image, request + response, over all linear steps */
  ciphertextsPerImage: number;
  /** largest encoded pre.masks frame a client may send at maxBatch (sizes the frame limit) */
  maxRequestBytes: number;
}

/**
 * Estimate the memory one session of `model` needs when batches hold at most `maxBatch`
 * images. Returns the figures (bytes). Throws the planner's coded errors for a model the
 * CKKS provider cannot run.
 */
export function estimateSession(model: Model, maxBatch: number): SessionEstimate {
  const { params, layers, layout } = chooseParamsForModel(model);
  const N = params.polyModulusDegree;
  const k = params.coeffModulusBits.length;
  const slots = N / 2;
  const ctBytes = 2 * (k - 1) * N * 8;
  const keyBytes = (k - 1) * 2 * k * N * 8;
  // what the default client makes (core/protocol/ckks-provider.ts): its batches are min(64, maxBatch) and the
  // remainder; one image and maxBatch bound the common case (a client choosing other sizes is not bounded here)
  const galoisKeys =
    rotationStepsFor(layers, layout, slots, [...new Set([1, maxBatch])], { clientFold: true }).length + 1;
  let perBatchCts = 0,
    perImageCts = 0,
    requestCts = 0;
  for (const l of layers) {
    const one = planLayer(l.spec, { images: 1, slots, layout, inputShape: l.inputShape });
    const full = planLayer(l.spec, { images: maxBatch, slots, layout, inputShape: l.inputShape });
    // a correlated product (square activation) doubles the response
    const responses = full.outputs.length * (l.product ? 2 : 1);
    perBatchCts += full.inputCount + responses;
    requestCts += full.inputCount;
    perImageCts += one.inputCount + one.outputs.length * (l.product ? 2 : 1);
  }
  const keysBytes = galoisKeys * keyBytes + (params.depth > 1 ? keyBytes : 0) + ctBytes; // + public key
  const batchBytes = 2 * perBatchCts * ctBytes;
  const processBytes = SESSION_PROCESS_BYTES;
  return {
    bytes: keysBytes + batchBytes + processBytes,
    keysBytes,
    batchBytes,
    processBytes,
    polyModulusDegree: N,
    primes: k,
    galoisKeys,
    ciphertextsPerImage: perImageCts,
    // serialised ciphertexts are compressed by SEAL, so the in-memory size bounds the wire size
    maxRequestBytes: requestCts * ctBytes + 64 * 1024,
  };
}

/** Sessions that fit in `budgetBytes`, at least 1. */
export function sessionsForBudget(budgetBytes: number, est: SessionEstimate): number {
  return Math.max(1, Math.floor(budgetBytes / est.bytes));
}
