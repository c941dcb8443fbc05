import { describe, expect, it } from 'vitest';
import { conv2d } from '../../core/model/forward.ts';
import type { Conv2dLayer } from '../../core/model/types.ts';
import { mulberry32 } from '../../core/data/datasets.ts';

/** The direct seven-loop convolution the im2col kernel replaced (the definition). */
function direct(l: Conv2dLayer, x: Float64Array, [, H, W]: [number, number, number]): Float64Array {
  const [kh, kw] = l.kernel,
    [sh, sw] = l.stride,
    [ph, pw] = l.padding;
  const OH = Math.floor((H + 2 * ph - kh) / sh) + 1,
    OW = Math.floor((W + 2 * pw - kw) / sw) + 1;
  const out = new Float64Array(l.outChannels * OH * OW);
  for (let o = 0; o < l.outChannels; o++)
    for (let oy = 0; oy < OH; oy++)
      for (let ox = 0; ox < OW; ox++) {
        let acc = l.bias[o]!;
        for (let c = 0; c < l.inChannels; c++)
          for (let a = 0; a < kh; a++)
            for (let b = 0; b < kw; b++) {
              const iy = oy * sh + a - ph,
                ix = ox * sw + b - pw;
              if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
              acc += l.weight[((o * l.inChannels + c) * kh + a) * kw + b]! * x[(c * H + iy) * W + ix]!;
            }
        out[(o * OH + oy) * OW + ox] = acc;
      }
  return out;
}

describe('online conv kernel (im2col + blocked rows)', () => {
  it('is bit-identical to the direct loop on random shapes, strides and paddings (twice: cached table)', () => {
    const rnd = mulberry32(7);
    for (let k = 0; k < 60; k++) {
      const C = 1 + Math.floor(rnd() * 4),
        O = 1 + Math.floor(rnd() * 9),
        kh = 1 + Math.floor(rnd() * 4),
        kw = 1 + Math.floor(rnd() * 4);
      const sh = 1 + Math.floor(rnd() * 2),
        sw = 1 + Math.floor(rnd() * 2),
        ph = Math.floor(rnd() * 2),
        pw = Math.floor(rnd() * 2);
      const H = kh + Math.floor(rnd() * 8),
        W = kw + Math.floor(rnd() * 8);
      const l: Conv2dLayer = {
        kind: 'conv2d',
        name: 'c',
        inChannels: C,
        outChannels: O,
        kernel: [kh, kw],
        stride: [sh, sw],
        padding: [ph, pw],
        weight: Float64Array.from({ length: O * C * kh * kw }, () => rnd() - 0.5),
        bias: Float64Array.from({ length: O }, () => rnd() - 0.5),
      };
      for (let rep = 0; rep < 2; rep++) {
        const x = Float64Array.from({ length: C * H * W }, () => (rnd() - 0.5) * 1e3);
        expect(Array.from(conv2d(l, x, [C, H, W]))).toEqual(Array.from(direct(l, x, [C, H, W])));
      }
    }
  });
});
