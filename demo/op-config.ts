import type { ClientMetadata, Configuration, JWKS } from 'oidc-provider';
import type { Accounts } from './op-accounts.ts';
import { resourceIndicators, TOKEN_EXCHANGE, type ResourceServers } from './op-resources.ts';
import { errorPage, logoutPage, logoutSuccessPage } from './op-pages.ts';

/** A relying party registered at the demo OpenID Provider (the gateway, or a test's client). */
export interface OpenIdClientOptions {
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
  postLogoutRedirectUris?: string[];
  /** Where the provider POSTs back-channel logout tokens; the token then carries `sid`. */
  backchannelLogoutUri?: string;
  /** Default `client_secret_basic`. */
  tokenEndpointAuthMethod?: 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';
  /** The client's public keys, for `private_key_jwt`. */
  jwks?: { keys: Record<string, unknown>[] };
  /** ID token signature algorithm, RS256 (default) or ES256. */
  idTokenSignedResponseAlg?: 'RS256' | 'ES256';
  /** Accept this client's authorization requests only when pushed (RFC 9126). */
  requirePushedAuthorizationRequests?: boolean;
  /** Issue this client only DPoP-bound access tokens (RFC 9449): token requests without a proof are refused. */
  dpopBoundAccessTokens?: boolean;
}

/** The provider's own credentials for its introspection endpoint, used by the sample API. */
export interface IntrospectorCredentials {
  clientId: string;
  clientSecret: string;
}

export interface ProviderSettings {
  clients: readonly OpenIdClientOptions[];
  introspector: IntrospectorCredentials;
  accounts: Accounts;
  adapter: NonNullable<Configuration['adapter']>;
  jwks: JWKS;
  cookieKeys: string[];
  accessTokenTtl: number;
  refreshTokenTtl: number;
  rotateRefreshToken: boolean;
  pushedAuthorizationRequests: { enabled: boolean; required: boolean };
  /** APIs as resource servers (RFC 8707); none: resource indicators off. */
  resourceServers?: ResourceServers | undefined;
  /** Register the clients for the RFC 8693 token-exchange grant too. */
  tokenExchange?: boolean | undefined;
  /** DPoP (RFC 9449); `requireNonce`: every proof must carry the provider's nonce (`use_dpop_nonce` first). */
  dpop: { requireNonce: boolean; nonceSecret: Buffer };
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

/**
 * The library guards its outgoing requests (back-channel logout) against special-use
 * addresses. The demo's relying parties all listen on loopback, so requests to loopback go
 * out without that guard; every other destination keeps it.
 */
function loopbackFetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
  const url = new URL(input instanceof Request ? input.url : input);
  if (!LOOPBACK_HOSTS.has(url.hostname) || init === undefined) return fetch(input, init);
  const { dispatcher: _guarded, ...rest } = init as RequestInit & { dispatcher?: unknown };
  return fetch(input, rest);
}

function clientMetadata(client: OpenIdClientOptions, tokenExchange: boolean): ClientMetadata {
  return {
    client_id: client.clientId,
    client_secret: client.clientSecret,
    redirect_uris: client.redirectUris,
    post_logout_redirect_uris: client.postLogoutRedirectUris ?? [],
    response_types: ['code'],
    grant_types: ['authorization_code', 'refresh_token', ...(tokenExchange ? [TOKEN_EXCHANGE] : [])],
    token_endpoint_auth_method: client.tokenEndpointAuthMethod ?? 'client_secret_basic',
    id_token_signed_response_alg: client.idTokenSignedResponseAlg ?? 'RS256',
    ...(client.jwks === undefined ? {} : { jwks: client.jwks as ClientMetadata['jwks'] }),
    ...(client.requirePushedAuthorizationRequests === undefined ? {} : { require_pushed_authorization_requests: client.requirePushedAuthorizationRequests }),
    ...(client.dpopBoundAccessTokens === undefined ? {} : { dpop_bound_access_tokens: client.dpopBoundAccessTokens }),
    ...(client.backchannelLogoutUri === undefined
      ? {}
      : { backchannel_logout_uri: client.backchannelLogoutUri, backchannel_logout_session_required: true }),
  };
}

function introspectorMetadata(introspector: IntrospectorCredentials): ClientMetadata {
  return {
    client_id: introspector.clientId,
    client_secret: introspector.clientSecret,
    redirect_uris: [],
    response_types: [],
    grant_types: [],
    token_endpoint_auth_method: 'client_secret_basic',
  };
}

export function providerConfiguration(settings: ProviderSettings): Configuration {
  const longLived = Math.max(settings.refreshTokenTtl, 24 * 60 * 60);
  return {
    clients: [...settings.clients.map((client) => clientMetadata(client, settings.tokenExchange === true)), introspectorMetadata(settings.introspector)],
    adapter: settings.adapter,
    findAccount: settings.accounts.findAccount,
    jwks: settings.jwks,
    cookies: { keys: settings.cookieKeys },
    claims: {
      openid: ['sub'],
      profile: ['name', 'preferred_username'],
      email: ['email', 'email_verified'],
    },
    scopes: ['openid', 'offline_access', 'profile', 'email'],
    // ID tokens carry the profile claims even when an access token is issued too.
    conformIdTokenClaims: false,
    responseTypes: ['code'],
    pkce: { required: () => true },
    // The library keeps `offline_access` only with prompt=consent. This provider issues a refresh
    // token for every code grant of a client registered for the refresh_token grant (all demo
    // clients), so no prompt=consent is needed. Without `offline_access` those tokens stay bound
    // to the provider session: ending it (RP-initiated logout) revokes them, as the library does.
    issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: settings.rotateRefreshToken,
    ttl: {
      // A resource server's tokens live as long as it says (RFC 8707 resources, token exchange).
      AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? settings.accessTokenTtl,
      AuthorizationCode: 60,
      IdToken: 60 * 60,
      RefreshToken: settings.refreshTokenTtl,
      Interaction: 10 * 60,
      Session: longLived,
      Grant: longLived,
    },
    features: {
      devInteractions: { enabled: false },
      revocation: {
        enabled: true,
        // A client may revoke only its own tokens.
        allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId,
      },
      introspection: {
        enabled: true,
        // Any authenticated confidential client (the sample API's introspector among them).
        allowedPolicy: async (_ctx, client) => client.clientAuthMethod !== 'none',
      },
      backchannelLogout: { enabled: true },
      ...(settings.resourceServers === undefined ? {} : { resourceIndicators: resourceIndicators(settings.resourceServers, settings.accessTokenTtl) }),
      dPoP: { enabled: true, nonceSecret: settings.dpop.nonceSecret, requireNonce: () => settings.dpop.requireNonce },
      pushedAuthorizationRequests: {
        enabled: settings.pushedAuthorizationRequests.enabled,
        requirePushedAuthorizationRequests: settings.pushedAuthorizationRequests.required,
      },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx, form) => {
          ctx.type = 'html';
          ctx.body = logoutPage(form);
        },
        postLogoutSuccessSource: async (ctx) => {
          ctx.type = 'html';
          ctx.body = logoutSuccessPage();
        },
      },
    },
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      ctx.body = errorPage({ ...out });
    },
    fetch: loopbackFetch,
  };
}
