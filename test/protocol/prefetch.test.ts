import { afterAll, describe, expect, it } from 'vitest';
import { liveSealObjects } from '../../core/he/index.ts';
import { forward } from '../../core/model/forward.ts';
import { ckksClientProviders, ckksServerProviders } from '../../core/protocol/ckks-provider.ts';
import { TAG } from '../../core/protocol/messages.ts';
import { cryptoMasks } from '../../core/protocol/random.ts';
import { runClientSession, serveSession } from '../../core/schemes/index.ts';
import { memoryPair } from '../../core/transport/memory.ts';
import type { Transport } from '../../core/transport/transport.ts';
import { randomInput, relErr } from '../helpers/random-model.ts';
import { smallSquareNet } from '../helpers/small-net.ts';

type Ev = { kind: 'send'; tag: string } | { kind: 'ready'; upTo: number } | { kind: 'submit' | 'done'; index: number };

/** A client transport that logs every tag it sends into `log` (the order of events is what is asserted). */
function logged(t: Transport, log: Ev[]): Transport {
  return new Proxy(t, {
    get(target, key) {
      if (key === 'send')
        return (msg: { tag: string }) => (log.push({ kind: 'send', tag: msg.tag }), target.send(msg as never));
      const v = Reflect.get(target, key, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

async function run(prefetch: number, images: number) {
  const model = smallSquareNet(5);
  const inputs = Array.from({ length: images }, (_, i) => randomInput(model, 70 + i));
  const log: Ev[] = [];
  const [c0, s0] = memoryPair();
  const server = serveSession(s0, { model, providers: ckksServerProviders() });
  const client = await runClientSession(logged(c0, log), inputs, {
    scheme: 'merged',
    providers: ckksClientProviders(),
    random: cryptoMasks,
    prefetch,
    onPreprocessed: (start, count) => log.push({ kind: 'ready', upTo: start + count }),
    onSubmit: (index) => log.push({ kind: 'submit', index }),
    onImage: (index) => log.push({ kind: 'done', index }),
  });
  await server;
  client.logits.forEach((y, i) => expect(relErr(y, forward(model, inputs[i]!))).toBeLessThan(5e-4));
  return { client, log };
}

const OFFLINE_TAGS: string[] = [TAG.batch, TAG.preMasks, TAG.setup];

describe('prefetch: material ready before the image, the online stage alone after it (real CKKS)', () => {
  afterAll(() => expect(liveSealObjects()).toBe(0));

  it('every prefetched image finds its material ready and sends only online messages', async () => {
    const { client, log } = await run(2, 3);
    for (let i = 0; i < 3; i++) {
      const submit = log.findIndex((e) => e.kind === 'submit' && e.index === i);
      const done = log.findIndex((e) => e.kind === 'done' && e.index === i);
      const ready = log.findIndex((e) => e.kind === 'ready' && e.upTo > i);
      expect(submit).toBeGreaterThan(-1);
      // material for image i was complete (its batch's shares received and finished) before it was submitted
      expect(ready).toBeGreaterThan(-1);
      expect(ready).toBeLessThan(submit);
      const during = log.slice(submit + 1, done).filter((e) => e.kind === 'send') as { tag: string }[];
      expect(during.length).toBeGreaterThan(0);
      expect(during.filter((e) => OFFLINE_TAGS.includes(e.tag))).toEqual([]);
    }
    // pools of 2: the second pool (image 2) is refilled after image 1, before image 2 is taken in
    const batches = log.filter((e) => e.kind === 'send' && e.tag === TAG.batch).length;
    expect(batches).toBe(2);
    const { latency, perImage } = client;
    expect(latency.warmImages).toBe(3);
    // warm = the online stage alone; cold includes set-up and the first pool's preprocessing
    const sorted = [...perImage.onlineMs].sort((a, b) => a - b);
    expect(latency.warmMs).toBe(sorted[1]);
    expect(latency.coldMs).toBeGreaterThan(client.setup.wallMs + perImage.preprocessingMs[0]! * 2);
    expect(latency.warmMs!).toBeLessThan(latency.coldMs / 5);
    expect(liveSealObjects()).toBe(0);
  }, 120_000);

  it('without prefetch no image is warm (all were given at session start)', async () => {
    const { client, log } = await run(0, 2);
    expect(client.latency.warmMs).toBeNull();
    expect(client.latency.warmImages).toBe(0);
    expect(client.latency.coldMs).toBeGreaterThan(client.setup.wallMs);
    // one batch for both images: its preprocessing ran after both were given
    expect(log.filter((e) => e.kind === 'send' && e.tag === TAG.batch).length).toBe(1);
  }, 120_000);

  it('rejects a negative prefetch with a coded error before anything is sent', async () => {
    const [c0, s0] = memoryPair();
    const log: Ev[] = [];
    const opts = { scheme: 'merged', providers: ckksClientProviders(), random: cryptoMasks, prefetch: -1 };
    await expect(runClientSession(logged(c0, log), [], opts)).rejects.toMatchObject({ code: 'ARGUMENT_INVALID' });
    expect(log).toEqual([]);
    c0.close();
    s0.close();
  });
});
