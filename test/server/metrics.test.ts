/**
 * /metrics after one good session and one failed in-session (a mutated frame): the
 * Prometheus text parses line by line, and the session gauges, counters by error code,
 * byte counters and stage-duration histograms carry what happened.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { randomInput } from '../helpers/random-model.ts';
import { recordSession, replay } from './fuzzer.ts';
import { model, startServer, stopServers } from './helpers.ts';

afterAll(stopServers);

/** Parse Prometheus text exposition: every non-comment line is `name{labels} value`. */
function parse(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (-?[0-9.eE+-]+|NaN|\+Inf|-Inf)$/.exec(line);
    if (!m) throw new Error(`not Prometheus text: ${line}`);
    out.set(m[1]!, Number(m[2]));
  }
  return out;
}

describe('/metrics', () => {
  it('counts a good and a failed session by code, bytes and stage durations', async () => {
    const s = await startServer();
    const rec = await recordSession(s.url, [randomInput(model, 1)]);
    const bad = await replay(s.url, rec, { kind: 'tag', frame: 3, tag: 'x' });
    expect(bad.end).toBe('error');
    await new Promise((r) => setTimeout(r, 1500));
    const m = parse(await (await fetch(s.url.replace(/^ws/, 'http') + '/metrics')).text());
    expect(m.get('ppnn_sessions_active')).toBe(0);
    expect(m.get('ppnn_sessions_total')).toBe(2);
    expect(m.get('ppnn_sessions_failed_total{code="PROTOCOL_VIOLATION"}')).toBe(1);
    expect(m.get('ppnn_bytes_received_total')!).toBeGreaterThan(1e5);
    expect(m.get('ppnn_bytes_sent_total')!).toBeGreaterThan(1e3);
    // the warm spare session process is alive and counted (tens of MiB: a Node runtime with SEAL)
    expect(m.get('ppnn_session_processes_rss_bytes')!).toBeGreaterThan(20 * 2 ** 20);
    for (const stage of ['handshake', 'preprocessing', 'online', 'session'])
      expect(m.get(`ppnn_stage_duration_seconds_count{stage="${stage}"}`), stage).toBeGreaterThanOrEqual(1);
  }, 200_000);
});
