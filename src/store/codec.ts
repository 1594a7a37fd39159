import type { SessionRecord, StoredTokenSet } from './types.ts';

/**
 * How records are written: compact JSON, the same for every store, so a value read back is
 * always a fresh object that no caller shares. Reading checks the fields other code relies on;
 * anything else is a corrupt record and throws.
 */

export function encodeSession(session: SessionRecord): string {
  return JSON.stringify(session);
}

export function decodeSession(text: string): SessionRecord {
  const value = JSON.parse(text) as SessionRecord;
  if (typeof value?.sid !== 'string' || typeof value.provider !== 'string' || typeof value.sub !== 'string' || typeof value.absoluteExpiresAt !== 'number') {
    throw new Error('stored session record has an unexpected shape');
  }
  return value;
}

export function encodeTokens(tokens: StoredTokenSet): string {
  return JSON.stringify(withVersion(tokens, tokens.ver));
}

export function decodeTokens(text: string): StoredTokenSet {
  const value = JSON.parse(text) as StoredTokenSet;
  if (!Number.isSafeInteger(value?.ver) || typeof value.accessToken !== 'string') {
    throw new Error('stored token set has an unexpected shape');
  }
  return value;
}

/**
 * The token set with the given `ver`, first (a reader of the raw value sees the version at
 * once). A `ver` the caller left in `tokens` is ignored: only the store decides versions.
 */
export function withVersion(tokens: Omit<StoredTokenSet, 'ver'>, ver: number): StoredTokenSet {
  const { ver: _ignored, ...fields } = tokens as StoredTokenSet;
  return { ver, ...fields };
}

export function assertTtl(ttlMs: number, what = 'ttlMs'): void {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new RangeError(`${what} must be a positive number of milliseconds`);
}

/** How long a session may live from `now`: the requested TTL, never past its absolute expiry. */
export function cappedTtl(ttlMs: number, absoluteExpiresAt: number, now: number): number {
  return Math.floor(Math.min(ttlMs, absoluteExpiresAt - now));
}
