import { assertTtl, cappedTtl, encodeSession, encodeTokens, withVersion } from './codec.ts';
import type { KeyLayout, SessionKeys } from './keys.ts';
import type { SessionRecord, StoredTokenSet } from './types.ts';

/**
 * What `createSession` writes, the same for every store: the session record and its first token
 * set (`ver` 1) under the session's keys for `ttl` ms (the requested TTL, capped by the absolute
 * expiry), and the sid in the user index and, when the provider named its session, in the
 * provider-session index, each for the session's whole absolute lifetime.
 */
export interface NewSessionWrite {
  keys: SessionKeys;
  session: string;
  tokens: string;
  ttl: number;
  indexKeys: string[];
  indexTtl: number;
}

export function newSessionWrite(layout: KeyLayout, session: SessionRecord, tokens: Omit<StoredTokenSet, 'ver'>, ttlMs: number, now: number): NewSessionWrite {
  assertTtl(ttlMs);
  const keys = layout.session(session.sid);
  const indexKeys = layout.indexes(session);
  const ttl = cappedTtl(ttlMs, session.absoluteExpiresAt, now);
  if (ttl <= 0) throw new RangeError('the session is already past its absolute expiry');
  return {
    keys,
    session: encodeSession(session),
    tokens: encodeTokens(withVersion(tokens, 1)),
    ttl,
    indexKeys,
    indexTtl: Math.ceil(session.absoluteExpiresAt - now),
  };
}
