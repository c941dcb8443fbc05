/**
 * Worker pool for server-side evaluation (piscina: workers are reused, so node-seal and
 * the session's keys are initialised once per thread). Output ciphertexts are split into
 * one contiguous chunk per worker, balanced by term count; each chunk carries only the
 * client ciphertexts and weight vectors it uses. The set-up bytes travel once in a
 * SharedArrayBuffer (no copy) and are cached per session id inside each worker.
 *
 * One pool of threads per process and size, shared by every session (infer, serve,
 * bench): sessions only differ by their id, so the threads' node-seal instances and
 * encoded-weight caches outlive a session. The threads stop when the last session using
 * them is deleted (`keepEvalPool` holds them for a long-lived server).
 */
import { Piscina } from 'piscina';
import { errorFromJSON } from '../errors.ts';
import type { Conv2dLayer, DenseLayer } from '../model/types.ts';
import type { EvalOutputJob, EvalResult } from './eval-core.ts';
import type { HePlan } from './layout.ts';
import type { CkksParams } from './params.ts';
import { buildJob } from './server-jobs.ts';
import { zeroCounts, addCounts } from './stats.ts';
import type { HeOpCounts } from './stats.ts';
import type { WorkerTask, WorkerReply } from './eval-worker.ts';

const pools = new Map<number, { piscina: Piscina; users: number }>();

function acquire(size: number): Piscina {
  let p = pools.get(size);
  if (!p) {
    p = {
      piscina: new Piscina({
        filename: new URL('./eval-worker.ts', import.meta.url).href,
        minThreads: size,
        maxThreads: size,
        idleTimeout: 60_000,
      }),
      users: 0,
    };
    pools.set(size, p);
  }
  p.users++;
  return p.piscina;
}

async function release(size: number): Promise<void> {
  const p = pools.get(size);
  if (!p || --p.users > 0) return;
  pools.delete(size);
  await p.piscina.destroy();
}

/** Keep the shared pool of `size` threads alive across sessions (a server); returns the release function. */
export function keepEvalPool(size: number): () => Promise<void> {
  acquire(size);
  let done = false;
  return async () => {
    if (!done) {
      done = true;
      await release(size);
    }
  };
}

/** Sessions currently holding a shared pool, by thread count (tests). */
export function evalPoolUsers(): Record<number, number> {
  return Object.fromEntries([...pools].map(([k, v]) => [k, v.users]));
}

export class EvalPool {
  readonly size: number;
  readonly #piscina: Piscina;
  #released = false;
  readonly #sessionId: string;
  readonly #params: CkksParams;
  readonly #setup: Uint8Array;

  constructor(size: number, sessionId: string, params: CkksParams, setupMessage: Uint8Array) {
    this.size = size;
    this.#sessionId = sessionId;
    this.#params = params;
    const shared = new Uint8Array(new SharedArrayBuffer(setupMessage.length));
    shared.set(setupMessage);
    this.#setup = shared;
    this.#piscina = acquire(size);
  }

  /** Evaluate `outputs` across the pool; results in output order plus the summed op counts. */
  async run(
    layer: Conv2dLayer | DenseLayer,
    plan: HePlan,
    inputLevel: number,
    outputs: readonly EvalOutputJob[],
    cts: readonly Uint8Array[],
    inputScale?: number,
  ): Promise<{ result: EvalResult; ops: HeOpCounts }> {
    const chunks = splitByWork(outputs, this.size);
    const replies = await Promise.all(
      chunks.map((chunk) => {
        const job = buildJob(layer, plan, inputLevel, chunk, inputScale);
        const inputs = new Map<number, Uint8Array>();
        for (const o of chunk)
          for (const t of o.terms) if (!inputs.has(t.input) && job.pts.get(t.pt)) inputs.set(t.input, cts[t.input]!);
        const task: WorkerTask = { sessionId: this.#sessionId, params: this.#params, setup: this.#setup, job, inputs };
        return this.#piscina.run(task) as Promise<WorkerReply>;
      }),
    );
    const ops = zeroCounts();
    const result: EvalResult = { share: [], product: [] };
    for (const r of replies) {
      if ('error' in r) throw errorFromJSON(r.error);
      addCounts(ops, r.ops);
      result.share.push(...r.share);
      result.product.push(...r.product);
    }
    return { result, ops };
  }

  /** Start every worker and load the session keys there (node-seal init + key load, once per thread). */
  async warm(): Promise<void> {
    const replies = await Promise.all(
      Array.from(
        { length: this.size },
        () =>
          this.#piscina.run({
            sessionId: this.#sessionId,
            params: this.#params,
            setup: this.#setup,
            warmOnly: true,
          } satisfies WorkerTask) as Promise<WorkerReply>,
      ),
    );
    for (const r of replies) if ('error' in r) throw errorFromJSON(r.error);
  }

  /** This session is done with the shared threads (they stop when no session uses them). Safe to call twice. */
  async destroy(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    await release(this.size);
  }
}

/** Contiguous chunks with roughly equal term counts (never empty). */
function splitByWork(outputs: readonly EvalOutputJob[], parts: number): EvalOutputJob[][] {
  const total = outputs.reduce((s, o) => s + o.terms.length + 1, 0);
  const chunks: EvalOutputJob[][] = [];
  let cur: EvalOutputJob[] = [],
    acc = 0;
  for (const o of outputs) {
    cur.push(o);
    acc += o.terms.length + 1;
    if (acc >= (total * (chunks.length + 1)) / parts && chunks.length < parts - 1) {
      chunks.push(cur);
      cur = [];
    }
  }
  if (cur.length) chunks.push(cur);
  return chunks;
}
