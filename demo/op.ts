import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { JWK } from 'jose';
import type { Middleware } from 'koa';
import { Provider } from 'oidc-provider';
import { closeServer, listenOnLoopback } from './listen.ts';
import { createAccounts, DEMO_USER, type OpenIdUser } from './op-accounts.ts';
import { createMemoryStore } from './op-adapter.ts';
import { providerConfiguration, type IntrospectorCredentials, type OpenIdClientOptions } from './op-config.ts';
import { interactionRoutes } from './op-interactions.ts';
import { generateCookieKeys, generateSigningKeys } from './op-keys.ts';
import {
  introspectToken,
  revokeAccessToken,
  revokeGrant,
  sendBackchannelLogout,
  type IntrospectionResponse,
} from './op-operations.ts';
import { countEndpointCalls, countGrants, emptyStats, resetStats, type OpenIdProviderStats } from './op-stats.ts';
import { registerTokenExchange, type ResourceServers } from './op-resources.ts';
import { shapeTokenEndpoint, type TokenEndpointShaping } from './op-token-endpoint.ts';

export type { OpenIdUser } from './op-accounts.ts';
export type { OpenIdClientOptions } from './op-config.ts';
export type { IntrospectionResponse } from './op-operations.ts';
export type { OpenIdProviderStats } from './op-stats.ts';
export { DEMO_USER } from './op-accounts.ts';

/**
 * A real OpenID Provider (the `oidc-provider` package) on 127.0.0.1 for the demo, the
 * integration tests and the benchmark: authorization code with PKCE S256 (required), refresh
 * tokens for `offline_access` with rotation and reuse detection, opaque introspectable access
 * tokens, revocation, back-channel and RP-initiated logout, its own login and consent forms.
 * Everything (keys, users, tokens) lives in memory and dies with the process.
 */
export interface OpenIdProviderOptions {
  /** Relying parties to register. */
  clients?: OpenIdClientOptions[];
  /** Default: one user, `demo` / `demo` (sub `demo-user`). */
  users?: OpenIdUser[];
  /** Seconds; default 3600. */
  accessTokenTtl?: number;
  /** Seconds; default 86400. */
  refreshTokenTtl?: number;
  /** Artificial latency on every token-endpoint request (refresh-storm benchmarks). Default 0. */
  tokenEndpointDelayMs?: number;
  /** Issue a new refresh token on every refresh and treat a second use of the old one as reuse. Default true. */
  rotateRefreshToken?: boolean;
  /** Default 0 (a free port). */
  port?: number;
  /** Signing keys (private JWKs); default: fresh RS256 and ES256 keys. Tests that forge tokens pass their own. */
  signingKeys?: { keys: JWK[] };
  /** Extra Koa middleware, run before the provider's own routes (tests: observe or reshape answers). */
  middleware?: Middleware[];
  /**
   * Pushed authorization requests (RFC 9126): `enabled` (default true, the library's default)
   * offers the endpoint; `required` accepts authorization requests only when pushed.
   */
  pushedAuthorizationRequests?: { enabled?: boolean; required?: boolean };
  /** APIs as resource servers: RFC 8707 resource indicators on, JWT access tokens with `aud` the resource URI. */
  resourceServers?: ResourceServers;
  /** The RFC 8693 token-exchange grant, for `audience` one of `resourceServers`. */
  tokenExchange?: boolean;
  /** DPoP (RFC 9449) is always accepted; `requireNonce` makes every proof carry the provider's nonce. Default false. */
  dpop?: { requireNonce?: boolean };
}

export interface OpenIdProviderHandle {
  /** `http://127.0.0.1:<port>`, also the base URL of every endpoint. */
  readonly issuer: string;
  readonly port: number;
  readonly url: string;
  /** Live counters; `resetStats()` zeroes them. */
  readonly stats: OpenIdProviderStats;
  /** The library instance, for what this handle does not cover. */
  readonly provider: Provider;
  readonly running: boolean;
  resetStats(): void;
  setTokenEndpointDelay(ms: number): void;
  /** The next `count` token requests fail with `status` (default 503; 429 and 503 carry Retry-After: 1). */
  failTokenRequests(count: number, status?: number): void;
  /** Calls the real introspection endpoint with the provider's own introspector credentials. */
  introspect(token: string): Promise<IntrospectionResponse>;
  /** Revokes the grant behind an access or refresh token. False when the token is unknown. */
  revokeGrantOf(token: string): Promise<boolean>;
  /** Revokes one access token (the refresh token keeps working). False when unknown. */
  revokeAccessToken(token: string): Promise<boolean>;
  /** Sends a signed logout token to the clients' back-channel logout URIs (or to `clientId`'s). */
  sendBackchannelLogout(logout: { sub: string; sid: string; clientId?: string }): Promise<void>;
  /** Stops listening (connections dropped); all state is kept. */
  stop(): Promise<void>;
  /** Listens again on the same port, with the same keys, clients, grants and tokens. */
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function startOpenIdProvider(options: OpenIdProviderOptions = {}): Promise<OpenIdProviderHandle> {
  const clients = options.clients ?? [];
  const introspector: IntrospectorCredentials = {
    clientId: 'tokengate-sample-api',
    clientSecret: randomBytes(24).toString('base64url'),
  };
  const accounts = createAccounts(options.users ?? [DEMO_USER]);
  const stats = emptyStats();
  const shaping: TokenEndpointShaping = { delayMs: options.tokenEndpointDelayMs ?? 0, failuresLeft: 0, failureStatus: 503 };

  const server = createServer();
  const [port, jwks] = await Promise.all([listenOnLoopback(server, options.port ?? 0), options.signingKeys ?? generateSigningKeys()]);
  const issuer = `http://127.0.0.1:${port}`;
  let provider: Provider;
  try {
    provider = new Provider(issuer, providerConfiguration({
      clients,
      introspector,
      accounts,
      adapter: createMemoryStore().adapterFactory,
      jwks,
      cookieKeys: generateCookieKeys(),
      accessTokenTtl: options.accessTokenTtl ?? 3600,
      refreshTokenTtl: options.refreshTokenTtl ?? 86_400,
      rotateRefreshToken: options.rotateRefreshToken ?? true,
      pushedAuthorizationRequests: { enabled: options.pushedAuthorizationRequests?.enabled ?? true, required: options.pushedAuthorizationRequests?.required ?? false },
      resourceServers: options.resourceServers,
      tokenExchange: options.tokenExchange,
      dpop: { requireNonce: options.dpop?.requireNonce ?? false, nonceSecret: randomBytes(32) },
    }));
    if (options.tokenExchange) registerTokenExchange(provider, options.resourceServers ?? {}, options.accessTokenTtl ?? 3600, stats);
  } catch (err) {
    await closeServer(server);
    throw err;
  }
  provider.proxy = false;
  countGrants(provider, stats);
  provider.use(countEndpointCalls(provider, stats));
  provider.use(shapeTokenEndpoint(provider, shaping));
  provider.use(interactionRoutes(provider, accounts));
  for (const middleware of options.middleware ?? []) provider.use(middleware);
  server.on('request', provider.callback());

  const clientIds = clients.map((client) => client.clientId);
  return {
    issuer,
    port,
    url: issuer,
    stats,
    provider,
    get running() {
      return server.listening;
    },
    resetStats: () => resetStats(stats),
    setTokenEndpointDelay(ms) {
      shaping.delayMs = ms;
    },
    failTokenRequests(count, status = 503) {
      shaping.failuresLeft = count;
      shaping.failureStatus = status;
    },
    introspect: (token) => introspectToken(issuer, provider, introspector, token),
    revokeGrantOf: (token) => revokeGrant(provider, token),
    revokeAccessToken: (token) => revokeAccessToken(provider, token),
    sendBackchannelLogout: (logout) => sendBackchannelLogout(provider, clientIds, logout),
    stop: () => closeServer(server),
    async start() {
      if (!server.listening) await listenOnLoopback(server, port);
    },
    close: () => closeServer(server),
  };
}
