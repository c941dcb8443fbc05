/**
 * The plan's prediction for the ring schemes, `merged-ring` and `delphi` (core/schemes/ring.ts):
 * BFV preprocessing of every linear map and truncation / square step, Z_p shares online.
 *
 * Bytes are those of the plan the roles make (the same network, fixed-point scales, BFV
 * parameters, layouts and Galois keys): the set-up blob is a real BfvClient's, one real
 * upload and one real circuit-private response (encrypt → elementwise → flood → save) give
 * the ciphertext sizes, multiplied by each step's ciphertext counts for a batch; online
 * frames carry packRing / packBits blobs of the exact lengths; every frame is encoded by the
 * transport's encoder.
 * Times: preprocessing = the op counts of each step's plan (the NTT-form recipe of
 * bfv-ntt.ts: loads, rotations, NTT transforms, products, weight encodings — a session's
 * first batch encodes its weights — and the circuit-privacy finish per response) × per-op
 * costs measured now on the same parameters, plus the batch's messages (latency.ts). Online:
 * the real layer protocols' online code run in two fresh worker threads over the roles'
 * transport on random material of the right shapes (predict-online.ts).
 * Models with ReLU / max-pool (garbled circuits) are listed without a prediction yet.
 */
import { BfvClient, BfvServer } from '../he/bfv.ts';
import { chooseBfvParams } from '../he/bfv-params.ts';
import { meanMs } from '../he/bench.ts';
import type { HePlan, Layout } from '../he/layout.ts';
import { planLayer } from '../he/layout.ts';
import { Scope } from '../he/seal.ts';
import { rotationStepsFor } from '../he/setup.ts';
import { TAG } from '../protocol/messages.ts';
import { DEFAULT_MASKS, planServerNonlinear } from '../protocol/plan.ts';
import { TAG_TRUNC } from '../protocol/layers/ring.ts';
import { chooseRingScales, ringSteps, type RingServerLinearStep, type RingStep } from '../protocol/ring-plan.ts';
import { P } from '../ring/field.ts';
import { packedBytes } from '../ring/pack.ts';
import { quantizeLinear } from '../ring/quantize.ts';
import { cryptoRing } from '../ring/random.ts';
import type { Model } from '../model/types.ts';
import type { MessageCost } from './latency.ts';
import { onlineInThreads } from './predict-online.ts';
import { frameBytes, messagesMs, schemeNetwork, type SchemePlan, type StagePrediction } from './predict-parts.ts';

/** ms per op on the BFV parameters, measured now (means of a stream of each op, as a batch is: bench.ts meanMs). */
interface BfvCosts {
  /** client: encode + seeded encryption + save of one upload */
  encrypt: number;
  /** client: load + decrypt + decode of one response */
  decrypt: number;
  load: number;
  encode: number;
  /** product of a coefficient-form ciphertext and plaintext (SEAL transforms both) */
  mulCoeff: number;
  rotate: number;
  ctToNtt: number;
  ptToNtt: number;
  mulNtt: number;
  add: number;
  fromNtt: number;
  /** per response: − s, + Enc_pk(0), mod switch, flooding, save */
  finish: number;
}

const REPS = 3;

/** Op costs and the real sizes of one upload and one response, on the client's and server's own objects. */
function measureBfv(client: BfvClient, server: BfvServer): { cost: BfvCosts; upBytes: number; downBytes: number } {
  const he = server.he,
    S = he.slots,
    top = he.topLevel;
  const v = cryptoRing.uniform(he.params.polyModulusDegree);
  const time = (f: () => void) => meanMs(f, REPS);
  let up: Uint8Array = new Uint8Array(),
    resp: Uint8Array = new Uint8Array();
  const encrypt = time(() => ([up] = client.encrypt('plan', [v]) as [Uint8Array]));
  const one = time(() => {
    [resp] = server.elementwise('plan', [up], [{ inputs: [0], factors: [v], negMask: v }]) as [Uint8Array];
  });
  const decrypt = time(() => client.decrypt('plan', [resp], 1, 'product'));
  const s = new Scope();
  try {
    const ct = he.loadBytes(s, up, 'mask', top, 'plan upload');
    const load = time(() => s.release(he.loadBytes(s, up, 'mask', top, 'plan upload')));
    const enc = () => he.encodeInts(s, v.subarray(0, S), top, v.subarray(S));
    const encode = time(() => s.release(enc()));
    const pt = enc();
    const mulCoeff = time(() => s.release(he.mulPlain(s, ct, pt)));
    const ptNtt = enc();
    he.evaluator.plainTransformToNttInplace(ptNtt, he.parmsIdAt(top));
    const ptToNtt =
      time(() => {
        const p = enc();
        he.evaluator.plainTransformToNttInplace(p, he.parmsIdAt(top));
        s.release(p);
      }) - encode;
    const x = s.own(new he.seal.Ciphertext());
    const ctToNtt = time(() => he.evaluator.cipherTransformToNtt(ct, x));
    const mulNtt = time(() => s.release(he.mulPlain(s, x, ptNtt)));
    const acc = he.mulPlain(s, x, ptNtt);
    const add = time(() => he.addInplace(acc, x));
    const y = s.own(new he.seal.Ciphertext());
    const fromNtt =
      time(() => {
        he.evaluator.cipherTransformToNtt(ct, y);
        he.evaluator.cipherTransformFromNttInplace(y);
      }) - ctToNtt;
    // a rotation key of the client's context (any key: the cost of a row rotation does not depend on it)
    const ch = client.he;
    const kg = s.own(new ch.seal.KeyGenerator(ch.context));
    const gk = s.own(kg.createGaloisKeysWithSteps(Int32Array.from([1])));
    const cct = ch.loadBytes(s, up, 'mask', top, 'plan upload');
    const rotate = time(() => s.release(ch.rotate(s, cct, 1, gk)));
    const finish = Math.max(0, one - load - encode - mulCoeff);
    const cost = { encrypt, decrypt, load, encode, mulCoeff, rotate, ctToNtt, ptToNtt, mulNtt, add, fromNtt, finish };
    return { cost, upBytes: up.byteLength, downBytes: resp.byteLength };
  } finally {
    s.free();
  }
}

/** Op counts of one linear step's plan as BfvServer.linear runs it (zero weight vectors are skipped). */
export function bfvLinearCounts(plan: HePlan, used: (pt: number) => boolean) {
  const pairs = new Set<string>(),
    pts = new Set<number>();
  let terms = 0,
    rotations = 0,
    groups = 0;
  for (const o of plan.outputs) {
    const giants = new Set<number>();
    for (const t of o.terms) {
      if (!used(t.pt)) continue;
      terms++;
      pts.add(t.pt);
      giants.add(t.giant ?? 0);
      pairs.add(`${t.input}/${t.rotation}`);
    }
    groups += giants.size;
    rotations += Math.max(0, ...giants) + o.foldSteps.length;
  }
  for (const p of pairs) if (!p.endsWith('/0')) rotations++;
  return {
    inputs: plan.inputCount,
    outputs: plan.outputs.length,
    terms,
    rotations,
    groups,
    ntt: pairs.size,
    pts: pts.size,
  };
}

const linearMs = (n: ReturnType<typeof bfvLinearCounts>, c: BfvCosts): number =>
  n.inputs * (c.encrypt + c.load) +
  n.rotations * (c.rotate + c.add) +
  n.ntt * c.ctToNtt +
  n.terms * (c.mulNtt + c.add) +
  n.groups * c.fromNtt +
  n.pts * (c.encode + c.ptToNtt) +
  n.outputs * (c.finish + c.decrypt);

/** Predict a merged-ring / delphi run of `model` in batches of `batch` images. */
export async function predictRing(
  model: Model,
  id: 'merged-ring' | 'delphi',
  batch: number,
  onLog: (s: string) => void,
  msg: MessageCost,
  images = batch,
): Promise<SchemePlan> {
  const { net, mergeMs, label } = schemeNetwork(id, model);
  const plan = planServerNonlinear(net, DEFAULT_MASKS);
  const steps = ringSteps(plan, chooseRingScales(plan));
  if (steps.some((s) => s.kind === 'gc'))
    return {
      scheme: id,
      label,
      ok: true,
      notModelled: 'runs this model; no prediction: its ReLU / max-pool steps (garbled circuits) are not modelled yet',
    };
  const layout: Layout = id === 'merged-ring' ? 'fast' : 'reference';
  const bfv = chooseBfvParams(P);
  const N = bfv.polyModulusDegree,
    slots = N / 2;
  const linear = steps.filter((s): s is RingServerLinearStep => s.kind === 'linear');
  const shapeOf = (s: RingServerLinearStep) => (s.base.spec.kind === 'conv2d' ? { inputShape: s.base.inShape } : {});
  const rotations = rotationStepsFor(
    linear.map((s) => ({ spec: s.base.spec, ...shapeOf(s) })),
    layout,
    slots,
  );
  onLog(`${id}: BFV N=${N}, making keys, measuring ciphertext sizes and op costs…`);
  const client = await BfvClient.create(bfv, rotations);
  let server: BfvServer | undefined;
  const perStep: NonNullable<SchemePlan['perStep']>[number][] = [];
  let setupBytes: number;
  let onUp = 0,
    onDown = 0;
  try {
    setupBytes = frameBytes(TAG.setup, null, [client.setupMessage().byteLength]);
    server = await BfvServer.create(bfv, client.setupMessage());
    const { cost, upBytes, downBytes } = measureBfv(client, server);
    const pre = (s: RingStep, ups: number, downs: number, ms: number) => {
      const up = frameBytes(TAG.preMasks, { step: s.index, count: batch }, new Array<number>(ups).fill(upBytes));
      const down = frameBytes(
        TAG.preShares,
        { step: s.index, serverMs: 1234.5678901234 },
        new Array<number>(downs).fill(downBytes),
      );
      perStep.push({
        name: s.name,
        preprocessingMs: ms / batch,
        bytesClientToServer: up / batch,
        bytesServerToClient: down / batch,
        predictedLogitError: 0,
      });
    };
    const on = (from: 'client' | 'server', tag: string, s: RingStep, blobs: number[]) => {
      const b = frameBytes(tag, { step: s.index }, blobs);
      if (from === 'client') onUp += b;
      else onDown += b;
    };
    for (const s of steps) {
      if (s.kind === 'linear') {
        const ls = s as RingServerLinearStep;
        const q = quantizeLinear(ls.layer, ls.base.inShape, ls.inScale, ls.weightScale);
        const p = planLayer(ls.base.spec, { images: batch, slots, layout, ...shapeOf(ls), steps: client.steps });
        const used = new Map<number, boolean>();
        const counts = bfvLinearCounts(p, (pt) => {
          let u = used.get(pt);
          if (u === undefined) used.set(pt, (u = p.weightVector(q.intWeight, pt) !== null));
          return u;
        });
        pre(s, counts.inputs, counts.outputs, linearMs(counts, cost));
        on('client', s.first ? TAG.onInput : TAG.onShare, s, [packedBytes(ls.base.inSize)]);
      } else if (s.kind !== 'gc') {
        const C = Math.ceil((batch * s.size) / N),
          square = s.kind === 'square';
        const extraInputs = square ? C : 0; // a square's first outputs take two uploads each
        const ms =
          (square ? 3 : 1) * C * (cost.encrypt + cost.load) +
          ((square ? 2 : 1) * C + extraInputs) * (cost.encode + cost.mulCoeff) +
          extraInputs * cost.add +
          (square ? 2 : 1) * C * (cost.finish + cost.decrypt);
        pre(s, (square ? 3 : 1) * C, (square ? 2 : 1) * C, ms);
        on('server', TAG.onAct, s, [packedBytes(s.size)]);
        const bits = Math.ceil(s.size / 8);
        on('client', TAG_TRUNC, s, square ? [packedBytes(s.size), packedBytes(s.size), bits] : [bits]);
      }
    }
  } finally {
    server?.delete();
    client.delete();
  }
  const logits = 8 * linear.at(-1)!.base.outSize;
  onDown += frameBytes(TAG.onResult, { serverMs: 1.2345678901234 }, [logits]);
  onLog(`${id}: timing the online stage of ${images} image(s) in two worker threads…`);
  const onlineMs = (await onlineInThreads('ring', id, net, images)).meanMs;
  const sum = (k: 'preprocessingMs' | 'bytesClientToServer' | 'bytesServerToClient'): number =>
    perStep.reduce((a, s) => a + s[k], 0);
  const batchFrame = frameBytes(TAG.batch, { count: batch }, []) / batch;
  const preMsgMs =
    messagesMs(msg, 1 + 2 * perStep.length, batch * (sum('bytesClientToServer') + sum('bytesServerToClient'))) / batch;
  const zero: StagePrediction = { ms: 0, bytesClientToServer: 0, bytesServerToClient: 0 };
  return {
    scheme: id,
    label,
    ok: true,
    batch,
    bfv: { polyModulusDegree: N, coeffModulusBits: bfv.coeffModulusBits, plainModulus: bfv.plainModulus },
    stages: {
      merging: { ...zero, ms: mergeMs },
      setup: { ms: messagesMs(msg, 1, setupBytes), bytesClientToServer: setupBytes, bytesServerToClient: 0 },
      preprocessing: {
        ms: sum('preprocessingMs') + preMsgMs,
        bytesClientToServer: sum('bytesClientToServer') + batchFrame,
        bytesServerToClient: sum('bytesServerToClient'),
      },
      online: { ms: onlineMs, bytesClientToServer: onUp, bytesServerToClient: onDown },
    },
    perStep,
  };
}
