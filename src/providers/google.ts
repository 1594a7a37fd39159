import type { JWTVerifyGetKey } from 'jose';
import { ProviderError } from '../errors.ts';
import type { ProviderConfig } from '../config/schema.ts';
import type { AuthorizationRequest, Provider, ProviderTokens, RefreshOptions, RevocationResult, UserProfile } from './types.ts';
import { buildAuthorizationUrl, resolveScopes, withConsentPrompt } from './authorization-url.ts';
import { FixedEndpointsProvider } from './fixed-endpoints.ts';
import { clientAuthentication, type ClientAuthentication } from './client-auth.ts';
import { clockOf, httpFor, type ProviderDeps } from './deps.ts';
import type { ProviderHttp } from './http.ts';
import { profileFromClaims, verifyIdToken } from './id-token.ts';
import { remoteKeySet } from './jwks.ts';
import { attemptRevocation } from './revocation.ts';
import { exchangeCode, refreshGrant } from './token-endpoint.ts';

export type GoogleProviderConfig = Extract<ProviderConfig, { type: 'google' }>;

export interface GoogleEndpoints {
  authorization: string;
  token: string;
  revocation: string;
  jwks: string;
}

export const GOOGLE_ENDPOINTS: Readonly<GoogleEndpoints> = Object.freeze({
  authorization: 'https://accounts.google.com/o/oauth2/v2/auth',
  token: 'https://oauth2.googleapis.com/token',
  revocation: 'https://oauth2.googleapis.com/revoke',
  jwks: 'https://www.googleapis.com/oauth2/v3/certs',
});

export const GOOGLE_ISSUER = 'https://accounts.google.com';
/** Google's ID tokens carry either form of its issuer. */
const GOOGLE_ID_TOKEN_ISSUERS = [GOOGLE_ISSUER, 'accounts.google.com'];

export const GOOGLE_DEFAULT_SCOPES = ['openid', 'email', 'profile'] as const;

/**
 * Google: fixed endpoints, `access_type=offline` for a refresh token, and `prompt=consent` only
 * when the login asks for it (after a login that brought no refresh token): Google keeps at most
 * 100 refresh tokens per user and client and silently revokes the oldest beyond that, so forcing
 * consent on every login would log users out elsewhere. No end-session endpoint, no back-channel
 * logout. Revoking the refresh token ends the whole grant, so one call suffices.
 */
export class GoogleProvider extends FixedEndpointsProvider implements Provider {
  readonly type = 'google' as const;
  readonly issuer = GOOGLE_ISSUER;
  /** Google's discovery document says authorization_response_iss_parameter_supported: true. */
  readonly issParameterSupported = true;
  readonly oidc = true;
  readonly #config: GoogleProviderConfig;
  readonly #endpoints: GoogleEndpoints;
  readonly #http: ProviderHttp;
  readonly #auth: ClientAuthentication;
  readonly #scopes: string[];
  readonly #keys: JWTVerifyGetKey;
  readonly #now: () => number;

  /** `endpoints` exists for tests; configuration cannot move Google's endpoints. */
  constructor(config: GoogleProviderConfig, deps: ProviderDeps = {}, endpoints: Partial<GoogleEndpoints> = {}) {
    super(config.id);
    this.#config = config;
    this.#endpoints = { ...GOOGLE_ENDPOINTS, ...endpoints };
    this.#http = httpFor(config.id, config.timeout, deps);
    this.#auth = clientAuthentication('client_secret_post', config);
    this.#scopes = resolveScopes(config.scopes, GOOGLE_DEFAULT_SCOPES, ['openid']);
    this.#keys = remoteKeySet(config.id, new URL(this.#endpoints.jwks), config.timeout);
    this.#now = clockOf(deps);
  }

  async authorizationUrl(request: AuthorizationRequest): Promise<URL> {
    const offline = { ...this.#config.authorizationParams, access_type: 'offline' };
    const extra = request.forceConsent ? withConsentPrompt(offline) : offline;
    return buildAuthorizationUrl({ endpoint: this.#endpoints.authorization, clientId: this.#config.clientId, scopes: this.#scopes, request, extraParams: extra, nonce: true });
  }

  exchangeCode(code: string, codeVerifier: string, redirectUri: string): Promise<ProviderTokens> {
    return exchangeCode(this.#http, { endpoint: this.#endpoints.token, auth: this.#auth, code, codeVerifier, redirectUri });
  }

  async identify(tokens: ProviderTokens, nonce: string | undefined): Promise<UserProfile> {
    if (!tokens.idToken) throw new ProviderError(this.id, `${this.id}: the token response carried no ID token`, { transient: false });
    const claims = await verifyIdToken(this.id, tokens.idToken, this.#keys, {
      issuer: GOOGLE_ID_TOKEN_ISSUERS,
      clientId: this.#config.clientId,
      trustedAudiences: this.#config.trustedAudiences,
      nonce,
      algorithms: ['RS256'],
      now: this.#now,
    });
    return profileFromClaims(claims);
  }

  refresh(refreshToken: string, options?: RefreshOptions): Promise<ProviderTokens> {
    return refreshGrant(this.#http, { endpoint: this.#endpoints.token, auth: this.#auth, refreshToken , options });
  }

  async revoke(tokens: { accessToken?: string; refreshToken?: string }): Promise<RevocationResult> {
    const token = tokens.refreshToken ?? tokens.accessToken;
    if (!token) return { outcome: 'revoked' };
    return attemptRevocation(() =>
      this.#http.send('token revocation', { method: 'POST', url: this.#endpoints.revocation, form: { token }, retry: 'network' }),
    );
  }
}
