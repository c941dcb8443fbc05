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

export type Event = { dir: 'send'; frame: Uint8Array; tag: string } | { dir: 'recv'; tag: string };

export interface Recording {
  events: Event[];
  logits: Float64Array[];
}

/** Wrap `t` so that every send and every completed receive is appended to `events`. */
function recording(t: Transport, events: Event[]): Transport {
  return {
    send(msg: Message) {
      events.push({ dir: 'send', frame: encodeFrame(msg), tag: msg.tag });
      t.send(msg);
    },
    async receive(opts) {
      const m = await t.receive(opts);
      events.push({ dir: 'recv', tag: m.tag });
      return m;
    },
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
  /** how the session ended */
  end: 'completed' | 'error' | 'closed' | 'killed' | 'silent';
  /** the server's error code, when it sent one */
  code?: string;
  /** longest wait for the server, ms */
  maxWaitMs: number;
  /** the server message that took longest */
  slowest?: string;
  /** per recorded event index: how long the wait for it took, ms */
  waits: Record<number, number>;
}

/**
 * Replay `rec` against `url` with mutation `m`. Resolves with the outcome: 'silent' when a
 * due server message, error or close did not come within `silenceMs` beyond `baseline[i]`
 * (the time the unmutated session needs for that step: real work, e.g. HE evaluation,
 * is not silence; see baselineOf).
 */
export async function replay(
  url: string,
  rec: Recording,
  m: Mutation,
  silenceMs = 2000,
  baseline: Record<number, number> = {},
): Promise<ReplayOutcome> {
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
  let maxWaitMs = 0;
  let slowest: string | undefined;
  /** Wait for one server message; undefined on close, 'silent' on timeout. */
  const waits: Record<number, number> = {};
  const next = async (at: number): Promise<Message | undefined | 'silent'> => {
    const t0 = performance.now();
    const limit = silenceMs + (baseline[at] ?? 0);
    while (inbox.length === 0 && !closed) {
      const left = limit - (performance.now() - t0);
      if (left <= 0) return 'silent';
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
    if (waited > maxWaitMs) [maxWaitMs, slowest] = [waited, got?.tag ?? 'close'];
    return got;
  };
  try {
    for (let i = 0; i < rec.events.length; i++) {
      if (m.kind === 'kill' && i === m.at) {
        ws.terminate();
        return { end: 'killed', maxWaitMs, waits };
      }
      const e = rec.events[i]!;
      if (e.dir === 'send') {
        if (closed) return { end: 'closed', maxWaitMs, waits };
        ws.send('frame' in m && m.frame === i ? mutateFrame(e.frame, m) : e.frame);
        continue;
      }
      const got = await next(i);
      if (got === 'silent') return { end: 'silent', maxWaitMs, waits };
      if (got === undefined) return { end: 'closed', maxWaitMs, waits };
      if (got.tag === 'error')
        return { end: 'error', code: String((got.header as { code?: unknown })?.code), maxWaitMs, waits };
    }
    // after bye the server ends the session: it must close (or report an error) promptly
    const last = await next(rec.events.length);
    if (last === 'silent') return { end: 'silent', maxWaitMs, waits };
    if (last && last.tag === 'error')
      return { end: 'error', code: String((last.header as { code?: unknown })?.code), maxWaitMs, waits };
    return { end: 'completed', maxWaitMs, waits, ...(slowest ? { slowest } : {}) };
  } finally {
    ws.terminate();
  }
}

/** Per event, the longest wait over unmutated replays (the time the real work takes). */
export function baselineOf(outcomes: readonly ReplayOutcome[]): Record<number, number> {
  const out: Record<number, number> = {};
  for (const o of outcomes)
    for (const [k, v] of Object.entries(o.waits)) out[Number(k)] = Math.max(out[Number(k)] ?? 0, v);
  return out;
}

/** Read VmRSS of `pid` in MiB (Linux). */
export async function rssMiB(pid: number): Promise<number> {
  const { readFileSync } = await import('node:fs');
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
}
