/**
 * INSECURE test provider: the "encrypted" masks travel in the clear and the server plays
 * a trusted dealer computing M·r − s directly. It exists so the online stage can be
 * tested on its own and compared with the CKKS provider; it is never selectable from
 * the CLI or the app.
 */
import { PpnnError } from '../errors.ts';
import { conv2d, dense } from '../model/forward.ts';
import { bytesToF64, f64ToBytes } from '../transport/frame.ts';
import type { ClientPreprocessor, ServerPreprocessor } from './provider.ts';
import type { MaskSource } from './random.ts';

export function dealerClient(): ClientPreprocessor {
  return {
    kind: 'dealer',
    setupBlobs: () => [],
    encryptMasks: (_step, masks) => masks.map((m) => f64ToBytes(m)),
    decryptShares(step, response, count) {
      const withProduct = step.next !== undefined;
      if (response.length !== count * (withProduct ? 2 : 1))
        throw new PpnnError(
          'PROTOCOL_VIOLATION',
          `dealer response: expected ${count * (withProduct ? 2 : 1)} blobs, got ${response.length}`,
        );
      const share = response.slice(0, count).map((b) => bytesToF64(b, step.outSize));
      return withProduct
        ? { share, product: response.slice(count).map((b) => bytesToF64(b, step.outSize)) }
        : { share };
    },
    stats: () => null,
    close: () => {},
  };
}

export function dealerServer(random: MaskSource): ServerPreprocessor {
  return {
    kind: 'dealer',
    async evaluate(step, request, count, ranges) {
      if (request.length !== count)
        throw new PpnnError('PROTOCOL_VIOLATION', `dealer request: expected ${count} blobs, got ${request.length}`);
      const zeroBias = { ...step.layer, bias: new Float64Array(step.layer.bias.length) };
      const s: Float64Array[] = [],
        a: Float64Array[] = [],
        t: Float64Array[] = [];
      const shares: Uint8Array[] = [],
        products: Uint8Array[] = [];
      for (const blob of request) {
        const r = bytesToF64(blob, step.inSize);
        const mr = zeroBias.kind === 'conv2d' ? conv2d(zeroBias, r, step.inShape) : dense(zeroBias, r);
        const si = random.uniform(step.outSize, ranges.sRange);
        const yc = mr.map((v, i) => v - si[i]!);
        s.push(si);
        shares.push(f64ToBytes(yc));
        if (ranges.product) {
          const ai = random.uniform(step.outSize, ranges.product.aRange);
          const ti = random.uniform(step.outSize, ranges.product.tRange);
          a.push(ai);
          t.push(ti);
          products.push(f64ToBytes(mr.map((v, i) => v * ai[i]! - ti[i]!)));
        }
      }
      return ranges.product ? { response: [...shares, ...products], s, a, t } : { response: shares, s };
    },
    stats: () => null,
    close: () => {},
  };
}
