import type { JWTVerifyGetKey, JWSAlgorithm } from 'jose';
import { PkceUnsupportedError, ProviderError } from '../errors.ts';
import type { ProviderConfig } from '../config/schema.ts';
import { DpopNonces } from '../dpop/nonces.ts';
import type { AuthorizationRequest, DpopOption, LogoutTokenClaims, Provider, ProviderTokens, RefreshOptions, RevocationResult, TokenExchangeRequest, UserProfile } from './types.ts';
import { authorizationParams, buildAuthorizationUrl, requestUriUrl, resolveScopes, withConsentPrompt } from './authorization-url.ts';
import { clientAuthentication, privateKeyJwt, type ClientAuth } from './client-auth.ts';
import { readClientSigningKey } from './private-key.ts';
import { clockOf, httpFor, type ProviderDeps } from './deps.ts';
import { discover, type OidcMetadata } from './discovery.ts';
import type { ProviderHttp } from './http.ts';
import { profileFromClaims, verifyIdToken } from './id-token.ts';
import { pushAuthorizationRequest, pushEndpointFor } from './pushed-authorization.ts';
import { remoteKeySet, signingAlgorithms } from './jwks.ts';
import { verifyLogoutToken } from './logout-token.ts';
import { revokeRfc7009 } from './revocation.ts';
import { exchangeCode, refreshGrant, tokenExchangeGrant } from './token-endpoint.ts';
import { fetchUserinfo } from './userinfo.ts';

export type OidcProviderConfig = Extract<ProviderConfig, { type: 'oidc' }>;

export const OIDC_DEFAULT_SCOPES = ['openid', 'profile', 'email', 'offline_access'] as const;

interface Discovered {
  metadata: OidcMetadata;
  keys: JWTVerifyGetKey;
  algorithms: JWSAlgorithm[];
}

/**
 * Any OpenID Provider, configured by discovery. OIDC Core 11 lets a provider drop
 * `offline_access` (and so the refresh token) unless the request says `prompt=consent`; the
 * login sets `forceConsent` after a login that brought no refresh token, or the operator
 * configures `authorizationParams.prompt` for providers that always need it.
 *
 * Until `init()` succeeds the provider is not `ready`: `endSessionUrl` refuses with a transient
 * ProviderError, and the asynchronous calls (`authorizationUrl` among them) run discovery first
 * (one discovery at a time).
 */
export class OidcProvider implements Provider {
  readonly id: string;
  readonly type = 'oidc' as const;
  readonly issuer: string;
  readonly oidc = true;
  readonly resourceIndicators = true;
  readonly dpop: boolean;
  readonly #config: OidcProviderConfig;
  /** The token endpoint's DPoP nonce (RFC 9449 section 8), kept for the next proof. */
  readonly #dpopNonces = new DpopNonces();
  readonly #http: ProviderHttp;
  readonly #auth: ClientAuth;
  readonly #scopes: string[];
  readonly #resources: readonly string[];
  readonly #now: () => number;
  readonly #onDiscoveryFailure: ((providerId: string, err: unknown) => void) | undefined;
  #discovered: Discovered | undefined;
  #discovering: Promise<Discovered> | undefined;

  constructor(config: OidcProviderConfig, deps: ProviderDeps = {}) {
    this.id = config.id;
    this.issuer = config.issuer;
    this.dpop = config.dpop;
    this.#config = config;
    this.#http = httpFor(config.id, config.timeout, deps);
    this.#now = clockOf(deps);
    this.#auth =
      config.tokenEndpointAuthMethod === 'private_key_jwt'
        ? privateKeyJwt(config.clientId, readClientSigningKey(config.privateKey!), () => this.#assertionAudience(), this.#now)
        : clientAuthentication(config.tokenEndpointAuthMethod, { clientId: config.clientId, clientSecret: config.clientSecret! });
    this.#scopes = resolveScopes(config.scopes, OIDC_DEFAULT_SCOPES, ['openid']);
    this.#onDiscoveryFailure = deps.onDiscoveryFailure;
    this.#resources = deps.resourcesOf?.(config.id) ?? [];
  }

  get requestedResources(): readonly string[] {
    return this.#resources;
  }

  get ready(): boolean {
    return this.#discovered !== undefined;
  }

  get issParameterSupported(): boolean {
    return this.#discovered?.metadata.issParameterSupported ?? false;
  }

  async init(): Promise<void> {
    await this.#ensureDiscovered();
  }

  #ensureDiscovered(): Promise<Discovered> {
    if (this.#discovered) return Promise.resolve(this.#discovered);
    this.#discovering ??= discover(this.#http, this.issuer, { allowInsecure: this.#config.allowInsecure })
      .then((metadata) => {
        const discovered: Discovered = {
          metadata,
          keys: remoteKeySet(this.id, new URL(metadata.jwksUri), this.#config.timeout),
          algorithms: signingAlgorithms(metadata.idTokenSigningAlgValues),
        };
        this.#discovered = discovered;
        return discovered;
      })
      .catch((err: unknown) => {
        this.#onDiscoveryFailure?.(this.id, err);
        throw err;
      })
      .finally(() => {
        this.#discovering = undefined;
      });
    return this.#discovering;
  }

  async #assertionAudience(): Promise<string> {
    if (this.#config.clientAssertionAudience === 'issuer') return this.issuer;
    return (await this.#ensureDiscovered()).metadata.tokenEndpoint;
  }

  #requireDiscovered(): Discovered {
    if (!this.#discovered) throw new ProviderError(this.id, `${this.id}: discovery has not completed yet`, { transient: true });
    return this.#discovered;
  }

  /** RFC 9126 when the provider takes pushed requests (see `par`), else the parameters in the URL. */
  async authorizationUrl(request: AuthorizationRequest): Promise<URL> {
    const { metadata } = await this.#ensureDiscovered();
    if (metadata.codeChallengeMethods !== undefined && !metadata.codeChallengeMethods.includes('S256')) throw new PkceUnsupportedError(this.id);
    const input = {
      clientId: this.#config.clientId,
      scopes: this.#scopes,
      request,
      extraParams: request.forceConsent ? withConsentPrompt(this.#config.authorizationParams) : this.#config.authorizationParams,
      nonce: true,
      resources: this.#resources,
    };
    const pushTo = pushEndpointFor(this.id, this.#config.par, metadata);
    if (pushTo === undefined) return buildAuthorizationUrl({ endpoint: metadata.authorizationEndpoint, ...input });
    const pushed = await pushAuthorizationRequest(this.#http, { endpoint: pushTo, auth: this.#auth, params: authorizationParams(input), resources: this.#resources });
    return requestUriUrl(metadata.authorizationEndpoint, this.#config.clientId, pushed.requestUri);
  }

  async exchangeCode(code: string, codeVerifier: string, redirectUri: string, options?: DpopOption): Promise<ProviderTokens> {
    const { metadata } = await this.#ensureDiscovered();
    return exchangeCode(this.#http, { endpoint: metadata.tokenEndpoint, auth: this.#auth, code, codeVerifier, redirectUri, dpop: this.#dpopCall(options?.dpop) });
  }

  /**
   * A token request's DPoP part, when the session has a key: made at login while `dpop` is on, it
   * stays the session's for its whole life (the proxy keeps sending its proofs too).
   */
  #dpopCall(key: DpopOption['dpop']) {
    return key === undefined ? undefined : { key, nonces: this.#dpopNonces };
  }

  async identify(tokens: ProviderTokens, nonce: string | undefined, options?: DpopOption): Promise<UserProfile> {
    const { metadata, keys, algorithms } = await this.#ensureDiscovered();
    if (!tokens.idToken) throw new ProviderError(this.id, `${this.id}: the token response carried no ID token`, { transient: false });
    const claims = await verifyIdToken(this.id, tokens.idToken, keys, { issuer: this.issuer, clientId: this.#config.clientId, trustedAudiences: this.#config.trustedAudiences, nonce, algorithms, now: this.#now });
    const profile = profileFromClaims(claims);
    if (profile.name === undefined && profile.email === undefined && metadata.userinfoEndpoint) {
      return { ...(await fetchUserinfo(this.#http, metadata.userinfoEndpoint, tokens.accessToken, profile.sub, this.#dpopCall(options?.dpop))), ...profile };
    }
    return profile;
  }

  async refresh(refreshToken: string, options?: RefreshOptions): Promise<ProviderTokens> {
    const { metadata } = await this.#ensureDiscovered();
    return refreshGrant(this.#http, { endpoint: metadata.tokenEndpoint, auth: this.#auth, refreshToken, options, dpop: this.#dpopCall(options?.dpop) });
  }

  async exchangeToken(request: TokenExchangeRequest, options?: RefreshOptions): Promise<ProviderTokens> {
    const { metadata } = await this.#ensureDiscovered();
    return tokenExchangeGrant(this.#http, { endpoint: metadata.tokenEndpoint, auth: this.#auth, request, options, dpop: this.#dpopCall(options?.dpop) });
  }

  async revoke(tokens: { accessToken?: string; refreshToken?: string }): Promise<RevocationResult> {
    let metadata: OidcMetadata;
    try {
      metadata = (await this.#ensureDiscovered()).metadata;
    } catch (err) {
      if (err instanceof ProviderError) return { outcome: 'failed', cause: err };
      throw err;
    }
    if (!metadata.revocationEndpoint) return { outcome: 'unsupported' };
    return revokeRfc7009(this.#http, { endpoint: metadata.revocationEndpoint, auth: this.#auth, tokens });
  }

  endSessionUrl(postLogoutRedirectUri: string): URL | undefined {
    const endpoint = this.#requireDiscovered().metadata.endSessionEndpoint;
    if (!endpoint) return undefined;
    const url = new URL(endpoint);
    url.searchParams.set('post_logout_redirect_uri', postLogoutRedirectUri);
    url.searchParams.set('client_id', this.#config.clientId);
    return url;
  }

  async verifyLogoutToken(logoutToken: string): Promise<LogoutTokenClaims> {
    const { keys, algorithms } = await this.#ensureDiscovered();
    return verifyLogoutToken(this.id, logoutToken, keys, {
      issuer: this.issuer,
      clientId: this.#config.clientId,
      algorithms,
      now: this.#now,
      acceptWithoutExp: this.#config.acceptLogoutTokenWithoutExp,
    });
  }
}
