import { describe, expect, it } from 'vitest';
import { securityEvent, SECURITY_EVENTS, type SecurityEventFields } from '../../src/observability/events.ts';
import { sessionTag } from '../../src/observability/session-tag.ts';
import { captureLogger } from './capture.ts';

describe('securityEvent', () => {
  it('logs one warn line with the event name and security: true', () => {
    const log = captureLogger();
    securityEvent(log.logger, 'refresh_token_reuse', { provider: 'oidc', session: 'a1b2c3d4e5f6', storedVer: 7, lockLost: false });
    expect(log.lines()).toEqual([
      expect.objectContaining({ level: 'warn', event: 'refresh_token_reuse', security: true, provider: 'oidc', session: 'a1b2c3d4e5f6', storedVer: 7, lockLost: false }),
    ]);
  });

  it.each(SECURITY_EVENTS)('%s is a known event', (name) => {
    const log = captureLogger();
    securityEvent(log.logger, name);
    expect(log.lines()[0]).toMatchObject({ event: name, security: true });
  });

  it('drops fields that are not on the list, and values of the wrong kind', () => {
    const log = captureLogger();
    const smuggled = { provider: 'google', tokens: { accessToken: 'smuggled-access-value' }, attempt: 'two', headers: 'x' } as unknown as SecurityEventFields;
    securityEvent(log.logger, 'revocation_failed', smuggled);
    const [line] = log.lines();
    expect(line).toMatchObject({ provider: 'google' });
    expect(line).not.toHaveProperty('tokens');
    expect(line).not.toHaveProperty('attempt');
    expect(line).not.toHaveProperty('headers');
    expect(log.raw).not.toContain('smuggled-access-value');
  });

  it('scrubs free text and cuts it short', () => {
    const log = captureLogger();
    securityEvent(log.logger, 'login_rejected', { reason: `id token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln rejected ${'x'.repeat(300)}` });
    const reason = String(log.lines()[0]?.reason);
    expect(reason.startsWith('id token [masked] rejected')).toBe(true);
    expect(reason.length).toBeLessThanOrEqual(201);
  });

  it('replaces a raw session id with its tag, and keeps only the origin of an Origin', () => {
    const log = captureLogger();
    const sid = 'raw-session-id-that-must-not-be-logged';
    securityEvent(log.logger, 'csrf_rejected', { session: sid, origin: 'https://evil.example/page?x=1', method: 'POST' });
    const [line] = log.lines();
    expect(line).toMatchObject({ session: sessionTag(sid), origin: 'https://evil.example', method: 'POST' });
    expect(log.raw).not.toContain(sid);
  });
});

describe('sessionTag', () => {
  it('is 12 hex digits, stable for a sid, different across sids, and not the sid', () => {
    const sid = 'Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4cXV1eA';
    expect(sessionTag(sid)).toMatch(/^[0-9a-f]{12}$/);
    expect(sessionTag(sid)).toBe(sessionTag(sid));
    expect(sessionTag(`${sid}x`)).not.toBe(sessionTag(sid));
    expect(sid).not.toContain(sessionTag(sid));
  });
});
