/**
 * The relay's strict checks (core/server/validate.ts): exact header shapes, and the
 * role-level order of pre.masks requests, refused when they arrive rather than after the
 * HE work queued ahead of them.
 */
import { describe, expect, it } from 'vitest';
import { ClientSequence, checkClientMessage, clientReportedError } from '../../core/server/validate.ts';
import type { Message } from '../../core/transport/transport.ts';

const msg = (tag: string, header: unknown, blobs = 0): Message => ({
  tag,
  header,
  blobs: Array.from({ length: blobs }, () => new Uint8Array(8)),
});

describe('checkClientMessage', () => {
  it('accepts the shapes a real client sends', () => {
    for (const m of [
      msg('hello', { protocol: 'ppnn/2', scheme: 'merged', inputBits: 20 }),
      msg('setup', null, 3),
      msg('batch', { count: 2 }),
      msg('pre.masks', { step: 0, count: 2 }, 1),
      msg('on.input', { step: 0 }, 1),
      msg('bye', null),
      msg('error', { code: 'CANCELLED', message: 'x' }),
    ])
      expect(() => checkClientMessage(m)).not.toThrow();
  });
  it('refuses extra fields, wrong types and a step that is not an integer', () => {
    for (const m of [
      msg('batch', { count: 2, junk: 1 }),
      msg('on.input', { step: 0.5 }, 1),
      msg('on.share', { step: {} }, 1),
      msg('setup', {}, 3),
      msg('error', null),
      msg('bye', { step: 0 }),
    ])
      expect(() => checkClientMessage(m)).toThrow(expect.objectContaining({ code: 'PROTOCOL_VIOLATION' }));
  });
});

describe('ClientSequence', () => {
  it('passes a real batch, refuses a wrong count, a repeated or backward step, pre.masks before batch', () => {
    const ok = new ClientSequence();
    for (const m of [
      msg('batch', { count: 2 }),
      msg('pre.masks', { step: 0, count: 2 }),
      msg('pre.masks', { step: 3, count: 2 }),
      msg('batch', { count: 1 }),
      msg('pre.masks', { step: 0, count: 1 }),
    ])
      ok.check(m);
    const refused = (first: Message[], bad: Message) => {
      const s = new ClientSequence();
      first.forEach((m) => s.check(m));
      expect(() => s.check(bad)).toThrow(expect.objectContaining({ code: 'PROTOCOL_VIOLATION' }));
    };
    refused([msg('batch', { count: 2 })], msg('pre.masks', { step: 0, count: 7 }));
    refused(
      [msg('batch', { count: 2 }), msg('pre.masks', { step: 3, count: 2 })],
      msg('pre.masks', { step: 3, count: 2 }),
    );
    refused(
      [msg('batch', { count: 2 }), msg('pre.masks', { step: 3, count: 2 })],
      msg('pre.masks', { step: 1, count: 2 }),
    );
    refused([], msg('pre.masks', { step: 0, count: 2 }));
  });
});

describe('clientReportedError', () => {
  it("keeps a client's own well-formed code and turns anything else into PROTOCOL_VIOLATION", () => {
    expect(clientReportedError({ code: 'CANCELLED', message: 'user stopped' })).toMatchObject({ code: 'CANCELLED' });
    // fuzz seeds 1088 / 1322: the hello retagged 'error' (its header has no code) was answered INTERNAL
    expect(clientReportedError({ protocol: 'ppnn/1', scheme: 'merged' })).toMatchObject({ code: 'PROTOCOL_VIOLATION' });
    expect(clientReportedError({ code: 'INTERNAL', message: 'x' })).toMatchObject({ code: 'PROTOCOL_VIOLATION' });
    expect(clientReportedError({ code: 'MADE_UP_CODE', message: 'x' })).toMatchObject({ code: 'PROTOCOL_VIOLATION' });
    expect(clientReportedError(null)).toMatchObject({ code: 'PROTOCOL_VIOLATION' });
  });
});
