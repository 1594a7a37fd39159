import type { Keyring } from '../crypto/keyring.ts';
import type { ProviderTokens } from '../providers/types.ts';
import type { StoredTokenSet } from '../store/types.ts';
import { SEAL_FIELDS } from '../tokens/token-set.ts';

/**
 * The first token set of a new session, as the store keeps it: every token sealed under the
 * session's sid in the token service's fields ('access', 'refresh', 'id'), so that the
 * associated data `<sid>|<field>` binds each sealed value to its session and field. Later
 * writes are the token service's (compare-and-set on `ver`).
 */
export function sealTokenSet(keyring: Keyring, sid: string, tokens: ProviderTokens, now: number): Omit<StoredTokenSet, 'ver'> {
  return {
    accessToken: keyring.seal(tokens.accessToken, sid, SEAL_FIELDS.access),
    ...(tokens.refreshToken ? { refreshToken: keyring.seal(tokens.refreshToken, sid, SEAL_FIELDS.refresh) } : {}),
    ...(tokens.idToken ? { idToken: keyring.seal(tokens.idToken, sid, SEAL_FIELDS.id) } : {}),
    ...(tokens.expiresIn !== undefined ? { expiresAt: now + tokens.expiresIn * 1000 } : {}),
    obtainedAt: now,
    ...(tokens.scope !== undefined ? { scope: tokens.scope } : {}),
    tokenType: tokens.tokenType,
  };
}
