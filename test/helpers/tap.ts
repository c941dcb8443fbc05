/** A transport wrapper that records every message its owner receives: a party's complete view. */
import type { Message, Transport } from '../../core/transport/transport.ts';

/** `t` with its send and/or receive replaced (everything else forwarded): a test's view or tamper point. */
export function wrapTransport(t: Transport, over: Partial<Pick<Transport, 'send' | 'receive'>>): Transport {
  return {
    send: over.send ?? ((m) => t.send(m)),
    receive: over.receive ?? ((o) => t.receive(o)),
    close: (r) => t.close(r),
    get closed() {
      return t.closed;
    },
    get stats() {
      return t.stats;
    },
    onClose: (cb) => t.onClose(cb),
  };
}

/** `t` with every message its owner receives recorded in `received`. */
export function tap(t: Transport): { transport: Transport; received: Message[] } {
  const received: Message[] = [];
  const transport = wrapTransport(t, {
    receive: async (o) => {
      const m = await t.receive(o);
      received.push(m);
      return m;
    },
  });
  return { transport, received };
}

/** Two-sample Kolmogorov–Smirnov statistic D and the 0.1 %-level critical value. */
export function ks(a: ArrayLike<number>, b: ArrayLike<number>): { d: number; critical: number } {
  const x = Float64Array.from(a).sort(),
    y = Float64Array.from(b).sort();
  let i = 0,
    j = 0,
    d = 0;
  while (i < x.length && j < y.length) {
    if (x[i]! <= y[j]!) i++;
    else j++;
    d = Math.max(d, Math.abs(i / x.length - j / y.length));
  }
  const n = x.length,
    m = y.length;
  return { d, critical: 1.95 * Math.sqrt((n + m) / (n * m)) };
}
