/**
 * piscina worker: evaluates a chunk of output ciphertexts with eval-core. Keeps the
 * HeContext and keys of the last four sessions (set-up loaded once per thread).
 * Errors return as plain data (PpnnError.toJSON) so the code survives the thread hop.
 */
import type { Ciphertext } from 'node-seal';
import { toPpnnError } from '../errors.ts';
import { HeContext } from './context.ts';
import { evaluateJob } from './eval-core.ts';
import type { EvalJob, ServerKeys } from './eval-core.ts';
import type { CkksParams } from './params.ts';
import { WeightCache, ZeroPool } from './reuse.ts';
import { Scope } from './seal.ts';
import { loadServerKeys } from './server-jobs.ts';
import type { HeOpCounts } from './stats.ts';
import { OP_NAMES, addCounts, zeroCounts } from './stats.ts';

export interface WorkerTask {
  readonly sessionId: string;
  readonly params: CkksParams;
  readonly setup: Uint8Array;
  readonly job?: EvalJob;
  readonly inputs?: ReadonlyMap<number, Uint8Array>;
  /** only load the session (pool warm-up) */
  readonly warmOnly?: boolean;
}

export type WorkerReply =
  | { share: Uint8Array[]; product: Uint8Array[]; ops: HeOpCounts }
  | { error: ReturnType<ReturnType<typeof toPpnnError>['toJSON']> };

const sessions = new Map<string, { he: HeContext; keys: ServerKeys; zeros: ZeroPool }>();
/** encoded weights, shared by every session this thread serves (keys include the parameters) */
const weights = new WeightCache();

async function session(task: WorkerTask): Promise<{ he: HeContext; keys: ServerKeys; zeros: ZeroPool }> {
  let s = sessions.get(task.sessionId);
  if (!s) {
    const he = await HeContext.create(task.params);
    try {
      const keys = loadServerKeys(he, task.setup);
      s = { he, keys, zeros: new ZeroPool(he, keys.encryptor) };
    } catch (e) {
      he.delete();
      throw e;
    }
    sessions.set(task.sessionId, s);
    while (sessions.size > 4) {
      const [oldest, old] = sessions.entries().next().value!;
      old.zeros.close();
      old.he.delete();
      sessions.delete(oldest);
    }
  }
  return s;
}

export default async function evaluateChunk(task: WorkerTask): Promise<WorkerReply> {
  try {
    const { he, keys, zeros } = await session(task);
    if (task.warmOnly || !task.job || !task.inputs) return { share: [], product: [], ops: zeroCounts() };
    const job = task.job;
    const before = addCounts(zeroCounts(), he.stats.use(job.layer).ops);
    const scope = new Scope();
    try {
      const loaded = new Map<number, Ciphertext>();
      for (const [i, bytes] of task.inputs)
        loaded.set(i, he.loadBytes(scope, bytes, 'mask', job.inputLevel, `ciphertext ${i}`));
      const r = evaluateJob(he, keys, (i) => loaded.get(i)!, job, { weights, zeros });
      // the next batch needs as many zeros again: made while this thread waits for it
      zeros.want(job.layer, job.inputLevel, job.outputs.length);
      if (job.outputs.some((o) => o.product)) zeros.want(job.layer, job.inputLevel - 1, job.outputs.length);
      const after = he.stats.use(job.layer).ops;
      const ops = zeroCounts();
      for (const k of OP_NAMES) ops[k] = after[k] - before[k];
      return { share: r.share, product: r.product, ops };
    } finally {
      scope.free();
    }
  } catch (e) {
    return { error: toPpnnError(e).toJSON() };
  }
}
