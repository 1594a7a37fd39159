import type { Keyring } from '../crypto/keyring.ts';
import type { ProviderTokens } from '../providers/types.ts';
import { inspectSymbol, redactedView } from '../secret.ts';
import type { StoredTokenSet } from '../store/types.ts';

/**
 * A token set with its tokens opened, as TokenService uses it in memory. It is never stored in
 * this form, and it prints as `{ accessToken: '[present]', ... }`.
 *
 * Seal fields (the associated data is `<sid>|<field>`): 'access', 'refresh', 'id'.
 */

const SECRET_FIELDS = ['accessToken', 'refreshToken', 'idToken'] as const;

export const SEAL_FIELDS = { access: 'access', refresh: 'refresh', id: 'id' } as const;

export class OpenTokenSet {
  readonly ver: number;
  readonly accessToken: string;
  readonly refreshToken: string | undefined;
  readonly idToken: string | undefined;
  readonly expiresAt: number | undefined;
  readonly obtainedAt: number;
  readonly scope: string | undefined;
  readonly tokenType: string;

  constructor(fields: {
    ver: number;
    accessToken: string;
    refreshToken?: string | undefined;
    idToken?: string | undefined;
    expiresAt?: number | undefined;
    obtainedAt: number;
    scope?: string | undefined;
    tokenType: string;
  }) {
    this.ver = fields.ver;
    this.accessToken = fields.accessToken;
    this.refreshToken = fields.refreshToken;
    this.idToken = fields.idToken;
    this.expiresAt = fields.expiresAt;
    this.obtainedAt = fields.obtainedAt;
    this.scope = fields.scope;
    this.tokenType = fields.tokenType;
  }

  toJSON(): Record<string, unknown> {
    return redactedView(this, SECRET_FIELDS);
  }

  [inspectSymbol](): Record<string, unknown> {
    return this.toJSON();
  }
}

/** Opens every sealed field of a stored token set. Throws DecryptionFailedError on any failure. */
export function openTokenSet(keyring: Keyring, sid: string, stored: StoredTokenSet): OpenTokenSet {
  return new OpenTokenSet({
    ver: stored.ver,
    accessToken: keyring.open(stored.accessToken, sid, SEAL_FIELDS.access),
    refreshToken: stored.refreshToken === undefined ? undefined : keyring.open(stored.refreshToken, sid, SEAL_FIELDS.refresh),
    idToken: stored.idToken === undefined ? undefined : keyring.open(stored.idToken, sid, SEAL_FIELDS.id),
    expiresAt: stored.expiresAt,
    obtainedAt: stored.obtainedAt,
    scope: stored.scope,
    tokenType: stored.tokenType,
  });
}

/** Opens only the refresh token of a stored set (undefined when it has none). */
export function openRefreshToken(keyring: Keyring, sid: string, stored: StoredTokenSet): string | undefined {
  return stored.refreshToken === undefined ? undefined : keyring.open(stored.refreshToken, sid, SEAL_FIELDS.refresh);
}

/**
 * The token set to write after a refresh: the new access token, the new refresh token when the
 * provider rotated it, otherwise the previous one (still sealed, copied as is); likewise the ID
 * token and scope.
 */
export function sealRefreshed(
  keyring: Keyring,
  sid: string,
  previous: StoredTokenSet,
  fresh: ProviderTokens,
  now: number,
): Omit<StoredTokenSet, 'ver'> {
  const next: Omit<StoredTokenSet, 'ver'> = {
    accessToken: keyring.seal(fresh.accessToken, sid, SEAL_FIELDS.access),
    obtainedAt: now,
    tokenType: fresh.tokenType,
  };
  const refreshToken = fresh.refreshToken === undefined ? previous.refreshToken : keyring.seal(fresh.refreshToken, sid, SEAL_FIELDS.refresh);
  if (refreshToken !== undefined) next.refreshToken = refreshToken;
  const idToken = fresh.idToken === undefined ? previous.idToken : keyring.seal(fresh.idToken, sid, SEAL_FIELDS.id);
  if (idToken !== undefined) next.idToken = idToken;
  if (fresh.expiresIn !== undefined) next.expiresAt = now + fresh.expiresIn * 1000;
  const scope = fresh.scope ?? previous.scope;
  if (scope !== undefined) next.scope = scope;
  return next;
}
