/**
 * Dense slot layouts (pure data, see layout.ts for the plan contract).
 *
 * dense / bsgs   Halevi–Shoup hybrid diagonals with baby-step / giant-step rotations done
 *                by the SERVER. Images are interleaved: feature j of image b sits in slot
 *                j·I + b (I = slots / D images per ciphertext, D = max(n', m')), so a
 *                rotation by k·I rotates every image's feature vector cyclically by k — no
 *                replication, every slot holds data. With K = min(n', m') diagonals split
 *                as K = b1·g1:
 *                  z = Σ_g rot( Σ_b rot(diag_{g·b1+b}, −g·b1) ⊙ rot(x, b), g·b1 )
 *                and the giant sum is evaluated by Horner (z = A_0 + rot(A_1 + rot(…), b1)),
 *                so only two Galois keys are needed: I (baby steps chained: rot(x, b) =
 *                rot(rot(x, b−1), 1)) and b1·I, plus log2(n'/m') fold steps for wide maps.
 *                `clientBaby`: the client uploads the b1 baby rotations itself (b1 uploads,
 *                no baby rotations on the server); the cost model picks per layer.
 * dense / reference  one output ciphertext per output neuron: (W[o] ⊙ r) then rotate-and-sum.
 */
import type { DenseSpec, HePlan, OutputRecipe, Term } from './layout-base.ts';
import { nextPow2, tooBig } from './layout-base.ts';

export interface DenseBsgsChoice {
  readonly b1: number;
  readonly clientBaby: boolean;
}

/** Geometry shared by the candidates of one dense layer. */
export function denseGeometry(spec: DenseSpec, slots: number) {
  const n = spec.inFeatures,
    m = spec.outFeatures,
    n2 = nextPow2(n),
    m2 = nextPow2(m);
  const D = Math.max(n2, m2),
    K = Math.min(n2, m2);
  if (D > slots) tooBig(`dense '${spec.name}'`, D, slots);
  return { n, m, n2, m2, D, K, I: slots / D };
}

/** Hybrid-diagonal BSGS plan (see the file comment). b1 is a power of two dividing K. */
export function planDenseBsgs(spec: DenseSpec, B: number, slots: number, choice: DenseBsgsChoice): HePlan {
  const { n, m, n2, m2, D, K, I } = denseGeometry(spec, slots);
  const b1 = Math.min(choice.b1, K),
    g1 = K / b1,
    clientBaby = choice.clientBaby && b1 > 1;
  const G = Math.ceil(B / I),
    perGroup = clientBaby ? b1 : 1;
  const fold: number[] = [];
  for (let s = D / 2; s >= m2; s /= 2) fold.push(s * I);
  const outputs: OutputRecipe[] = [];
  for (let gi = 0; gi < G; gi++) {
    const terms: Term[] = [];
    for (let g = 0; g < g1; g++)
      for (let b = 0; b < b1; b++) {
        terms.push({
          input: gi * perGroup + (clientBaby ? b : 0),
          rotation: clientBaby ? 0 : b * I,
          pt: g * b1 + b,
          giant: g,
        });
      }
    outputs.push({ terms, foldSteps: fold, ...(g1 > 1 ? { giantStep: b1 * I } : {}) });
  }
  const outCt = new Int32Array(B * m),
    outSlot = new Int32Array(B * m);
  for (let bi = 0; bi < B; bi++)
    for (let o = 0; o < m; o++) {
      outCt[bi * m + o] = Math.floor(bi / I);
      outSlot[bi * m + o] = o * I + (bi % I);
    }
  const steps = new Set<number>(fold);
  if (b1 > 1 && !clientBaby) steps.add(I);
  if (g1 > 1) steps.add(b1 * I);
  const babyRot = b1 - 1,
    giantRot = g1 - 1;
  return {
    kind: 'dense',
    layout: 'fast',
    slots,
    images: B,
    inputSize: n,
    outputSize: m,
    inputCount: G * perGroup,
    outputs,
    ptCount: K,
    rotationSteps: [...steps].sort((a, b) => a - b),
    outCt,
    outSlot,
    ...(b1 > 1 && !clientBaby ? { babyStep: I } : {}),
    utilisation: Math.min(1, (B * n) / (G * perGroup * slots)),
    description:
      `bsgs diagonals ${K} = ${b1}×${g1} ` +
      `(${clientBaby ? `${b1} client-rotated copies` : `${babyRot} baby rotations`}, ` +
      `${giantRot} giant, ${fold.length} fold), ${I} images interleaved per ciphertext`,
    inputVectors(masks) {
      const out: Float64Array[] = [];
      for (let gi = 0; gi < G; gi++)
        for (let c = 0; c < perGroup; c++) {
          const v = new Float64Array(slots);
          for (let bi = 0; bi < I; bi++) {
            const r = masks[gi * I + bi];
            if (!r) break;
            // feature j of the (replicated, rotated by c) vector: x[(j + c) mod n'] for j < D
            for (let j = 0; j < D; j++) {
              const col = (j + c) % n2;
              if (col < n) v[j * I + bi] = r[col]!;
            }
          }
          out.push(v);
        }
      return out;
    },
    weightVector(weight, pt) {
      // pt = g·b1 + b holds diag_k rotated by −g·b1 (k = pt): entry at feature j is diag_k[j − g·b1]
      const g = Math.floor(pt / b1),
        shift = g * b1;
      const v = new Float64Array(slots);
      let any = false;
      for (let j = 0; j < D; j++) {
        const jj = (j - shift + D) % D;
        const row = jj % m2,
          col = (jj + pt) % n2;
        if (row >= m || col >= n) continue;
        const w = weight[row * n + col]!;
        if (w === 0) continue;
        any = true;
        for (let bi = 0; bi < I; bi++) v[j * I + bi] = w;
      }
      return any ? v : null;
    },
  };
}

/** One output ciphertext per neuron, rotate-and-sum (the simple baseline). */
export function planDenseReference(spec: DenseSpec, B: number, slots: number): HePlan {
  const n = spec.inFeatures,
    m = spec.outFeatures,
    n2 = nextPow2(n),
    D = n2;
  if (D > slots) tooBig(`dense '${spec.name}' (reference)`, D, slots);
  const imgs = Math.floor(slots / D),
    G = Math.ceil(B / imgs);
  const fold: number[] = [];
  for (let s = n2 / 2; s >= 1; s /= 2) fold.push(s);
  const outputs: OutputRecipe[] = [];
  for (let gi = 0; gi < G; gi++)
    for (let o = 0; o < m; o++) outputs.push({ terms: [{ input: gi, rotation: 0, pt: o }], foldSteps: fold });
  const outCt = new Int32Array(B * m),
    outSlot = new Int32Array(B * m);
  for (let b = 0; b < B; b++)
    for (let o = 0; o < m; o++) {
      outCt[b * m + o] = Math.floor(b / imgs) * m + o;
      outSlot[b * m + o] = (b % imgs) * D;
    }
  return {
    kind: 'dense',
    layout: 'reference',
    slots,
    images: B,
    inputSize: n,
    outputSize: m,
    inputCount: G,
    outputs,
    ptCount: m,
    rotationSteps: [...fold].sort((a, b) => a - b),
    outCt,
    outSlot,
    utilisation: (B * n) / (G * slots),
    description:
      `one ciphertext per output neuron, block ${D}, ${imgs} images per ciphertext, ${fold.length} ` +
      `rotate-and-sum steps`,
    inputVectors(masks) {
      const out: Float64Array[] = [];
      for (let gi = 0; gi < G; gi++) {
        const v = new Float64Array(slots);
        for (let bi = 0; bi < imgs; bi++) {
          const r = masks[gi * imgs + bi];
          if (!r) break;
          v.set(r, bi * D);
        }
        out.push(v);
      }
      return out;
    },
    weightVector(weight, pt) {
      const v = new Float64Array(slots);
      let any = false;
      for (let j = 0; j < n; j++) {
        const w = weight[pt * n + j]!;
        if (w === 0) continue;
        any = true;
        for (let bi = 0; bi < imgs; bi++) v[bi * D + j] = w;
      }
      return any ? v : null;
    },
  };
}
