/**
 * Remote mode without a model (issue 13 item 5), over a real socket on 127.0.0.1 against a
 * `ppnn serve`-style server of the bundled mnist: the client works from the architecture the
 * server sends. No reference: secure accuracy, plaintext figures null in the report (n/a in
 * the text output); --reference mnist: agreement 1; --reference fashion-mnist (same layer
 * shapes, other public metadata): ARCH_MISMATCH, exit 2, refused before any key is sent.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { runSession } from '../../core/runtime/session.ts';
import { ppnn, startServer, stopServers } from './helpers.ts';

afterAll(stopServers);

/** `ppnn infer` of one mnist image against `url`, naming fashion-mnist as the reference with `flag`. */
function reference(url: string, flag: '--reference' | '--model'): string[] {
  return ['infer', '--dataset', 'mnist', '--limit', '1', '--server', url, flag, 'fashion-mnist'];
}

/** The server's /metrics as name → value. */
async function metrics(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(url.replace(/^ws/, 'http') + '/metrics')).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(\S+) (\S+)$/.exec(line);
    if (m && !line.startsWith('#')) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

describe('ppnn infer --server without --model', () => {
  it('no model: secure accuracy, null plaintext figures; --reference mnist: agreement 1', async () => {
    const s = await startServer({ model: 'mnist' });
    const bare = await ppnn(['infer', '--dataset', 'mnist', '--limit', '2', '--server', s.url, '--json', '--logits']);
    expect(bare.code, bare.stderr).toBe(0);
    const r = JSON.parse(bare.stdout) as Record<string, unknown> & { results: Record<string, unknown>[] };
    expect(r).toMatchObject({ model: 'mnist', images: 2, agreement: null, plaintextAccuracy: null });
    expect(r.maxLogitError).toBeNull();
    expect(typeof r.accuracy).toBe('number');
    expect(r.results).toHaveLength(2);
    for (const img of r.results) {
      expect(img.plaintext).toBeNull();
      expect(img.maxLogitError).toBeNull();
      expect(img.plaintextLogits).toBeUndefined();
      expect(img.secureLogits).toHaveLength(10);
    }
    const text = await ppnn(['infer', '--dataset', 'mnist', '--limit', '1', '--server', s.url]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('agreement n/a');

    const ref = await runSession({ dataset: 'mnist', limit: 2, scheme: 'merged', server: s.url, model: 'mnist' });
    expect(ref.agreement).toBe(1);
    expect(ref.plaintextAccuracy).toBeTypeOf('number');
    expect(ref.maxLogitError!).toBeLessThan(1e-2);
  }, 300_000);

  it('--reference fashion-mnist against a mnist server: ARCH_MISMATCH, exit 2, before set-up', async () => {
    const s = await startServer({ model: 'mnist' });
    const bad = await ppnn(reference(s.url, '--reference'));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('error [ARCH_MISMATCH]');
    // the client told the server and left before sending its keys (a set-up frame is megabytes)
    await expect
      .poll(async () => (await metrics(s.url)).get('ppnn_sessions_failed_total{code="ARCH_MISMATCH"}'), {
        timeout: 10_000,
      })
      .toBe(1);
    const m = await metrics(s.url);
    expect(m.get('ppnn_sessions_active')).toBe(0);
    expect(m.get('ppnn_bytes_received_total')!).toBeLessThan(100_000);
    // the old spelling (--model with --server) is the same reference
    const old = await ppnn(reference(s.url, '--model'));
    expect(old.code).toBe(2);
    expect(old.stderr).toContain('error [ARCH_MISMATCH]');
  }, 120_000);
});
