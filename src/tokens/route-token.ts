import type { Keyring } from '../crypto/keyring.ts';
import type { ProviderTokens } from '../providers/types.ts';
import type { StoredRouteToken, StoredTokenSet } from '../store/types.ts';
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
  | { readonly kind: 'exchange'; readonly key: string; readonly audience: string; readonly scope: string | undefined };

/** The route's token target, or undefined for a route that sends the login's own token. */
export function routeTokenTarget(route: { resource?: string | undefined; exchange?: { audience: string; scope?: string | undefined } | undefined }): RouteTokenTarget | undefined {
  if (route.resource !== undefined) return { kind: 'resource', key: `resource:${route.resource}`, resource: route.resource };
  if (route.exchange !== undefined) {
    const { audience, scope } = route.exchange;
    return { kind: 'exchange', key: scope === undefined ? `exchange:${audience}` : `exchange:${audience} ${scope}`, audience, scope };
  }
  return undefined;
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

/** Every per-route access token of a stored set, opened (revocation at logout). Throws DecryptionFailedError. */
export function openRouteTokens(keyring: Keyring, sid: string, stored: StoredTokenSet): string[] {
  return Object.entries(stored.resources ?? {}).map(([key, entry]) => openRouteToken(keyring, sid, key, entry));
}

/** RFC 8707: the resource indicators a login at `providerId` asks for (routes bound to it, or to no provider). */
export function resourcesOf(routes: ReadonlyArray<{ resource?: string | undefined; provider?: string | undefined }>, providerId: string): string[] {
  const resources = routes.filter((route) => route.resource !== undefined && (route.provider === undefined || route.provider === providerId)).map((route) => route.resource!);
  return [...new Set(resources)];
}
