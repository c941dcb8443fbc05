/**
 * The plan's prediction for `cryptonets` (core/baselines/cryptonets*.ts), whose one batch
 * takes 7–40 minutes: from op counts, not a run. The op counts are those the evaluator makes
 * (cryptonets-eval.ts), counted from the merged network and the parameters: per affine
 * output one ct×pt product per weight that survives rounding at the level's prime (plus an
 * addition for all but the first), a rescale and a bias addition; per square a ct×ct
 * product, a relinearisation and a rescale (a poly: one more product and rescale, a
 * mod-switch); one constant plaintext per product, or per distinct weight where the
 * evaluator caches them (a convolution whose weights are reused and fit its cache). Each op
 * costs its median measured now at the top level of the same parameters, scaled by the
 * primes left at its level (SEAL's ops are linear in them; key switching a little more).
 * Bytes: the relinearisation keys, the seeded upload and the level-0 logits, each made and
 * serialised for real (zstd) once and multiplied by their counts.
 */
import type { Ciphertext } from 'node-seal';
import { chooseCryptoNetsParams, cryptoNetsLayers, layerDepth } from '../baselines/cryptonets-params.ts';
import type { CryptoNetsLayer, CryptoNetsParams } from '../baselines/cryptonets-params.ts';
import { PpnnError } from '../errors.ts';
import { medianMs } from '../he/bench.ts';
import { Scope, loadSeal } from '../he/seal.ts';
import { mergeModel } from '../model/merge.ts';
import { layerOutputShape } from '../model/shapes.ts';
import type { Model, Shape } from '../model/types.ts';
import type { OpName } from '../report/he-ops.ts';
import { shapeSize } from '../model/types.ts';
import type { SchemePlan } from './predict-parts.ts';

/** The ops the evaluator makes at a chain level, named as in the one op vocabulary (core/report/he-ops.ts). */
export type CryptoNetsLevelOp = Extract<
  OpName,
  'ctPtMul' | 'additions' | 'rescales' | 'ctCtMul' | 'relinearizations' | 'modSwitches'
>;
export const CRYPTONETS_LEVEL_OPS: readonly CryptoNetsLevelOp[] = [
  'ctPtMul',
  'additions',
  'rescales',
  'ctCtMul',
  'relinearizations',
  'modSwitches',
];

/** Per-op counts by chain level (index = level); a run reports each one's sum under the same name. */
export interface CryptoNetsOpCounts extends Record<CryptoNetsLevelOp, number[]> {
  /** constant plaintexts built (ConstantEncoder: a plaintext load, not an encode, so no op of the vocabulary) */
  constants: number[];
  encryptions: number;
  decryptions: number;
}

/** Count the evaluator's ops for one batch (the counts do not depend on how many images share the slots). */
export function cryptoNetsOpCounts(network: Model, layers: readonly CryptoNetsLayer[], p: CryptoNetsParams) {
  const L = p.depth + 1;
  const z = () => new Array<number>(L).fill(0);
  const c: CryptoNetsOpCounts = {
    ctPtMul: z(),
    additions: z(),
    rescales: z(),
    ctCtMul: z(),
    relinearizations: z(),
    modSwitches: z(),
    constants: z(),
    encryptions: shapeSize(network.inputShape),
    decryptions: 0,
  };
  let level = p.depth,
    shape: Shape = network.inputShape;
  for (const l of layers) {
    const out = layerOutputShape(l, shape);
    if (l.kind === 'conv2d' || l.kind === 'dense') {
      const q = 2 ** p.coeffModulusBits[level]!;
      const live = (w: number) => Math.round(Math.abs(w) * q) !== 0;
      const terms = affineTerms(l, shape, out, live);
      const reused = l.kind === 'conv2d' && shapeSize(out) / l.outChannels > 1;
      const cached = reused && l.weight.length * 2 * p.slots * 8 * (level + 1) <= 384 * 2 ** 20;
      let total = 0;
      for (const t of terms) {
        const k = Math.max(1, t); // no surviving weight: one product by 1/q
        total += k;
        c.ctPtMul[level]! += k;
        c.additions[level]! += k - 1;
      }
      c.constants[level]! += cached ? new Set(Array.from(l.weight).filter(live)).size : total;
      c.rescales[level]! += terms.length;
      // a bias is added (a constant built) per output whose bias is not zero; conv outputs are channel-major
      const per = terms.length / l.bias.length;
      const biased = terms.filter((_, i) => l.bias[Math.floor(i / per)] !== 0).length;
      c.additions[level - 1]! += biased;
      c.constants[level - 1]! += biased;
    } else if (l.kind === 'square' || l.kind === 'poly') {
      const n = shapeSize(out);
      const a = l.kind === 'poly' ? l.a : 1;
      const depth = layerDepth(l);
      if (a === 0) {
        c.ctPtMul[level]! += n;
        c.rescales[level]! += n;
      } else if (depth === 1) {
        c.ctCtMul[level]! += n;
        c.relinearizations[level]! += n;
        c.rescales[level]! += n;
      } else {
        c.ctPtMul[level]! += n;
        c.rescales[level]! += n;
        c.additions[level - 1]! += l.kind === 'poly' && l.b !== 0 ? n : 0;
        c.modSwitches[level]! += n;
        c.ctCtMul[level - 1]! += n;
        c.relinearizations[level - 1]! += n;
        c.rescales[level - 1]! += n;
      }
      if (l.kind === 'poly' && l.c !== 0) c.additions[level - depth]! += n;
    }
    level -= layerDepth(l);
    shape = out;
  }
  c.decryptions = shapeSize(shape);
  return c;
}

/** Number of surviving weights of each output of an affine layer (output order). */
function affineTerms(
  l: Extract<CryptoNetsLayer, { kind: 'conv2d' | 'dense' }>,
  inShape: Shape,
  out: Shape,
  live: (w: number) => boolean,
): number[] {
  if (l.kind === 'dense') {
    return Array.from({ length: l.outFeatures }, (_, o) => {
      let k = 0;
      for (let i = 0; i < l.inFeatures; i++) if (live(l.weight[o * l.inFeatures + i]!)) k++;
      return k;
    });
  }
  const [C, H, W] = inShape as [number, number, number];
  const [kh, kw] = l.kernel,
    [sh, sw] = l.stride,
    [ph, pw] = l.padding;
  const [, OH, OW] = out as [number, number, number];
  const terms: number[] = [];
  for (let o = 0; o < l.outChannels; o++)
    for (let oy = 0; oy < OH; oy++)
      for (let ox = 0; ox < OW; ox++) {
        let k = 0;
        for (let ch = 0; ch < C; ch++)
          for (let a = 0; a < kh; a++) {
            const iy = oy * sh + a - ph;
            if (iy < 0 || iy >= H) continue;
            for (let b = 0; b < kw; b++) {
              const ix = ox * sw + b - pw;
              if (ix >= 0 && ix < W && live(l.weight[((o * C + ch) * kh + a) * kw + b]!)) k++;
            }
          }
        terms.push(k);
      }
  return terms;
}

/** Per-op medians at the top level of `p` and the real sizes of keys, one upload and one logit. */
async function measure(p: CryptoNetsParams, reps: number) {
  const seal = await loadSeal();
  const s = new Scope();
  try {
    const parms = s.own(new seal.EncryptionParameters(seal.SchemeType.ckks));
    parms.setPolyModulusDegree(p.polyModulusDegree);
    parms.setCoeffModulus(s.own(seal.CoeffModulus.Create(p.polyModulusDegree, Int32Array.from(p.coeffModulusBits))));
    const context = s.own(new seal.SEALContext(parms, true, seal.SecLevelType.tc128));
    if (!context.parametersSet()) throw new PpnnError('HE_PARAMS', 'SEAL rejected the cryptonets parameters');
    const encoder = s.own(new seal.CKKSEncoder(context));
    const ev = s.own(new seal.Evaluator(context));
    const kg = s.own(new seal.KeyGenerator(context));
    const sk = s.own(kg.secretKey()),
      pk = s.own(kg.createPublicKey());
    const rkSer = s.own(kg.createRelinKeysSerializable());
    const relinBytes = (rkSer.saveToArray(seal.ComprModeType.zstd) as Uint8Array).length;
    const rk = s.own(kg.createRelinKeys());
    const enc = s.own(new seal.Encryptor(context, pk, sk)),
      dec = s.own(new seal.Decryptor(context, sk));
    const values = Float64Array.from({ length: p.slots }, () => Math.random());
    const pt = s.own(new seal.Plaintext());
    const scale = 2 ** p.scaleBits;
    let uploadBytes = 0;
    const encrypt = medianMs(() => {
      encoder.encode(values, scale, pt);
      const ser = enc.encryptSymmetricSerializable(pt);
      uploadBytes = (ser.saveToArray(seal.ComprModeType.zstd) as Uint8Array).length;
      ser.delete();
    }, reps);
    const ct = s.own(new seal.Ciphertext());
    enc.encryptSymmetric(pt, ct);
    const ctBytes = ct.saveToArray(seal.ComprModeType.zstd) as Uint8Array;
    const tmp = s.own(new seal.Ciphertext());
    const load = medianMs(() => tmp.loadFromArray(context, ctBytes), reps);
    const w = s.own(new seal.Plaintext());
    encoder.encode(
      Float64Array.from({ length: p.slots }, () => 0.01),
      2 ** p.coeffModulusBits[p.depth]!,
      w,
    );
    const wBytes = w.saveToArray(seal.ComprModeType.none) as Uint8Array;
    const wt = s.own(new seal.Plaintext());
    const constant = medianMs(() => wt.loadFromArray(context, wBytes), reps);
    const mulPlain = medianMs(() => ev.multiplyPlain(ct, w, tmp), reps);
    const add = medianMs(() => ev.add(ct, ct, tmp), reps);
    const rescale =
      medianMs(() => {
        ev.multiplyPlain(ct, w, tmp);
        ev.rescaleToNextInplace(tmp);
      }, reps) - mulPlain;
    const square = medianMs(() => ev.square(ct, tmp), reps);
    const relin =
      medianMs(() => {
        ev.square(ct, tmp);
        ev.relinearizeInplace(tmp, rk);
      }, reps) - square;
    const modSwitch = medianMs(() => ev.cipherModSwitchToNext(ct, tmp), reps);
    const low: Ciphertext = s.own(new seal.Ciphertext());
    ev.cipherModSwitchTo(ct, s.own(s.own(context.lastContextData()).parmsId()), low);
    const logitBytes = (low.saveToArray(seal.ComprModeType.zstd) as Uint8Array).length;
    const out = s.own(new seal.Plaintext());
    const decrypt = medianMs(() => {
      dec.decrypt(low, out);
      encoder.decodeFloat64(out);
    }, reps);
    // named as the counts they multiply (the one op vocabulary), plus load and constant (plaintext load)
    const ms = {
      encryptions: encrypt,
      load,
      constant,
      ctPtMul: mulPlain,
      additions: add,
      rescales: rescale,
      ctCtMul: square,
      relinearizations: relin,
      modSwitches: modSwitch,
      decryptions: decrypt,
    };
    return { ms, relinBytes, uploadBytes, logitBytes };
  } finally {
    s.free();
  }
}

/** Predict a cryptonets run of `images` images (one batch per N/2 images; every figure is per image). */
export async function predictCryptoNets(
  model: Model,
  label: string,
  images: number,
  onLog: (s: string) => void,
): Promise<SchemePlan> {
  const m0 = performance.now();
  const network = mergeModel(model).model;
  const mergeMs = performance.now() - m0;
  const layers = cryptoNetsLayers(network);
  const p = chooseCryptoNetsParams(network, layers);
  onLog(`cryptonets: N=${p.polyModulusDegree}, depth ${p.depth}, counting ops and measuring their costs…`);
  const c = cryptoNetsOpCounts(network, layers, p);
  const m = await measure(p, 5);
  const top = p.depth + 1;
  // an op at chain level l works on l + 1 primes (the top level has depth + 1)
  const at = (counts: number[], cost: number): number => counts.reduce((a, n, l) => a + n * cost * ((l + 1) / top), 0);
  const batchMs =
    c.encryptions * (m.ms.encryptions + m.ms.load) +
    CRYPTONETS_LEVEL_OPS.reduce((a, k) => a + at(c[k], m.ms[k]), 0) +
    at(c.constants, m.ms.constant) +
    c.decryptions * m.ms.decryptions;
  const batches = Math.ceil(Math.max(1, images) / p.slots);
  const n = Math.max(1, images);
  return {
    scheme: 'cryptonets',
    label,
    ok: true,
    batch: Math.min(n, p.slots),
    params: { polyModulusDegree: p.polyModulusDegree, coeffModulusBits: p.coeffModulusBits, scaleBits: p.scaleBits },
    stages: {
      merging: { ms: mergeMs, bytesClientToServer: 0, bytesServerToClient: 0 },
      setup: { ms: 0, bytesClientToServer: 0, bytesServerToClient: 0 },
      preprocessing: { ms: 0, bytesClientToServer: 0, bytesServerToClient: 0 },
      // the report counts the relinearisation keys in the online bytes: so does the prediction
      online: {
        ms: (batches * batchMs) / n,
        bytesClientToServer: (m.relinBytes + batches * c.encryptions * m.uploadBytes) / n,
        bytesServerToClient: (batches * c.decryptions * m.logitBytes) / n,
      },
    },
    perStep: [],
  };
}
