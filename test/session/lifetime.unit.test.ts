import { describe, expect, it } from 'vitest';
import { absoluteExpiry, idleExpiry, sessionTtl } from '../../src/session/lifetime.ts';

const now = 1_000_000;
const hour = 3_600_000;

describe('the absolute expiry of a session', () => {
  it('is the configured absolute timeout when the tokens say nothing shorter', () => {
    expect(absoluteExpiry({ now, absoluteTimeoutMs: 12 * hour, hasRefreshToken: true })).toBe(now + 12 * hour);
  });

  it('never outlives a refresh token whose lifetime is known', () => {
    expect(absoluteExpiry({ now, absoluteTimeoutMs: 12 * hour, hasRefreshToken: true, refreshTokenExpiresIn: 3600 })).toBe(now + hour);
  });

  it('keeps the configured timeout when the refresh token lives longer', () => {
    expect(absoluteExpiry({ now, absoluteTimeoutMs: 12 * hour, hasRefreshToken: true, refreshTokenExpiresIn: 15_811_200 })).toBe(now + 12 * hour);
  });

  it('never outlives an access token that nothing can renew', () => {
    expect(absoluteExpiry({ now, absoluteTimeoutMs: 12 * hour, hasRefreshToken: false, accessTokenExpiresIn: 3599 })).toBe(now + 3_599_000);
  });

  it('ignores the access token lifetime when a refresh token can renew it', () => {
    expect(absoluteExpiry({ now, absoluteTimeoutMs: 12 * hour, hasRefreshToken: true, accessTokenExpiresIn: 300 })).toBe(now + 12 * hour);
  });

  it('treats a non-expiring token (GitHub OAuth App) as bounded by the configured timeout', () => {
    expect(absoluteExpiry({ now, absoluteTimeoutMs: 12 * hour, hasRefreshToken: false })).toBe(now + 12 * hour);
  });
});

describe('the sliding idle timeout', () => {
  const session = { absoluteExpiresAt: now + 2 * hour };

  it('is the idle timeout while the absolute expiry is far', () => {
    expect(sessionTtl(session, now, 30 * 60_000)).toBe(30 * 60_000);
    expect(idleExpiry(session, now, 30 * 60_000)).toBe(now + 30 * 60_000);
  });

  it('is capped by the absolute expiry', () => {
    expect(sessionTtl(session, now + 2 * hour - 1000, 30 * 60_000)).toBe(1000);
  });

  it('is zero once the absolute expiry has passed', () => {
    expect(sessionTtl(session, now + 3 * hour, 30 * 60_000)).toBe(0);
  });
});
