import type { Keyring } from '../crypto/keyring.ts';
import { DPOP_SEAL_FIELD } from '../dpop/sealed-key.ts';
import type { ProviderTokens } from '../providers/types.ts';
import { SecretHolder } from '../secret.ts';
import type { StoredRouteToken, StoredTokenSet } from '../store/types.ts';

/**
 * A token set with its tokens opened, as TokenService uses it in memory. Its `ver` is the login
 * token's version (`loginVer`). It is never stored in
 * this form, and it prints as `{ accessToken: '[present]', ... }`.
 *
 * Seal fields (the associated data is `<sid>|<field>`): 'access', 'refresh', 'id', 'dpop' for
 * the session's DPoP private key (src/dpop), which is never opened here, and
 * `access@<token key>` for each per-route access token (`resources`).
 */

/** What may be printed; the tokens print as '[present]'. */
const PRINTABLE = ['ver', 'expiresAt', 'obtainedAt', 'scope', 'tokenType'];

export const SEAL_FIELDS = { access: 'access', refresh: 'refresh', id: 'id', dpop: DPOP_SEAL_FIELD } as const;

export class OpenTokenSet extends SecretHolder {
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
    super(PRINTABLE);
    this.ver = fields.ver;
    this.accessToken = fields.accessToken;
    this.refreshToken = fields.refreshToken;
    this.idToken = fields.idToken;
    this.expiresAt = fields.expiresAt;
    this.obtainedAt = fields.obtainedAt;
    this.scope = fields.scope;
    this.tokenType = fields.tokenType;
  }
}

/** Opens every sealed field of a stored token set. Throws DecryptionFailedError on any failure. */
export function openTokenSet(keyring: Keyring, sid: string, stored: StoredTokenSet): OpenTokenSet {
  return new OpenTokenSet({
    ver: loginVer(stored),
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
 * A token set as the store keeps it: every token sealed under the session's sid in its own
 * field, so that the associated data `<sid>|<field>` binds each sealed value to its session and
 * field. The first set of a new session (login); `sealRefreshed` builds on it.
 */
export function sealTokenSet(keyring: Keyring, sid: string, tokens: ProviderTokens, now: number): Omit<StoredTokenSet, 'ver'> {
  const sealed: Omit<StoredTokenSet, 'ver'> = {
    accessToken: keyring.seal(tokens.accessToken, sid, SEAL_FIELDS.access),
    obtainedAt: now,
    tokenType: tokens.tokenType,
  };
  if (tokens.refreshToken) sealed.refreshToken = keyring.seal(tokens.refreshToken, sid, SEAL_FIELDS.refresh);
  if (tokens.idToken) sealed.idToken = keyring.seal(tokens.idToken, sid, SEAL_FIELDS.id);
  if (tokens.expiresIn !== undefined) sealed.expiresAt = now + tokens.expiresIn * 1000;
  if (tokens.scope !== undefined) sealed.scope = tokens.scope;
  return sealed;
}

/**
 * The token set to write after a refresh: the new access token, the new refresh token when the
 * provider rotated it, otherwise the previous one (still sealed, copied as is); likewise the ID
 * token and scope. A refresh forced by an upstream 401 stamps `forcedAt`; others keep the
 * previous stamp (the forced-refresh cooldown is per session, whatever refreshed in between).
 * Every other field of the previous set (per-route tokens, fields this version does not know) is
 * carried over as it is, moved to the sealing key where it is a sealed token.
 */
export function sealRefreshed(
  keyring: Keyring,
  sid: string,
  previous: StoredTokenSet,
  fresh: ProviderTokens,
  now: number,
  options: { forced?: boolean } = {},
): Omit<StoredTokenSet, 'ver'> {
  const { ver: _ver, expiresAt: _expiresAt, forcedAt: _forcedAt, accessVer: _accessVer, ...kept } = previous;
  const next: Omit<StoredTokenSet, 'ver'> = { ...kept, ...sealTokenSet(keyring, sid, fresh, now) };
  // Kept tokens move to the sealing key too (after a key rotation they may be under an older one).
  if (!fresh.refreshToken && previous.refreshToken !== undefined) next.refreshToken = current(keyring, sid, previous.refreshToken, SEAL_FIELDS.refresh);
  if (!fresh.idToken && previous.idToken !== undefined) next.idToken = current(keyring, sid, previous.idToken, SEAL_FIELDS.id);
  if (previous.resources !== undefined) next.resources = resealRouteTokens(keyring, sid, previous.resources);
  // The session's DPoP key lives as long as the session: every refresh keeps it.
  if (previous.dpopKey !== undefined) next.dpopKey = current(keyring, sid, previous.dpopKey, SEAL_FIELDS.dpop);
  const forcedAt = options.forced ? now : previous.forcedAt;
  if (forcedAt !== undefined) next.forcedAt = forcedAt;
  return next;
}

/** True when some field of the stored set is sealed under a key that no longer seals. */
export function sealedWithOldKey(keyring: Keyring, stored: StoredTokenSet): boolean {
  const routeTokens = stored.resources === undefined ? [] : Object.values(stored.resources).flatMap((entry) => [entry.accessToken, entry.refreshToken]);
  return [stored.accessToken, stored.refreshToken, stored.idToken, stored.dpopKey, ...routeTokens].some((sealed) => sealed !== undefined && keyring.sealedWithOldKey(sealed));
}

/**
 * The same token set with every field sealed under the current sealing key (a key rotation):
 * the same tokens, expiry and stamps, only the sealing changes. For a compare-and-set on the
 * `ver` it was read at. Throws DecryptionFailedError when a field cannot be opened.
 */
export function resealTokenSet(keyring: Keyring, sid: string, stored: StoredTokenSet): Omit<StoredTokenSet, 'ver'> {
  const { ver: _ver, ...fields } = stored;
  const next: Omit<StoredTokenSet, 'ver'> = { ...fields, accessToken: current(keyring, sid, stored.accessToken, SEAL_FIELDS.access) };
  if (stored.refreshToken !== undefined) next.refreshToken = current(keyring, sid, stored.refreshToken, SEAL_FIELDS.refresh);
  if (stored.idToken !== undefined) next.idToken = current(keyring, sid, stored.idToken, SEAL_FIELDS.id);
  if (stored.dpopKey !== undefined) next.dpopKey = current(keyring, sid, stored.dpopKey, SEAL_FIELDS.dpop);
  if (stored.resources !== undefined) next.resources = resealRouteTokens(keyring, sid, stored.resources);
  next.accessVer = loginVer(stored);
  return next;
}

/**
 * The version of the login's access token: the `ver` of the write that stored it. Writes that
 * leave it in place (a per-route token, a re-seal) move the record's `ver` but not this, so a
 * login refresh waiter never takes them for a renewal of the login token.
 */
export function loginVer(stored: Pick<StoredTokenSet, 'ver' | 'accessVer'>): number {
  return stored.accessVer ?? stored.ver;
}

/** The per-route tokens with each access token under the sealing key (the entries otherwise as they are). */
function resealRouteTokens(keyring: Keyring, sid: string, resources: Readonly<Record<string, StoredRouteToken>>): Record<string, StoredRouteToken> {
  const next: Record<string, StoredRouteToken> = {};
  for (const [key, entry] of Object.entries(resources)) {
    next[key] = { ...entry, accessToken: current(keyring, sid, entry.accessToken, routeTokenField(key)) };
    if (entry.refreshToken !== undefined) next[key].refreshToken = current(keyring, sid, entry.refreshToken, routeTokenField(key, 'refresh'));
  }
  return next;
}

/** The seal field of a per-route token: `access@<token key>` (a linked provider's refresh token: `refresh@<token key>`). */
export function routeTokenField(key: string, which: 'access' | 'refresh' = 'access'): string {
  return `${SEAL_FIELDS[which]}@${key}`;
}

/** `sealed` as it is when the sealing key made it, else opened and sealed again under that key. */
function current(keyring: Keyring, sid: string, sealed: string, field: string): string {
  return keyring.sealedWithOldKey(sealed) ? keyring.seal(keyring.open(sealed, sid, field), sid, field) : sealed;
}
