/**
 * The cost of messages between the two role threads, measured here and now for the plan's
 * time model (core/runtime/predict*.ts: the set-up upload and each preprocessing batch's
 * frames are charged at this cost).
 *
 * The measurement is the runs' own set-up: two real worker threads (this module is their
 * entry), joined by a MessageChannel wrapped in the transport the local roles use
 * (messagePortTransport: frames encoded, transferred, decoded, queued, received by
 * awaiting), the main thread idle as runSession's is. A chain of messages, each with its
 * direction and blob sizes, is played by both threads, each sending its own messages and
 * awaiting its peer's; the median over a few repetitions is the chain's time.
 *
 * What it shows (2026-12-02): ~0.16 ms a message one way even at load 10, far below the
 * 3.5–15 ms per message the round-4 figures attributed to the hops; the online stage is
 * therefore timed as a whole in fresh threads (predict-online.ts), not as arithmetic plus
 * messages × this cost.
 */
import { MessageChannel, Worker, isMainThread, parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { messagePortTransport } from '../transport/message-port.ts';
import type { Transport } from '../transport/transport.ts';

/** One message of a chain: who sends it, its tag and the sizes of its blobs. */
export interface ChainMessage {
  readonly from: 'client' | 'server';
  readonly tag: string;
  readonly blobs: readonly number[];
}

export interface MessageCost {
  /** ms for one small frame from one role thread to the other (a chain of small frames ÷ its length) */
  readonly oneWayMs: number;
  /** ms per byte of a frame beyond the small one (copy, encode, decode) */
  readonly msPerByte: number;
}

interface ChainJob {
  chain: readonly ChainMessage[];
  reps: number;
}
interface WorkerInit {
  ppnnLatency: { side: 'client' | 'server'; peer: MessagePort };
}

const WARM_UP = 2;
/** between repetitions both threads idle, as roles waiting for their peer's arithmetic are */
const IDLE_MS = 2;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Play `chain` once on `t` as `side`: send own messages, await the peer's (in order). */
async function play(t: Transport, side: 'client' | 'server', chain: readonly ChainMessage[]): Promise<void> {
  for (const m of chain) {
    if (m.from === side) t.send({ tag: m.tag, header: { step: 1 }, blobs: m.blobs.map((n) => new Uint8Array(n)) });
    else await t.receive({ timeoutMs: 60_000 });
  }
}

/** Worker side: play each job's chain `reps + WARM_UP` times; the client reports the times of the last `reps`. */
function serveChains(init: WorkerInit['ppnnLatency']): void {
  const t = messagePortTransport(init.peer);
  const control = parentPort!;
  control.on('message', (job: ChainJob | 'stop') => {
    if (job === 'stop') {
      t.close();
      control.close();
      return;
    }
    void (async () => {
      const times: number[] = [];
      for (let i = 0; i < job.reps + WARM_UP; i++) {
        if (init.side === 'client') await sleep(IDLE_MS);
        const t0 = performance.now();
        await play(t, init.side, job.chain);
        if (i >= WARM_UP) times.push(performance.now() - t0);
      }
      if (init.side === 'client') control.postMessage(times);
    })().catch((e: unknown) => control.postMessage({ error: String(e) }));
  });
}

if (!isMainThread && (workerData as Partial<WorkerInit> | null)?.ppnnLatency) {
  serveChains((workerData as WorkerInit).ppnnLatency);
}

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

/**
 * A pair of role-like worker threads for timing message chains. `close()` when done.
 * A chain must start with a client message and end with a server message (the client
 * times it: start of its first send to the arrival of the last message), as every
 * online image and preprocessing batch does; RangeError otherwise.
 */
export class MessageBench {
  readonly #client: Worker;
  readonly #server: Worker;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(client: Worker, server: Worker) {
    this.#client = client;
    this.#server = server;
  }

  static start(): MessageBench {
    const { port1, port2 } = new MessageChannel();
    const spawn = (side: 'client' | 'server', peer: MessagePort) =>
      new Worker(new URL(import.meta.url), {
        workerData: { ppnnLatency: { side, peer } } satisfies WorkerInit,
        transferList: [peer],
      });
    return new MessageBench(spawn('client', port1), spawn('server', port2));
  }

  /** Median ms of `reps` plays of `chain` (after two warm-up plays). Jobs run one at a time. */
  chainMs(chain: readonly ChainMessage[], reps = 5): Promise<number> {
    if (chain.length === 0 || chain[0]!.from !== 'client' || chain.at(-1)!.from !== 'server')
      throw new RangeError('a timed chain starts with a client message and ends with a server message');
    const run = this.#queue.then(
      () =>
        new Promise<number>((resolve, reject) => {
          const onMessage = (m: number[] | { error: string }) => {
            this.#client.off('error', reject);
            if (Array.isArray(m)) resolve(median(m));
            else reject(new Error(`message bench: ${m.error}`));
          };
          this.#client.once('message', onMessage);
          this.#client.once('error', reject);
          const job: ChainJob = { chain, reps };
          this.#server.postMessage(job);
          this.#client.postMessage(job);
        }),
    );
    this.#queue = run.catch(() => {});
    return run;
  }

  /** The per-message cost: a chain of 8 small frames each way, and one of 1 MiB frames for the per-byte part. */
  async messageCost(): Promise<MessageCost> {
    const pingPong = (n: number, bytes: number): ChainMessage[] =>
      Array.from({ length: 2 * n }, (_, i) => ({ from: i % 2 ? 'server' : 'client', tag: 'on.share', blobs: [bytes] }));
    const small = (await this.chainMs(pingPong(8, 64), 7)) / 16;
    const big = (await this.chainMs(pingPong(2, 1 << 20), 3)) / 4;
    return { oneWayMs: small, msPerByte: Math.max(0, (big - small) / (1 << 20)) };
  }

  async close(): Promise<void> {
    await this.#queue;
    this.#client.postMessage('stop');
    this.#server.postMessage('stop');
    await Promise.all([this.#client.terminate(), this.#server.terminate()]);
  }
}

/** Measure the per-message cost between two role-like threads (~0.5 s with the threads' start). */
export async function measureMessageCost(): Promise<MessageCost> {
  const bench = MessageBench.start();
  try {
    return await bench.messageCost();
  } finally {
    await bench.close();
  }
}
