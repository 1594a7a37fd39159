import type { DpopKey } from '../dpop/key.ts';
import type { ProviderError } from '../errors.ts';
import { SecretHolder } from '../secret.ts';

export type ProviderType = 'oidc' | 'google' | 'github' | 'discord';

/** What may be printed; the tokens print as '[present]'. */
const PRINTABLE = ['expiresIn', 'refreshTokenExpiresIn', 'scope', 'tokenType'];

/** What a token endpoint returned. Prints as `{ accessToken: '[present]', ... }`, never the values. */
export class ProviderTokens extends SecretHolder {
  readonly accessToken: string;
  readonly refreshToken: string | undefined;
  readonly idToken: string | undefined;
  /** Seconds; undefined when the token does not expire (GitHub OAuth Apps). */
  readonly expiresIn: number | undefined;
  readonly refreshTokenExpiresIn: number | undefined;
  readonly scope: string | undefined;
  readonly tokenType: string;

  constructor(fields: {
    accessToken: string;
    refreshToken?: string | undefined;
    idToken?: string | undefined;
    expiresIn?: number | undefined;
    refreshTokenExpiresIn?: number | undefined;
    scope?: string | undefined;
    tokenType?: string | undefined;
  }) {
    super(PRINTABLE);
    this.accessToken = fields.accessToken;
    this.refreshToken = fields.refreshToken;
    this.idToken = fields.idToken;
    this.expiresIn = fields.expiresIn;
    this.refreshTokenExpiresIn = fields.refreshTokenExpiresIn;
    this.scope = fields.scope;
    this.tokenType = fields.tokenType ?? 'Bearer';
  }
}

export interface UserProfile {
  sub: string;
  name?: string;
  email?: string;
  picture?: string;
  /** OIDC `sid` claim of the ID token, for back-channel logout. */
  providerSid?: string;
}

export interface AuthorizationRequest {
  state: string;
  codeChallenge: string;
  /** OIDC providers only. */
  nonce?: string;
  redirectUri: string;
  /** Ask the user for consent again (Google, when no refresh token came back). */
  forceConsent?: boolean;
}

export interface LogoutTokenClaims {
  sub?: string;
  sid?: string;
  jti: string;
  iat: number;
  exp?: number;
}

export type RevocationOutcome = 'revoked' | 'unsupported' | 'failed';

/**
 * What one revocation came to. A `failed` one says why where it can: `cause`, the provider or
 * network failure (a ProviderError: its message names no URL query and no token), or
 * `httpStatus`, the provider's unexpected answer.
 */
export interface RevocationResult {
  outcome: RevocationOutcome;
  cause?: ProviderError;
  httpStatus?: number;
}

/** How one refresh call waits (see TokenService): both optional. */
export interface RefreshOptions {
  /** Once sent, wait this long for the answer instead of the provider's timeout. */
  answerTimeoutMs?: number;
  /** Aborts the call (shutdown). */
  signal?: AbortSignal;
  /** The session's DPoP key (providers with `dpop: true`): the request carries a proof. */
  dpop?: DpopKey | undefined;
  /** RFC 8707: ask for an access token for this resource indicator (OIDC providers only). */
  resource?: string;
}

/** An RFC 8693 token exchange: the subject token (the login's access token) for a token for `audience`. */
export interface TokenExchangeRequest {
  subjectToken: string;
  audience: string;
  scope?: string | undefined;
}

/** The login's DPoP key, for providers with `dpop: true` (RFC 9449): code exchange and profile request carry proofs. */
export interface DpopOption {
  dpop?: DpopKey | undefined;
}

/**
 * One configured identity provider. Every HTTP call goes through got with the provider's
 * timeout; failures are ProviderError (with `oauthError` and `transient`). The code exchange is
 * never retried. Refresh, revocation, discovery and profile calls are retried once inside the
 * provider, for connection failures only (refused, reset, DNS); never after a timeout or an HTTP
 * status, since the provider may already have rotated a single-use refresh token. Any further
 * retry (after a transient error, honouring `retryAfter`) is the caller's.
 */
export interface Provider {
  readonly id: string;
  readonly type: ProviderType;
  /** Issuer identifier for the RFC 9207 `iss` check, when the provider has one. */
  readonly issuer: string | undefined;
  /**
   * RFC 9207: the provider sends `iss` in every authorization response, so a response without
   * it is refused (section 2.4). From discovery for OIDC providers (false until discovered).
   */
  readonly issParameterSupported: boolean;
  /** True when the provider issues ID tokens (so login sends a nonce and verifies the ID token). */
  readonly oidc: boolean;
  /** Sender-constrained tokens (RFC 9449, provider option `dpop`): every session gets a DPoP key at login. */
  readonly dpop?: boolean;
  /** Loads discovery metadata and JWKS location. Resolves when the provider is usable. */
  init(): Promise<void>;
  /** Discovery metadata loaded (always true for providers with fixed endpoints). */
  readonly ready: boolean;

  /**
   * Where to send the browser to log in. For an OpenID provider that takes pushed authorization
   * requests (RFC 9126) the parameters are pushed first and the URL carries only `client_id`
   * and `request_uri`; a failed push rejects with a ProviderError (or ParUnsupportedError).
   */
  authorizationUrl(request: AuthorizationRequest): Promise<URL>;
  exchangeCode(code: string, codeVerifier: string, redirectUri: string, options?: DpopOption): Promise<ProviderTokens>;
  /** Verifies the ID token (signature, iss, aud, exp, nonce) or fetches the profile. */
  identify(tokens: ProviderTokens, nonce: string | undefined, options?: DpopOption): Promise<UserProfile>;
  refresh(refreshToken: string, options?: RefreshOptions): Promise<ProviderTokens>;
  /**
   * RFC 8693 token exchange at the token endpoint; only providers that offer it (generic OIDC)
   * have this method. Not retried after a timeout or an HTTP status, like a refresh.
   */
  exchangeToken?(request: TokenExchangeRequest, options?: RefreshOptions): Promise<ProviderTokens>;
  /** RFC 8707 resource indicators on the authorization request and the refresh grant (generic OIDC). */
  readonly resourceIndicators?: boolean;
  /** With `resourceIndicators`: the resource indicators its authorization requests name (every configured `resource` of its routes). */
  readonly requestedResources?: readonly string[];
  /** Revokes the grant's tokens at the provider. Never throws: returns the outcome. */
  revoke(tokens: { accessToken?: string; refreshToken?: string }): Promise<RevocationResult>;
  /**
   * RP-initiated logout URL, for providers that have an end_session_endpoint. It names the client
   * (`client_id`), never the ID token: the URL goes to the browser.
   */
  endSessionUrl(postLogoutRedirectUri: string): URL | undefined;
  /** Validates a back-channel logout_token (OIDC providers only); throws BadRequestError when invalid. */
  verifyLogoutToken(logoutToken: string): Promise<LogoutTokenClaims>;
}
