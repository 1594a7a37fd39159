import { CorruptRecordError } from '../errors.ts';
import type { SessionRecord, StoredTokenSet } from './types.ts';

/**
 * How records are written: compact JSON, the same for every store, so a value read back is
 * always a fresh object that no caller shares. Reading checks the fields other code relies on;
 * anything else (not JSON included) is a corrupt record: CorruptRecordError, never an outage.
 */

export function encodeSession(session: SessionRecord): string {
  return JSON.stringify(session);
}

export function decodeSession(text: string): SessionRecord {
  const value = parseJson(text, 'session record') as SessionRecord | null;
  if (typeof value?.sid !== 'string' || typeof value.provider !== 'string' || typeof value.sub !== 'string' || typeof value.absoluteExpiresAt !== 'number') {
    throw new CorruptRecordError('session record');
  }
  return value;
}

export function encodeTokens(tokens: StoredTokenSet): string {
  return JSON.stringify(withVersion(tokens, tokens.ver));
}

export function decodeTokens(text: string): StoredTokenSet {
  const value = parseJson(text, 'token set') as StoredTokenSet | null;
  if (!Number.isSafeInteger(value?.ver) || typeof value?.accessToken !== 'string' || (value.resources !== undefined && (typeof value.resources !== 'object' || value.resources === null))) {
    throw new CorruptRecordError('token set');
  }
  return value;
}

/** The session record, or null when it is corrupt (destroying a session must not fail on it). */
export function readableSession(text: string): SessionRecord | null {
  try {
    return decodeSession(text);
  } catch (err) {
    if (err instanceof CorruptRecordError) return null;
    throw err;
  }
}

function parseJson(text: string, what: 'session record' | 'token set'): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new CorruptRecordError(what);
  }
}

/**
 * The token set with the given `ver`, first (a reader of the raw value sees the version at
 * once). A `ver` the caller left in `tokens` is ignored: only the store decides versions.
 */
export function withVersion(tokens: Omit<StoredTokenSet, 'ver'>, ver: number): StoredTokenSet {
  const { ver: _ignored, ...fields } = tokens as StoredTokenSet;
  return { ver, ...fields };
}

export function assertLimit(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError('limit must be a positive integer');
}

export function assertTtl(ttlMs: number, what = 'ttlMs'): void {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new RangeError(`${what} must be a positive number of milliseconds`);
}

/** How long a session may live from `now`: the requested TTL, never past its absolute expiry. */
export function cappedTtl(ttlMs: number, absoluteExpiresAt: number, now: number): number {
  return Math.floor(Math.min(ttlMs, absoluteExpiresAt - now));
}
