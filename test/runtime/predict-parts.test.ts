/**
 * zeroRefillMs (core/runtime/predict-parts.ts): what the CKKS server's background refill of
 * its Enc_pk(0) pool adds to a batch's online images — half an encryption per client burst
 * while the refill lasts, nothing once it is done, never more than the refill itself.
 */
import { describe, expect, it } from 'vitest';
import { zeroRefillMs } from '../../core/runtime/predict-parts.ts';

describe('zeroRefillMs', () => {
  const base = { encryptZeroMs: 10, bursts: 4, baseMs: 5, batch: 8 };
  it('adds half an encryption per burst to every image while the refill lasts', () => {
    // 1,000 zeros = 10 s of refill: longer than the batch's 8 images, each pays 4 × 5 ms
    expect(zeroRefillMs({ ...base, zeros: 1000 })).toBeCloseTo(20);
  });
  it('adds nothing without zeros and spreads a short refill over the batch', () => {
    expect(zeroRefillMs({ ...base, zeros: 0 })).toBe(0);
    // 10 zeros = 100 ms of refill = 4 images of 25 ms: 4 × 20 ms over 8 images
    const ms = zeroRefillMs({ ...base, zeros: 10 });
    expect(ms).toBeCloseTo((4 * 20) / 8);
    expect(ms * base.batch).toBeLessThanOrEqual(10 * base.encryptZeroMs);
  });
});
