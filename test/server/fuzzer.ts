/**
 * A bounded session fuzzer for `ppnn serve` (used by test/server/fuzz-memory.test.ts and,
 * for long runs, scripts/fuzz-serve.ts).
 *
 * `recordSession` runs one real client session and keeps the order of what the client
 * sent and when it waited for the server. `replay` plays that recording on a raw socket
 * with at most one frame mutated (or the socket killed part-way), waiting for each server
 * message the recording says is due. A session passes when every wait ends within
 * `silenceMs` with a message, a coded error or a close; a wait that ends in nothing is a
 * "silent" session — the failure issue 13 counted 23 of in 849.
 */
import WebSocket from 'ws';
import { mulberry32 } from '../../core/data/datasets.ts';
import { cryptoMasks } from '../../core/protocol/random.ts';
import { runClientSession } from '../../core/schemes/index.ts';
import { decodeFrame, encodeFrame, type Message } from '../../core/transport/frame.ts';
import type { Transport } from '../../core/transport/transport.ts';
import { wsConnect } from '../../core/transport/websocket.ts';
import { wrapTransport } from '../helpers/tap.ts';

export type Event = { dir: 'send'; frame: Uint8Array; tag: string } | { dir: 'recv'; tag: string };

export interface Recording {
  events: Event[];
  logits: Float64Array[];
}

/** Wrap `t` so that every send and every completed receive is appended to `events`. */
function recording(t: Transport, events: Event[]): Transport {
  return wrapTransport(t, {
    send(msg: Message) {
      events.push({ dir: 'send', frame: encodeFrame(msg), tag: msg.tag });
      t.send(msg);
    },
    async receive(opts) {
      const m = await t.receive(opts);
      events.push({ dir: 'recv', tag: m.tag });
      return m;
    },
  });
}

/** Run a real session of `inputs` against `url` (scheme merged) and record it. */
export async function recordSession(url: string, inputs: Float64Array[]): Promise<Recording> {
  const events: Event[] = [];
  const t = await wsConnect(url);
  try {
    const r = await runClientSession(recording(t, events), inputs, { scheme: 'merged', random: cryptoMasks });
    return { events, logits: r.logits };
  } finally {
    t.close();
  }
}

export type Mutation =
  | { kind: 'none' }
  | { kind: 'kill'; at: number } // the client vanishes after `at` events
  | { kind: 'byte'; frame: number; offset: number; value: number }
  | { kind: 'truncate'; frame: number; keep: number }
  | { kind: 'header'; frame: number; path: string; value: unknown }
  | { kind: 'tag'; frame: number; tag: string };

const TAGS = ['hello', 'setup', 'batch', 'pre.masks', 'on.input', 'on.share', 'on.enc', 'bye', 'error', 'arch', 'x'];
const ODD_VALUES: unknown[] = [0, -1, 1, 2, 7, 1e9, 0.5, null, 'x', true, [], {}, 'merged', 'ppnn/1'];

/** The `n`-th random mutation of a recording (deterministic in `seed`). */
export function randomMutation(rec: Recording, seed: number): Mutation {
  const rand = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const sends = rec.events.flatMap((e, i) => (e.dir === 'send' ? [i] : []));
  const frame = pick(sends);
  const bytes = (rec.events[frame] as { frame: Uint8Array }).frame;
  const r = rand();
  if (r < 0.1) return { kind: 'kill', at: 1 + Math.floor(rand() * (rec.events.length - 1)) };
  if (r < 0.3) {
    // mostly the tag / header region, where a change still parses
    const offset = rand() < 0.7 ? Math.floor(rand() * Math.min(bytes.length, 160)) : Math.floor(rand() * bytes.length);
    return { kind: 'byte', frame, offset, value: Math.floor(rand() * 256) };
  }
  if (r < 0.4) return { kind: 'truncate', frame, keep: Math.floor(rand() * bytes.length) };
  if (r < 0.5) return { kind: 'tag', frame, tag: pick(TAGS) };
  const header = decodeFrame(bytes).header;
  const keys = header && typeof header === 'object' ? Object.keys(header) : [];
  const path = keys.length && rand() < 0.8 ? pick(keys) : rand() < 0.5 ? '$' : 'junk';
  return { kind: 'header', frame, path, value: pick(ODD_VALUES) };
}

function mutateFrame(frame: Uint8Array, m: Mutation): Uint8Array {
  if (m.kind === 'byte') {
    const out = frame.slice();
    out[m.offset] = m.value === out[m.offset] ? (m.value + 1) & 255 : m.value;
    return out;
  }
  if (m.kind === 'truncate') return frame.slice(0, m.keep);
  const msg = decodeFrame(frame);
  if (m.kind === 'tag') return encodeFrame({ ...msg, tag: m.tag });
  if (m.kind === 'header') {
    const header = m.path === '$' ? m.value : { ...(msg.header as object), [m.path]: m.value };
    return encodeFrame({ ...msg, header });
  }
  return frame;
}

export interface ReplayOutcome {
  /**
   * how the session ended; 'silent': a wait after the mutated frame got nothing within
   * silenceMs beyond the step's unmutated time; 'stalled': a wait before it (unmutated
   * traffic) got nothing within hangMs
   */
  end: 'completed' | 'error' | 'closed' | 'killed' | 'silent' | 'stalled';
  /** the server's error code, when it sent one */
  code?: string;
  /** the server's error message, when it sent one (to tell an INTERNAL's cause) */
  message?: string;
  /** longest wait for the server, ms */
  maxWaitMs: number;
  /** the server message that took longest */
  slowest?: string;
  /** longest wait after the mutated frame was sent (the server's answer to it), ms */
  answerMs: number;
  /** longest wait after the mutated frame beyond the step's unmutated time, ms */
  excessMs: number;
  /** per recorded event index: how long the wait for it took, ms */
  waits: Record<number, number>;
}

/**
 * How long each step of the recording takes unmutated, kept current: every wait a replay
 * makes before its mutated frame is unmutated traffic and is observed here, and the limit
 * of a step is the longest of its last `window` observations. Under load a step of real
 * work (HE evaluation, a cold session process) takes seconds longer than on an idle
 * machine; a fixed baseline measured at the start then counts that as "silence" (the 88
 * silent sessions of 200 at load 4-16 before this, none of them a frame the server waited
 * on: a client killed at event 10 was "silent" at event 6).
 */
export class Baseline {
  readonly #seen = new Map<number, number[]>();
  readonly window: number;
  /** Throws RangeError for a window < 1. */
  constructor(window = 24) {
    if (!(window >= 1)) throw new RangeError(`window must be >= 1, got ${window}`);
    this.window = window;
  }
  /** Record that event `at` took `ms` unmutated. */
  observe(at: number, ms: number): void {
    const xs = this.#seen.get(at) ?? [];
    xs.push(ms);
    if (xs.length > this.window) xs.shift();
    this.#seen.set(at, xs);
  }
  /** The unmutated time of event `at` now (0 when never seen). */
  of(at: number): number {
    return Math.max(0, ...(this.#seen.get(at) ?? []));
  }
  /** Seed from unmutated replays. */
  static from(outcomes: readonly ReplayOutcome[], window?: number): Baseline {
    const b = new Baseline(window);
    for (const o of outcomes) for (const [k, v] of Object.entries(o.waits)) b.observe(Number(k), v);
    return b;
  }
}

/** Index of the first event the mutation changes (events before it are unmutated traffic). */
export function mutatedAt(m: Mutation, events: number): number {
  if (m.kind === 'none') return events + 1;
  return m.kind === 'kill' ? m.at : m.frame;
}

export interface ReplayOptions {
  /** longest acceptable wait after the mutated frame, beyond the step's unmutated time (default 2000 ms) */
  silenceMs?: number;
  /** longest acceptable wait on unmutated traffic (default 60 s) */
  hangMs?: number;
  baseline?: Baseline;
}

/**
 * Replay `rec` against `url` with mutation `m`. Resolves with the outcome; waits before
 * the mutated frame feed `opts.baseline` (see Baseline), waits after it must end within
 * silenceMs beyond the baseline, or the session is 'silent'.
 */
export async function replay(
  url: string,
  rec: Recording,
  m: Mutation,
  opts: ReplayOptions = {},
): Promise<ReplayOutcome> {
  const silenceMs = opts.silenceMs ?? 2000;
  const hangMs = opts.hangMs ?? 60_000;
  const baseline = opts.baseline;
  const firstMutated = mutatedAt(m, rec.events.length);
  const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 512 * 1024 * 1024 });
  const inbox: Message[] = [];
  let closed = false;
  let wake: (() => void) | undefined;
  ws.on('message', (d: Buffer) => {
    try {
      const msg = decodeFrame(new Uint8Array(d), { maxFrameBytes: 512 * 1024 * 1024 });
      if (msg.tag !== 'auth.challenge') inbox.push(msg);
    } catch {
      inbox.push({ tag: 'undecodable', header: null, blobs: [] });
    }
    wake?.();
  });
  ws.on('close', () => {
    closed = true;
    wake?.();
  });
  ws.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  let maxWaitMs = 0,
    answerMs = 0,
    excessMs = 0;
  let slowest: string | undefined;
  const waits: Record<number, number> = {};
  /** Wait for the server message due at event `at`; undefined on close, 'silent'/'stalled' on timeout. */
  const next = async (at: number): Promise<Message | undefined | 'silent' | 'stalled'> => {
    const t0 = performance.now();
    const after = at > firstMutated;
    const base = baseline?.of(at) ?? 0;
    const limit = after ? silenceMs + base : hangMs;
    while (inbox.length === 0 && !closed) {
      const left = limit - (performance.now() - t0);
      if (left <= 0) {
        if (after) excessMs = Math.max(excessMs, performance.now() - t0 - base);
        return after ? 'silent' : 'stalled';
      }
      await new Promise<void>((r) => {
        const timer = setTimeout(r, left);
        wake = () => {
          clearTimeout(timer);
          r();
        };
      });
      wake = undefined;
    }
    const waited = performance.now() - t0;
    waits[at] = waited;
    const got = inbox.shift();
    if (after) {
      answerMs = Math.max(answerMs, waited);
      excessMs = Math.max(excessMs, waited - base);
    } else if (got && got.tag !== 'error') baseline?.observe(at, waited);
    if (waited > maxWaitMs) [maxWaitMs, slowest] = [waited, got?.tag ?? 'close'];
    return got;
  };
  const out = (end: ReplayOutcome['end'], code?: string, message?: string): ReplayOutcome => ({
    end,
    ...(code !== undefined ? { code } : {}),
    ...(message !== undefined ? { message } : {}),
    maxWaitMs,
    answerMs,
    excessMs,
    waits,
    ...(slowest ? { slowest } : {}),
  });
  const codeOf = (msg: Message) => String((msg.header as { code?: unknown })?.code);
  const messageOf = (msg: Message) => String((msg.header as { message?: unknown })?.message);
  try {
    for (let i = 0; i < rec.events.length; i++) {
      if (m.kind === 'kill' && i === m.at) {
        ws.terminate();
        return out('killed');
      }
      const e = rec.events[i]!;
      if (e.dir === 'send') {
        if (closed) return out('closed');
        ws.send('frame' in m && m.frame === i ? mutateFrame(e.frame, m) : e.frame);
        continue;
      }
      const got = await next(i);
      if (got === 'silent' || got === 'stalled') return out(got);
      if (got === undefined) return out('closed');
      if (got.tag === 'error') return out('error', codeOf(got), messageOf(got));
    }
    // after bye the server ends the session: it must close (or report an error) promptly
    const last = await next(rec.events.length);
    if (last === 'silent' || last === 'stalled') return out(last);
    if (last && last.tag === 'error') return out('error', codeOf(last), messageOf(last));
    return out('completed');
  } finally {
    ws.terminate();
  }
}

/**
 * VmRSS of `pid` and all its descendants in MiB (Linux): `ppnn serve` runs each session, and
 * its warm spare, in a child process, so the server's memory is its whole process tree.
 */
export async function rssMiB(pid: number): Promise<number> {
  const { readFileSync, readdirSync } = await import('node:fs');
  const read = (p: number): string | undefined => {
    try {
      return readFileSync(`/proc/${p}/status`, 'utf8');
    } catch {
      return undefined; // exited since it was listed
    }
  };
  const children = (p: number): number[] => {
    try {
      return readdirSync(`/proc/${p}/task`).flatMap((tid) =>
        readFileSync(`/proc/${p}/task/${tid}/children`, 'utf8').split(' ').filter(Boolean).map(Number),
      );
    } catch {
      return [];
    }
  };
  let kib = 0;
  for (const todo = [pid]; todo.length > 0; ) {
    const p = todo.pop()!;
    const status = read(p);
    if (status === undefined) continue;
    kib += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    todo.push(...children(p));
  }
  return kib / 1024;
}
