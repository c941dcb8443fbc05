/**
 * Worker thread of the load-balancer test: runs `sessions` client sessions one after the
 * other against `url` (wss:// through nginx), each on the same `images` with seeded masks,
 * and posts every session's logits. Several of these threads share the test's cores.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { seededMasks } from '../../core/protocol/random.ts';
import { runClientSession } from '../../core/schemes/index.ts';
import { wsConnect } from '../../core/transport/websocket.ts';

interface Job {
  url: string;
  ca: string;
  token: string;
  sessions: number;
  inputs: Float64Array[];
  seed: number;
}

const job = workerData as Job;
const results: { logits: number[][] | null; error?: string }[] = [];
for (let i = 0; i < job.sessions; i++) {
  try {
    const t = await wsConnect(job.url, { ca: job.ca, token: job.token });
    const r = await runClientSession(t, job.inputs, {
      scheme: 'merged',
      random: seededMasks(job.seed),
      batchSize: job.inputs.length,
    });
    t.close();
    results.push({ logits: r.logits.map((y) => Array.from(y)) });
  } catch (e) {
    results.push({ logits: null, error: `${(e as { code?: string }).code ?? ''} ${(e as Error).message}` });
  }
}
parentPort!.postMessage(results);
