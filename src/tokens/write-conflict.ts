import type { Logger } from 'pino';
import type { Keyring } from '../crypto/keyring.ts';
import { ReauthenticationRequiredError } from '../errors.ts';
import { securityEvent } from '../observability/index.ts';
import type { Store, StoredTokenSet } from '../store/types.ts';
import { type OpenTokenSet, openRefreshToken, openTokenSet } from './token-set.ts';

/**
 * What to do when the compare-and-set after a refresh finds that someone else wrote the token set
 * while this replica held (or believed it held) the refresh lock.
 *
 * - The session's token set is gone (logout, grant revoked elsewhere): 401.
 * - The stored refresh token is the one this refresh presented or the one it was just issued:
 *   the other writer refreshed the same grant without rotation. Harmless; use what is stored.
 * - Any other refresh token was written by a party this replica never saw: the same refresh
 *   token was redeemed twice (lease lost, a rogue writer, a stolen token). Clear the token set,
 *   log a `refresh_token_reuse` security event, 401 (the caller raises it).
 */

export interface ConflictFacts {
  sid: string;
  providerId: string;
  /** The refresh token this refresh presented. */
  presented: string;
  /** The refresh token the provider issued in return, when it rotated. */
  issued: string | undefined;
  /** What the compare-and-set found. */
  current: StoredTokenSet | null;
  /** The lock renewal noticed the lease lapsed. */
  lockLost: boolean;
}

export type ConflictResolution = { outcome: 'adopted'; tokens: OpenTokenSet } | { outcome: 'reuse_detected' };

export interface ConflictDeps {
  store: Store;
  keyring: Keyring;
  logger: Logger | undefined;
  tag: (sid: string) => string;
}

export async function resolveWriteConflict(deps: ConflictDeps, facts: ConflictFacts): Promise<ConflictResolution> {
  const { sid, current } = facts;
  if (current === null) throw new ReauthenticationRequiredError(undefined, { outcome: 'no_token_set' });
  const stored = openRefreshToken(deps.keyring, sid, current);
  if (stored !== undefined && (stored === facts.presented || stored === facts.issued)) {
    return { outcome: 'adopted', tokens: openTokenSet(deps.keyring, sid, current) };
  }
  await deps.store.deleteTokens(sid, current.ver);
  if (deps.logger !== undefined) {
    securityEvent(deps.logger, 'refresh_token_reuse', {
      provider: facts.providerId,
      session: deps.tag(sid),
      storedVer: current.ver,
      lockLost: facts.lockLost,
    });
  }
  return { outcome: 'reuse_detected' };
}
