import type { Keyring } from '../crypto/keyring.ts';
import type { ProviderTokens } from '../providers/types.ts';
import type { StoredRouteToken, StoredTokenSet } from '../store/types.ts';
import { hideSecrets } from '../secret.ts';
import { routeTokenField } from './token-set.ts';

/**
 * A route's own access token (a "token per API"): what it is for, and how it sits in the
 * session's token set. A route with `resource: <uri>` gets a token for that resource indicator
 * (RFC 8707) from the login's refresh token; one with `exchange: { audience, scope }` gets a
 * token exchanged for the login's access token (RFC 8693). Each is kept under its token key in
 * `StoredTokenSet.resources`, sealed with the field `access@<token key>`.
 */

export type RouteTokenTarget =
  | { readonly kind: 'resource'; readonly key: string; readonly resource: string }
  | { readonly kind: 'exchange'; readonly key: string; readonly audience: string; readonly scope: string | undefined }
  | { readonly kind: 'linked'; readonly key: string; readonly provider: string };

export interface RouteTokenOptions {
  resource?: string | undefined;
  exchange?: { audience: string; scope?: string | undefined } | undefined;
  provider?: string | undefined;
}

/**
 * The route's token target for a session from `sessionProvider`, or undefined for a route that
 * sends the login's own token. A route bound to another provider than the session's (and with
 * no `resource` or `exchange`) takes that provider's linked token (`/auth/link`).
 */
export function routeTokenTarget(route: RouteTokenOptions, sessionProvider: string): RouteTokenTarget | undefined {
  if (route.resource !== undefined) return { kind: 'resource', key: `resource:${route.resource}`, resource: route.resource };
  if (route.exchange !== undefined) {
    const { audience, scope } = route.exchange;
    return { kind: 'exchange', key: scope === undefined ? `exchange:${audience}` : `exchange:${audience} ${scope}`, audience, scope };
  }
  if (route.provider !== undefined && route.provider !== sessionProvider) return linkedTarget(route.provider);
  return undefined;
}

/** The route sends a linked provider's token: a Bearer token of that provider, never bound to the session's DPoP key. */
export function sendsLinkedToken(route: RouteTokenOptions, sessionProvider: string): boolean {
  return route.resource === undefined && route.exchange === undefined && route.provider !== undefined && route.provider !== sessionProvider;
}

export function linkedTarget(provider: string): RouteTokenTarget & { kind: 'linked' } {
  return { kind: 'linked', key: `linked:${provider}`, provider };
}

/** The stored entry for a token freshly obtained for `key`, written at record version `ver`. */
export function sealRouteToken(keyring: Keyring, sid: string, key: string, fresh: ProviderTokens, fields: { now: number; ver: number; forcedAt: number | undefined }): StoredRouteToken {
  const entry: StoredRouteToken = {
    accessToken: keyring.seal(fresh.accessToken, sid, routeTokenField(key)),
    ver: fields.ver,
    obtainedAt: fields.now,
    tokenType: fresh.tokenType,
  };
  if (fresh.expiresIn !== undefined) entry.expiresAt = fields.now + fresh.expiresIn * 1000;
  if (fresh.scope !== undefined) entry.scope = fresh.scope;
  if (fields.forcedAt !== undefined) entry.forcedAt = fields.forcedAt;
  return entry;
}

export function openRouteToken(keyring: Keyring, sid: string, key: string, entry: StoredRouteToken): string {
  return keyring.open(entry.accessToken, sid, routeTokenField(key));
}

/** The entry for `key` in a stored set, if any. */
export function routeTokenOf(stored: StoredTokenSet | null, key: string): StoredRouteToken | undefined {
  return stored?.resources?.[key];
}

/**
 * Every per-route token of a stored set, opened (revocation at logout): `provider` names a linked
 * provider (its tokens are revoked there), absent for the session's own. Throws DecryptionFailedError.
 */
export function openRouteTokens(keyring: Keyring, sid: string, stored: StoredTokenSet): LinkedTokens[] {
  return Object.entries(stored.resources ?? {}).map(([key, entry]) => openLinkedTokens(keyring, sid, key, entry));
}

/** A route token's entry opened, for revocation; `provider` set for a linked provider's. Prints its tokens as '[present]'. */
export interface LinkedTokens {
  provider?: string | undefined;
  accessToken: string;
  refreshToken?: string | undefined;
}

export function openLinkedTokens(keyring: Keyring, sid: string, key: string, entry: StoredRouteToken): LinkedTokens {
  const opened: LinkedTokens = {
    provider: entry.provider,
    accessToken: openRouteToken(keyring, sid, key, entry),
    refreshToken: entry.refreshToken === undefined ? undefined : keyring.open(entry.refreshToken, sid, routeTokenField(key, 'refresh')),
  };
  return hideSecrets(opened, ['provider']);
}

/** A linked provider's entry: its access token, its refresh token when it has one (kept when a refresh brings none), the linked account. */
export function sealLinkedToken(
  keyring: Keyring,
  sid: string,
  target: { key: string; provider: string },
  fresh: ProviderTokens,
  fields: { now: number; ver: number; forcedAt: number | undefined; keptRefreshToken?: string | undefined; account: string | undefined },
): StoredRouteToken {
  const entry = sealRouteToken(keyring, sid, target.key, fresh, fields);
  entry.provider = target.provider;
  if (fields.account !== undefined) entry.account = fields.account;
  if (fresh.refreshToken) entry.refreshToken = keyring.seal(fresh.refreshToken, sid, routeTokenField(target.key, 'refresh'));
  else if (fields.keptRefreshToken !== undefined) entry.refreshToken = fields.keptRefreshToken;
  return entry;
}

/** RFC 8707: the resource indicators a login at `providerId` asks for (routes bound to it, or to no provider). */
export function resourcesOf(routes: ReadonlyArray<{ resource?: string | undefined; provider?: string | undefined }>, providerId: string): string[] {
  const resources = routes.filter((route) => route.resource !== undefined && (route.provider === undefined || route.provider === providerId)).map((route) => route.resource!);
  return [...new Set(resources)];
}
