import { describe, expect, it } from 'vitest';
import { isExpired, isRefreshDue, refreshDueAt } from '../../src/tokens/refresh-window.ts';

const MINUTE = 60_000;

describe('refresh window: now >= exp - min(buffer, lifetime / 2)', () => {
  it('a 1-hour token with a 5-minute buffer is due 5 minutes before expiry, not a moment earlier', () => {
    const tokens = { obtainedAt: 0, expiresAt: 60 * MINUTE };
    expect(refreshDueAt(tokens, 5 * MINUTE)).toBe(55 * MINUTE);
    expect(isRefreshDue(tokens, 55 * MINUTE - 1, 5 * MINUTE)).toBe(false);
    expect(isRefreshDue(tokens, 55 * MINUTE, 5 * MINUTE)).toBe(true);
  });

  it('a token shorter than twice the buffer is due at half its lifetime', () => {
    const tokens = { obtainedAt: 1_000, expiresAt: 1_000 + 2 * MINUTE };
    expect(refreshDueAt(tokens, 5 * MINUTE)).toBe(1_000 + MINUTE);
    expect(isRefreshDue(tokens, 1_000 + MINUTE - 1, 5 * MINUTE)).toBe(false);
    expect(isRefreshDue(tokens, 1_000 + MINUTE, 5 * MINUTE)).toBe(true);
  });

  it('a token without an expiry is never due and never expired', () => {
    const tokens = { obtainedAt: 0 };
    expect(refreshDueAt(tokens, 5 * MINUTE)).toBeUndefined();
    expect(isRefreshDue(tokens, Number.MAX_SAFE_INTEGER, 5 * MINUTE)).toBe(false);
    expect(isExpired(tokens, Number.MAX_SAFE_INTEGER)).toBe(false);
  });

  it('a token is expired from its expiry on', () => {
    expect(isExpired({ obtainedAt: 0, expiresAt: 10 }, 9)).toBe(false);
    expect(isExpired({ obtainedAt: 0, expiresAt: 10 }, 10)).toBe(true);
  });
});
