import { errors, type Configuration, type Provider } from 'oidc-provider';
import type { OpenIdProviderStats } from './op-stats.ts';

/**
 * APIs as resource servers of the demo OpenID Provider: RFC 8707 resource indicators (each API a
 * resource URI with its own scope; its access tokens are JWTs whose `aud` is that URI), and an
 * RFC 8693 token-exchange grant that trades one of the provider's access tokens for a JWT access
 * token for one of those APIs (`audience`), as Keycloak and Entra's on-behalf-of do.
 */

/** Resource URI → the API's scope (space-separated) and, optionally, its token lifetime in seconds. */
export type ResourceServers = Readonly<Record<string, { scope: string; accessTokenTtl?: number }>>;

/** The library's own DPoP proof check (its grants use it; it is not part of the package's typed API). */
type ValidateDpop = (provider: Provider, ctx: unknown) => Promise<{ thumbprint: string } | undefined>;

export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

function serverInfo(servers: ResourceServers, resource: string, defaultTtl: number) {
  const server = servers[resource];
  if (server === undefined) throw new errors.InvalidTarget(`unknown resource ${resource}`);
  return { scope: server.scope, audience: resource, accessTokenTTL: server.accessTokenTtl ?? defaultTtl, accessTokenFormat: 'jwt' as const };
}

/**
 * `features.resourceIndicators`: the login's own access token stays the opaque userinfo token
 * (no default resource, granted resources not used implicitly); a refresh with `resource=<uri>`
 * gets a JWT for that API.
 */
export function resourceIndicators(servers: ResourceServers, defaultTtl: number): NonNullable<Configuration['features']>['resourceIndicators'] {
  return {
    enabled: true,
    defaultResource: async () => undefined,
    useGrantedResource: async () => false,
    getResourceServerInfo: async (_ctx, resource) => serverInfo(servers, resource, defaultTtl),
  };
}

/**
 * Registers the RFC 8693 grant: `subject_token` an unexpired access token this provider issued
 * to the same client, `audience` one of the resource servers; answers a JWT access token for it
 * (`scope` narrowed to the API's scope), bound to the subject token's grant.
 */
export function registerTokenExchange(provider: Provider, servers: ResourceServers, defaultTtl: number, stats: OpenIdProviderStats): void {
  provider.registerGrantType(
    TOKEN_EXCHANGE,
    async (ctx) => {
      const params = ctx.oidc.params as Record<string, unknown>;
      if (params['subject_token_type'] !== ACCESS_TOKEN_TYPE) throw new errors.InvalidRequest('unsupported subject_token_type');
      const audience = String(params['audience'] ?? '');
      const info = serverInfo(servers, audience, defaultTtl);
      const subject = await provider.AccessToken.find(String(params['subject_token'] ?? ''));
      const client = ctx.oidc.client!;
      if (subject === undefined || subject.isExpired || subject.clientId !== client.clientId) throw new errors.InvalidGrant('subject token invalid or expired');
      const allowed = new Set(info.scope.split(' '));
      const requested = typeof params['scope'] === 'string' ? params['scope'].split(' ') : [...allowed];
      const token = new provider.AccessToken({ accountId: subject.accountId, client, grantId: subject.grantId, gty: 'token_exchange', scope: requested.filter((scope) => allowed.has(scope)).join(' ') });
      token.resourceServer = new provider.ResourceServer(audience, info);
      // A request with a DPoP proof (RFC 9449) gets a token bound to its key, as the library's own grants do.
      const { default: validateDpop } = (await import('oidc-provider/lib/helpers/validate_dpop.js' as string)) as { default: ValidateDpop };
      const proof = await validateDpop(provider, ctx);
      if (proof !== undefined) token.setThumbprint('jkt', proof.thumbprint);
      const value = await token.save();
      stats.exchangeGrants += 1;
      ctx.body = { access_token: value, issued_token_type: ACCESS_TOKEN_TYPE, token_type: token.tokenType, expires_in: token.expiration, scope: token.scope };
    },
    ['subject_token', 'subject_token_type', 'audience', 'scope', 'requested_token_type'],
  );
}
