import { describe, expect, it } from 'vitest';
import { CENSOR, redactSecrets } from '../../src/observability/redact.ts';
import { captureLogger } from './capture.ts';

describe('redactSecrets', () => {
  it('returns the very same object when there is nothing to censor', () => {
    const line = { method: 'GET', route: '/api', status: 200, nested: { list: [1, 'two', { three: 3 }] } };
    expect(redactSecrets(line)).toBe(line);
  });

  it('never changes the object it was given', () => {
    const line = { outer: { accessToken: 'kept-in-the-original', other: 1 }, sibling: { untouched: true } };
    const redacted = redactSecrets(line);
    expect(line.outer.accessToken).toBe('kept-in-the-original');
    expect(redacted).toEqual({ outer: { accessToken: CENSOR, other: 1 }, sibling: { untouched: true } });
    // Branches without secrets are shared, not copied.
    expect(redacted.sibling).toBe(line.sibling);
  });

  it('reaches secrets deeper than two levels and inside arrays', () => {
    const line = { a: { b: { c: { refresh_token: 'deep' } } }, list: [{ idToken: 'in-array' }, 'plain'] };
    expect(redactSecrets(line)).toEqual({ a: { b: { c: { refresh_token: CENSOR } } }, list: [{ idToken: CENSOR }, 'plain'] });
  });

  it('censors secret headers in any headers bag, whatever their case', () => {
    const line = { upstream: { headers: { Authorization: 'DPoP x', DPoP: 'eyJ.proof', 'Set-Cookie': ['a=b'], Accept: 'json' } } };
    expect(redactSecrets(line)).toEqual({ upstream: { headers: { Authorization: CENSOR, DPoP: CENSOR, 'Set-Cookie': CENSOR, Accept: 'json' } } });
  });

  it('walks what JSON will write for an object with toJSON', () => {
    const value = { toJSON: () => ({ accessToken: 'from-toJSON', kind: 'custom' }) };
    expect(JSON.stringify(redactSecrets({ value }))).toBe(JSON.stringify({ value: { accessToken: CENSOR, kind: 'custom' } }));
  });

  it('skips the top-level keys it is told to (their serializer is an allowlist)', () => {
    const line = { err: { code: 'STORE_UNAVAILABLE' }, code: 'authorization-code' };
    expect(redactSecrets(line, { skip: new Set(['err']) })).toEqual({ err: { code: 'STORE_UNAVAILABLE' }, code: CENSOR });
  });

  it('stops at a bounded depth on a cyclic object instead of looping', () => {
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    expect(redactSecrets(cyclic)).toBe(cyclic);
  });
});

describe('the logger redacts bindings at every generation', () => {
  it("a grandchild logger's bindings and setBindings are censored", () => {
    const log = captureLogger();
    const grandchild = log.logger.child({ requestId: 'r-1' }).child({ accessToken: 'grandchild-binding-secret' });
    grandchild.info('one');
    grandchild.setBindings({ refresh_token: 'set-bindings-secret' });
    grandchild.info('two');
    expect(log.raw).not.toContain('grandchild-binding-secret');
    expect(log.raw).not.toContain('set-bindings-secret');
    const [one, two] = log.lines();
    expect(one).toMatchObject({ requestId: 'r-1', accessToken: CENSOR, msg: 'one' });
    expect(two).toMatchObject({ requestId: 'r-1', refresh_token: CENSOR, msg: 'two' });
  });

  it('a child logger still logs errors through the serializer with their code', () => {
    const log = captureLogger();
    const err = Object.assign(new Error('store down'), { code: 'STORE_UNAVAILABLE', password: 'on-the-error-object' });
    log.logger.child({ requestId: 'r-2' }).error({ err }, 'failed');
    const [line] = log.lines() as [{ err: Record<string, unknown> }];
    expect(line.err.code).toBe('STORE_UNAVAILABLE');
    expect(log.raw).not.toContain('on-the-error-object');
  });
});
