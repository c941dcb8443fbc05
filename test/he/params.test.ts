import { describe, expect, it } from 'vitest';
import {
  chooseParams,
  paramsFingerprint,
  validateNetworkParams,
  validateParams,
  MAX_BITS_128,
  predictedPrecision,
} from '../../core/he/params.ts';
import type { CkksNetworkParams, CkksParams } from '../../core/he/params.ts';
import { HeContext } from '../../core/he/context.ts';
import { liveSealObjects } from '../../core/he/seal.ts';
import { loadSeal } from '../../core/he/seal.ts';
import { thrownCode as code } from '../helpers/error-code.ts';

describe('CKKS parameter choice', () => {
  it('uses SEAL’s own 128-bit bounds', async () => {
    const seal = await loadSeal();
    for (const n of [4096, 8192, 16384, 32768])
      expect(seal.CoeffModulus.MaxBitCount(n, seal.SecLevelType.tc128)).toBe(MAX_BITS_128[n]);
  });

  it('chooses the smallest secure N for depth 1 and 2 and meets the precision', () => {
    for (const depth of [1, 2] as const)
      for (const [maxAbs, precision] of [
        [1, 1e-4],
        [2 ** 14, 1e-7],
        [2 ** 20, 1e-6],
      ] as const) {
        const p = chooseParams({ depth, maxAbsValue: maxAbs, precision });
        expect(p.coeffModulusBits.length).toBe(depth + 2);
        expect(p.coeffModulusBits.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(MAX_BITS_128[p.polyModulusDegree]!);
        expect(predictedPrecision(p)).toBeLessThanOrEqual(precision);
        expect(() => validateParams(p, { depth, maxAbsValue: maxAbs, precision })).not.toThrow();
      }
    expect(chooseParams({ depth: 2, maxAbsValue: 2 ** 14, precision: 1e-7 }).polyModulusDegree).toBe(8192);
    expect(chooseParams({ depth: 1, maxAbsValue: 1, precision: 1e-3, minSlots: 8192 }).polyModulusDegree).toBe(16384);
  });

  it('throws HE_PARAMS when no 60-bit prime can hold the range, RangeError on bad requests', () => {
    expect(code(() => chooseParams({ depth: 1, maxAbsValue: 2 ** 40, precision: 1e-9 }))).toBe('HE_PARAMS');
    expect(code(() => chooseParams({ depth: 4 as 1, maxAbsValue: 1, precision: 1e-3 }))).toBe('RangeError');
    expect(code(() => chooseParams({ depth: 1, maxAbsValue: -1, precision: 1e-3 }))).toBe('RangeError');
    expect(code(() => chooseParams({ depth: 1, maxAbsValue: 1, precision: 0 }))).toBe('RangeError');
  });

  it('online (gazelle) chains: top primes ≈ Δ after squarings, q0·q1 holds the client share, depth up to 3', () => {
    for (const depth of [2, 3] as const) {
      const p = chooseParams({ depth, maxAbsValue: 2 ** 12, precision: 1e-6, inputMaxAbs: 2 ** 30 });
      const bits = p.coeffModulusBits;
      expect(bits.length).toBe(depth + 2);
      expect(bits.slice(2, -1).every((b) => b === p.scaleBits)).toBe(true);
      expect(bits[0]! + bits[1]!).toBeGreaterThanOrEqual(p.scaleBits + 30 + 3);
      expect(bits.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(MAX_BITS_128[p.polyModulusDegree]!);
      expect(() =>
        validateParams(p, { depth, maxAbsValue: 2 ** 12, precision: 1e-6, inputMaxAbs: 2 ** 30 }),
      ).not.toThrow();
    }
    const p = chooseParams({ depth: 2, maxAbsValue: 2 ** 12, precision: 1e-6, inputMaxAbs: 2 ** 30 });
    expect(code(() => validateParams(p, { inputMaxAbs: 2 ** 80 }))).toBe('PARAMS_MISMATCH');
    // a classic chain squares at a 60-bit prime: Δ²/q loses the precision
    const classic = chooseParams({ depth: 2, maxAbsValue: 2 ** 12, precision: 1e-6 });
    expect(code(() => validateParams(classic, { inputMaxAbs: 2 ** 20, precision: 1e-6 }))).toBe('PARAMS_MISMATCH');
    expect(code(() => chooseParams({ depth: 2, maxAbsValue: 1, precision: 1e-3, inputMaxAbs: 0 }))).toBe('RangeError');
  });

  it('validateParams rejects insecure or malformed sets and unmet client needs', () => {
    const good = chooseParams({ depth: 2, maxAbsValue: 2 ** 14, precision: 1e-7 });
    const bad: [Partial<CkksParams>, string][] = [
      [{ coeffModulusBits: [60, 60, 60, 60] }, 'HE_PARAMS'], // 240 > 218 bits: insecure
      [{ polyModulusDegree: 2048 }, 'HE_PARAMS'],
      [{ coeffModulusBits: [53, 52, 60] }, 'HE_PARAMS'], // wrong prime count for depth 2
      [{ coeffModulusBits: [53, 52, 52, 40] }, 'HE_PARAMS'], // special prime too small
      [{ scaleBits: 70 }, 'HE_PARAMS'],
      [{ securityLevel: 64 as 128 }, 'HE_PARAMS'],
    ];
    for (const [patch, want] of bad) expect(code(() => validateParams({ ...good, ...patch } as CkksParams))).toBe(want);
    expect(code(() => validateParams(good, { precision: 1e-12 }))).toBe('PARAMS_MISMATCH');
    expect(code(() => validateParams(good, { maxAbsValue: 2 ** 30 }))).toBe('PARAMS_MISMATCH');
    expect(code(() => validateParams(good, { minSlots: 8192 }))).toBe('PARAMS_MISMATCH');
    expect(code(() => validateParams({ ...good, depth: 1, coeffModulusBits: [53, 60, 60] }, { depth: 2 }))).toBe(
      'PARAMS_MISMATCH',
    );
  });

  it('network chains (cryptonets): any depth under the 128-bit bound, own fingerprint, made by HeContext', async () => {
    // the chain docs/BASELINES.md gives for a depth-5 MNIST net at N = 8192 (special prime below q0 is allowed)
    const net: CkksNetworkParams = {
      scheme: 'ckks',
      purpose: 'network',
      polyModulusDegree: 8192,
      coeffModulusBits: [42, 29, 29, 29, 29, 29, 31],
      scaleBits: 29,
      depth: 5,
      securityLevel: 128,
    };
    expect(code(() => validateNetworkParams(net))).toBeUndefined();
    // a session set may not be that deep; one bit more is insecure; the chain length must match the depth
    expect(code(() => validateParams({ ...net, depth: 5 } as unknown as CkksParams))).toBe('HE_PARAMS');
    expect(code(() => validateNetworkParams({ ...net, coeffModulusBits: [43, 29, 29, 29, 29, 29, 31] }))).toBe(
      'HE_PARAMS',
    );
    expect(code(() => validateNetworkParams({ ...net, depth: 4 }))).toBe('HE_PARAMS');
    expect(code(() => validateNetworkParams({ ...net, depth: 0, coeffModulusBits: [42, 31] }))).toBe('HE_PARAMS');
    // the same numbers as a session set would tag its ciphertexts differently
    const { purpose, ...numbers } = net;
    expect(purpose).toBe('network');
    expect(paramsFingerprint(net)).not.toBe(paramsFingerprint(numbers as unknown as CkksParams));
    const he = await HeContext.create(net);
    try {
      expect(he.topLevel).toBe(5);
      expect(he.slots).toBe(4096);
    } finally {
      he.delete();
    }
    await expect(HeContext.create({ ...net, polyModulusDegree: 4096 })).rejects.toMatchObject({ code: 'HE_PARAMS' });
    expect(liveSealObjects()).toBe(0);
  });
});
