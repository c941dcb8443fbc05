/**
 * Memory soak: N consecutive secure inferences in ONE process (client and server in the
 * same thread, so liveSealObjects() sees both sides), in sessions of `--per-session`
 * images. Prints live SEAL objects and RSS after every session; exits 1 when objects leak
 * or RSS after the last session exceeds RSS after the first 100 images by more than 10 %.
 *
 *   node scripts/soak.ts --model mnist --images 1000 --per-session 100
 */
import { loadDataset } from '../core/data/datasets.ts';
import { liveSealObjects } from '../core/he/index.ts';
import { loadModel } from '../core/model/load.ts';
import { ckksClientProviders, ckksServerProviders } from '../core/protocol/ckks-provider.ts';
import { cryptoMasks } from '../core/protocol/random.ts';
import { runClientSession, serveSession } from '../core/schemes/index.ts';
import { modelInput } from '../core/model/input.ts';
import { memoryPair } from '../core/transport/memory.ts';
import { parseCommandArgs } from '../core/cli/args.ts';

const { values: o } = parseCommandArgs(
  {
    options: {
      model: { type: 'string', default: 'mnist', description: 'model' },
      dataset: { type: 'string', description: "dataset (default: the model's)" },
      images: { type: 'int', default: 1000, min: 1, description: 'inferences in all' },
      'per-session': { type: 'int', default: 100, min: 1, description: 'inferences per session' },
    },
  },
  process.argv.slice(2),
);
const model = await loadModel(o.model);
const ds = await loadDataset(o.dataset ?? model.meta.dataset ?? 'mnist', 'test');
const total = o.images;
const per = o['per-session'];
const mib = (b: number): string => (b / 1048576).toFixed(1);
let done = 0,
  rssAfter100 = 0;
const t0 = performance.now();
while (done < total) {
  const n = Math.min(per, total - done);
  const inputs = Array.from({ length: n }, (_, i) => modelInput(model, ds, (done + i) % ds.count));
  const [ct, st] = memoryPair();
  const server = serveSession(st, { model, providers: ckksServerProviders() });
  await runClientSession(ct, inputs, { scheme: 'merged', providers: ckksClientProviders(), random: cryptoMasks });
  await server;
  done += n;
  (globalThis as { gc?: () => void }).gc?.();
  const rss = process.memoryUsage().rss;
  if (done >= 100 && rssAfter100 === 0) rssAfter100 = rss;
  console.log(
    `inferences ${done}  live SEAL objects ${liveSealObjects()}  RSS ${mib(rss)} MiB  ` +
      `${((performance.now() - t0) / 1000).toFixed(0)} s`,
  );
}
const final = process.memoryUsage().rss;
const growth = rssAfter100 ? (final - rssAfter100) / rssAfter100 : 0;
console.log(
  `RSS after 100: ${mib(rssAfter100)} MiB, after ${done}: ${mib(final)} MiB, growth ${(100 * growth).toFixed(1)} %; ` +
    `live SEAL objects ${liveSealObjects()}`,
);
process.exitCode = liveSealObjects() === 0 && growth <= 0.1 ? 0 : 1;
