import { describe, expect, it } from 'vitest';
import { lastUsedAt } from '../../src/auth/list-sessions.ts';
import type { SessionRecord } from '../../src/store/types.ts';

/** `lastUsedAt` reads the last use back from the TTL the store slid at that use. */

const IDLE = 30 * 60_000;
const NOW = Date.UTC(2030, 0, 1, 12);

function session(createdAt: number, absoluteExpiresAt: number): SessionRecord {
  return { sid: 's', provider: 'corp', sub: 'u', claims: {}, createdAt, absoluteExpiresAt };
}

describe('last use from the remaining TTL', () => {
  it('is now + ttl - idleTimeout while the idle timeout decides the TTL', () => {
    const record = session(NOW - 3_600_000, NOW + 86_400_000);
    expect(lastUsedAt({ session: record, ttlMs: IDLE - 7_000 }, NOW, IDLE)).toBe(NOW - 7_000);
    expect(lastUsedAt({ session: record, ttlMs: IDLE }, NOW, IDLE)).toBe(NOW);
  });

  it('near the absolute expiry the TTL stops moving: the answer is the lower bound, absolute expiry - idleTimeout', () => {
    const record = session(NOW - 3_600_000, NOW + 60_000);
    expect(lastUsedAt({ session: record, ttlMs: 60_000 }, NOW, IDLE)).toBe(NOW + 60_000 - IDLE);
  });

  it('never before the session was created, never after now', () => {
    expect(lastUsedAt({ session: session(NOW - 1_000, NOW + 86_400_000), ttlMs: IDLE - 60_000 }, NOW, IDLE)).toBe(NOW - 1_000);
    expect(lastUsedAt({ session: session(NOW - 1_000, NOW + 86_400_000), ttlMs: IDLE + 60_000 }, NOW, IDLE)).toBe(NOW);
  });
});
