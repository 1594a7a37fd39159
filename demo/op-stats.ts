import type { Middleware } from 'koa';
import { errors, type KoaContextWithOIDC, type Provider } from 'oidc-provider';

/** Live counters of what the demo OpenID Provider did; tests assert on them. */
export interface OpenIdProviderStats {
  /** Successful authorization_code grants. */
  codeGrants: number;
  /** Successful refresh_token grants. */
  refreshGrants: number;
  /** Redemptions of an already-consumed (rotated) refresh token; the provider revokes the grant. */
  refreshReuse: number;
  /** Failed refresh_token grants of any kind (reuse included), but for DPoP nonce challenges. */
  refreshErrors: number;
  /**
   * refresh_token requests answered `use_dpop_nonce` (RFC 9449 section 8): the proof lacked the
   * current nonce; the grant was not looked at. The provider's nonce changes with time, so a
   * refresh may meet one whenever the nonce moved on since the client's last request.
   */
  refreshNonceChallenges: number;
  /** Requests to the revocation endpoint that it accepted (RFC 7009 answers 200 even for unknown tokens). */
  revocations: number;
  /** Every request to the revocation endpoint, whatever it answered (JWT access tokens are refused: not revocable here). */
  revocationRequests: number;
  /** Requests to the introspection endpoint that it answered. */
  introspections: number;
  /** Successful refresh_token grants with a `resource` (RFC 8707), by resource URI. */
  resourceGrants: Record<string, number>;
  /** Successful RFC 8693 token exchanges. */
  exchangeGrants: number;
}

export function emptyStats(): OpenIdProviderStats {
  return { codeGrants: 0, refreshGrants: 0, refreshReuse: 0, refreshErrors: 0, refreshNonceChallenges: 0, revocations: 0, revocationRequests: 0, introspections: 0, resourceGrants: {}, exchangeGrants: 0 };
}

export function resetStats(stats: OpenIdProviderStats): void {
  Object.assign(stats, emptyStats());
}

function grantType(ctx: KoaContextWithOIDC): unknown {
  return ctx.oidc.params?.['grant_type'];
}

/** Counts grants from the library's own events. */
export function countGrants(provider: Provider, stats: OpenIdProviderStats): void {
  provider.on('grant.success', (ctx) => {
    const type = grantType(ctx);
    if (type === 'authorization_code') stats.codeGrants += 1;
    if (type === 'refresh_token') stats.refreshGrants += 1;
    const resource = ctx.oidc.params?.['resource'];
    if (type === 'refresh_token' && typeof resource === 'string') stats.resourceGrants[resource] = (stats.resourceGrants[resource] ?? 0) + 1;
  });
  provider.on('grant.error', (ctx, err) => {
    if (grantType(ctx) !== 'refresh_token') return;
    if (err instanceof errors.UseDpopNonce) {
      stats.refreshNonceChallenges += 1;
      return;
    }
    stats.refreshErrors += 1;
    // The library loads the presented refresh token before it checks `consumed`; a consumed
    // token at this point is a reuse, which it answers with invalid_grant and a revoked grant.
    if (err instanceof errors.InvalidGrant && ctx.oidc.entities.RefreshToken?.consumed) stats.refreshReuse += 1;
  });
}

/** Counts answered calls to the revocation and introspection endpoints (they emit no success event). */
export function countEndpointCalls(provider: Provider, stats: OpenIdProviderStats): Middleware {
  const revocationPath = provider.pathFor('revocation');
  const introspectionPath = provider.pathFor('introspection');
  return async function endpointCounters(ctx, next) {
    await next();
    if (ctx.method === 'POST' && ctx.path === revocationPath) stats.revocationRequests += 1;
    if (ctx.method !== 'POST' || ctx.status !== 200) return;
    if (ctx.path === revocationPath) stats.revocations += 1;
    if (ctx.path === introspectionPath) stats.introspections += 1;
  };
}
