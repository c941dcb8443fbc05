/**
 * The three leak measurements of issue 11 as tests on both share families, with the real
 * mask sources and the layer protocols' own message code (no HE needed: the messages
 * measured here are the online ones and the client's decrypted share, whose exact values
 * test/ring/bfv.test.ts ties to BFV). On `merged` (float masks) each attack succeeds,
 * which shows the test has power; on `merged-ring` it is at chance.
 */
import { describe, expect, it } from 'vitest';
import { imageToInput, loadDataset } from '../../core/data/datasets.ts';
import { loadModel } from '../../core/model/load.ts';
import { dealerServer } from '../../core/protocol/dealer-provider.ts';
import { floatLinear } from '../../core/protocol/layers/float.ts';
import { ringLinear } from '../../core/protocol/layers/ring.ts';
import {
  DEFAULT_MASKS,
  inputMaskRange,
  planServer,
  serverMaskRanges,
  type ServerLinearStep,
} from '../../core/protocol/plan.ts';
import { cryptoMasks } from '../../core/protocol/random.ts';
import { P, applySmall, subVec, toSigned } from '../../core/ring/field.ts';
import { unpackRing } from '../../core/ring/pack.ts';
import { quantizeLinear } from '../../core/ring/quantize.ts';
import { cryptoRing } from '../../core/ring/random.ts';
import { bytesToF64, f64ToBytes } from '../../core/transport/frame.ts';
import { mergeModel } from '../../core/model/merge.ts';

const F = 13;

function corr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0,
    mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]! / n;
    mb += b[i]! / n;
  }
  let sab = 0,
    saa = 0,
    sbb = 0;
  for (let i = 0; i < n; i++) {
    const x = a[i]! - ma,
      y = b[i]! - mb;
    sab += x * y;
    saa += x * x;
    sbb += y * y;
  }
  return sab / Math.sqrt(saa * sbb || 1);
}

const model = await loadModel('mnist');
const ds = await loadDataset('mnist', 'test');
const net = mergeModel(model).model;
const first = planServer(net, DEFAULT_MASKS)[0] as ServerLinearStep;
const input = (i: number): Float64Array => imageToInput(ds, i, model.meta.inputNormalization);

/** The server's view of the first online message for input x, one session, per family. */
async function firstMessage(family: 'float' | 'ring', x: Float64Array): Promise<Float64Array> {
  let sent: Uint8Array | undefined;
  const io = {
    send: (_t: string, b: Uint8Array[]) => {
      sent = b[0];
    },
    expect: async () => [],
  };
  const n = first.inSize;
  if (family === 'float') {
    const r = cryptoMasks.uniform(n, inputMaskRange(first, DEFAULT_MASKS));
    await floatLinear.onlineClient({} as never, first, { r, share: new Float64Array(0) }, x, io as never);
    return bytesToF64(sent!, n);
  }
  const step = {
    kind: 'linear',
    index: 0,
    name: first.spec.name,
    base: first,
    inScale: F,
    weightScale: 0,
    first: true,
    last: false,
  } as never;
  await ringLinear.onlineClient(
    {} as never,
    step,
    { r: cryptoRing.uniform(n), share: new Float64Array(0) },
    x,
    io as never,
  );
  return unpackRing(sent!, n, 'view');
}

describe('leak measurements: float masks leak, ring shares do not', () => {
  it('box intersection over 1,000 sessions of one image', async () => {
    const x = input(0),
      R = inputMaskRange(first, DEFAULT_MASKS);
    const result: Record<string, number> = {};
    for (const family of ['float', 'ring'] as const) {
      const lo = new Float64Array(x.length).fill(-Infinity),
        hi = new Float64Array(x.length).fill(Infinity);
      const mean = new Float64Array(x.length);
      for (let q = 0; q < 1000; q++) {
        const u = await firstMessage(family, x);
        for (let j = 0; j < u.length; j++) {
          // float: x_j ∈ [u_j − R, u_j + R]; ring: the signed view is the analogue (every value possible)
          const v = family === 'float' ? u[j]! : toSigned(u[j]!) / 2 ** F;
          lo[j] = Math.max(lo[j]!, v - R);
          hi[j] = Math.min(hi[j]!, v + R);
          mean[j]! += v / 1000;
        }
      }
      const estimate = family === 'float' ? lo.map((l, j) => (l + hi[j]!) / 2) : mean;
      result[family] = corr(estimate, x);
    }
    console.log(
      `box intersection, 1000 sessions: correlation with the image float ${result.float!.toFixed(3)}, ring ` +
        `${result.ring!.toFixed(3)}`,
    );
    expect(result.float).toBeGreaterThan(0.9);
    expect(Math.abs(result.ring!)).toBeLessThan(0.15); // chance: σ ≈ 1/√784 = 0.036
  });

  // One session's mask draw decides the result: when the pixels whose mask lies near ±R happen to be border pixels
  // (background in every image), nothing is ruled out — CI once saw 0.1 % in one draw where the usual is 70–80 %.
  // So each elimination uses one session, as the attack would, and the test reads the median over 25 sessions
  // (over 200 sessions: median 69.5 %, 25th percentile 45.3 %, 10th 16.1 %, so a median below 30 % is ~1e-5 likely).
  it('dictionary elimination on one session (2,000 candidate images, median over 25 sessions)', async () => {
    const R = inputMaskRange(first, DEFAULT_MASKS);
    const candidates = Array.from({ length: 2000 }, (_, i) => input(i));
    const x = candidates[7]!;
    const out: Record<string, number[]> = { float: [], ring: [] };
    for (let session = 0; session < 25; session++) {
      for (const family of ['float', 'ring'] as const) {
        const u = await firstMessage(family, x);
        let ruledOut = 0;
        for (const c of candidates) {
          // float: c is impossible if some implied mask c_j − u_j leaves ±R; ring: every c implies a valid r ∈ Z_p
          const possible = family === 'float' ? c.every((cj, j) => Math.abs(cj - u[j]!) <= R) : true;
          if (!possible) ruledOut++;
        }
        out[family]!.push(ruledOut / candidates.length);
      }
    }
    const median = (v: number[]): number => [...v].sort((a, b) => a - b)[v.length >> 1]!;
    const pct = (v: number): string => `${(100 * v).toFixed(1)} %`;
    console.log(
      `dictionary elimination, one session each: float median ${pct(median(out.float!))} ruled out ` +
        `(min ${pct(Math.min(...out.float!))}, max ${pct(Math.max(...out.float!))}), ring max ` +
        `${pct(Math.max(...out.ring!))}`,
    );
    expect(median(out.float!)).toBeGreaterThan(0.3);
    expect(Math.max(...out.ring!)).toBe(0);
  });

  it('least-squares weight recovery from 200,000 client views of a dense layer', async () => {
    const dense = planServer(net, DEFAULT_MASKS).find(
      (s) => s.kind === 'linear' && s.spec.kind === 'dense',
    ) as ServerLinearStep;
    // a 16 → 8 slice of the model's dense layer, as its own small layer
    const n = 16,
      m = 8,
      W = new Float64Array(m * n);
    for (let o = 0; o < m; o++) for (let i = 0; i < n; i++) W[o * n + i] = dense.layer.weight[o * dense.inSize + i]!;
    const layer = {
      kind: 'dense' as const,
      name: 'slice',
      inFeatures: n,
      outFeatures: m,
      weight: W,
      bias: new Float64Array(m),
    };
    const step: ServerLinearStep = {
      ...dense,
      spec: layer,
      layer,
      inShape: [n],
      outShape: [m],
      inSize: n,
      outSize: m,
      next: undefined,
      rowNorm: Math.max(
        ...Array.from({ length: m }, (_, o) => W.slice(o * n, o * n + n).reduce((a, w) => a + Math.abs(w), 0)),
      ),
    };
    const Q = 200_000;
    const est: Record<string, number> = {};
    // float: the dealer computes exactly what CKKS returns, M·r − s with s ∈ ±2^shareBits·‖M‖·R
    {
      const R = inputMaskRange(step, DEFAULT_MASKS);
      const rs = Array.from({ length: Q }, () => cryptoMasks.uniform(n, R));
      const resp = await dealerServer(cryptoMasks).evaluate(
        step,
        rs.map((r) => f64ToBytes(r)),
        Q,
        serverMaskRanges(step, DEFAULT_MASKS),
      );
      est.float = corr(
        leastSquares(
          rs,
          resp.response.map((b) => bytesToF64(b, m)),
          n,
          m,
        ),
        W,
      );
    }
    // ring: yc = M̂·r − s mod p, r and s uniform in Z_p (BfvServer's exact output, test/ring/bfv.test.ts)
    {
      const q = quantizeLinear(layer, [n], F, 16);
      const rs = Array.from({ length: Q }, () => cryptoRing.uniform(n));
      const views = rs.map((r) => subVec(applySmall(q.matrix, r), cryptoRing.uniform(m)));
      const signed = (v: Float64Array) => v.map((a) => toSigned(a) / P);
      est.ring = corr(leastSquares(rs.map(signed), views.map(signed), n, m), W);
    }
    console.log(
      `least squares from ${Q} client views: correlation of the estimate with the weights float ` +
        `${est.float!.toFixed(3)}, ring ${est.ring!.toFixed(3)}`,
    );
    expect(est.float).toBeGreaterThan(0.4); // measured 0.555 (σ ≈ 0.06)
    expect(Math.abs(est.ring!)).toBeLessThan(0.3); // chance: σ ≈ 1/√128 = 0.088
  });
});

/** M̂_oi = Σ y_o r_i / Σ r_i² (the r are independent and centred, so this is least squares). */
function leastSquares(rs: readonly Float64Array[], ys: readonly Float64Array[], n: number, m: number): Float64Array {
  const num = new Float64Array(m * n),
    den = new Float64Array(n);
  rs.forEach((r, k) => {
    const y = ys[k]!;
    for (let i = 0; i < n; i++) {
      den[i]! += r[i]! * r[i]!;
      for (let o = 0; o < m; o++) num[o * n + i]! += y[o]! * r[i]!;
    }
  });
  return num.map((v, idx) => v / den[idx % n]!);
}
