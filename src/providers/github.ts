import { ProviderError } from '../errors.ts';
import type { ProviderConfig } from '../config/schema.ts';
import type { AuthorizationRequest, Provider, ProviderTokens, RefreshOptions, RevocationResult, UserProfile } from './types.ts';
import { isSuccess, optionalString } from './answers.ts';
import { buildAuthorizationUrl, resolveScopes } from './authorization-url.ts';
import { FixedEndpointsProvider } from './fixed-endpoints.ts';
import { basicAuthorization, clientAuthentication, type ClientAuthentication } from './client-auth.ts';
import { httpFor, type ProviderDeps } from './deps.ts';
import type { HttpAnswer, ProviderHttp } from './http.ts';
import { attemptRevocation } from './revocation.ts';
import { exchangeCode, refreshGrant } from './token-endpoint.ts';
import { fetchProfileJson } from './userinfo.ts';
import { userProfile } from './profile.ts';

export type GithubProviderConfig = Extract<ProviderConfig, { type: 'github' }>;

export const GITHUB_DEFAULT_SCOPES = ['read:user'] as const;
export const GITHUB_API_VERSION = '2022-11-28';

const JSON_ACCEPT = { accept: 'application/json' };

/**
 * GitHub (and GitHub Enterprise Server through `baseUrl`/`apiUrl`). Not OpenID Connect: no ID
 * token, no nonce, no issuer; the profile comes from `GET /user`. The token endpoint answers
 * errors as HTTP 200 with an `error` field. OAuth App tokens never expire and come without a
 * refresh token; GitHub App user tokens expire (8 h) and carry a single-use refresh token.
 * Revocation deletes the app's grant for the user through the REST API, which ends every token
 * of that grant.
 */
export class GithubProvider extends FixedEndpointsProvider implements Provider {
  readonly type = 'github' as const;
  readonly issuer = undefined;
  /** No `iss` in its authorization responses (not an RFC 9207 provider). */
  readonly issParameterSupported = false;
  readonly oidc = false;
  readonly #config: GithubProviderConfig;
  readonly #http: ProviderHttp;
  readonly #auth: ClientAuthentication;
  readonly #scopes: string[];
  readonly #base: string;
  readonly #api: string;

  constructor(config: GithubProviderConfig, deps: ProviderDeps = {}) {
    super(config.id);
    this.#config = config;
    this.#http = httpFor(config.id, config.timeout, deps);
    this.#auth = clientAuthentication('client_secret_post', config);
    this.#scopes = resolveScopes(config.scopes, GITHUB_DEFAULT_SCOPES);
    this.#base = config.baseUrl.replace(/\/+$/, '');
    this.#api = config.apiUrl.replace(/\/+$/, '');
  }

  async authorizationUrl(request: AuthorizationRequest): Promise<URL> {
    return buildAuthorizationUrl({
      endpoint: `${this.#base}/login/oauth/authorize`,
      clientId: this.#config.clientId,
      scopes: this.#scopes,
      request,
      extraParams: this.#config.authorizationParams,
      responseType: false,
      nonce: false,
    });
  }

  exchangeCode(code: string, codeVerifier: string, redirectUri: string): Promise<ProviderTokens> {
    return exchangeCode(this.#http, { endpoint: this.#tokenEndpoint, auth: this.#auth, headers: JSON_ACCEPT, code, codeVerifier, redirectUri, omitGrantType: true });
  }

  async identify(tokens: ProviderTokens): Promise<UserProfile> {
    const body = await fetchProfileJson(this.#http, `${this.#api}/user`, tokens.accessToken, this.#apiHeaders());
    const id = body['id'];
    if ((typeof id !== 'number' || !Number.isSafeInteger(id)) && (typeof id !== 'string' || id === '')) {
      throw new ProviderError(this.id, `${this.id}: the /user answer has no id`, { transient: false });
    }
    return userProfile({
      sub: String(id),
      name: optionalString(body, 'name') ?? optionalString(body, 'login'),
      email: optionalString(body, 'email'),
      picture: optionalString(body, 'avatar_url'),
    });
  }

  refresh(refreshToken: string, options?: RefreshOptions): Promise<ProviderTokens> {
    return refreshGrant(this.#http, { endpoint: this.#tokenEndpoint, auth: this.#auth, headers: JSON_ACCEPT, refreshToken , options });
  }

  /** `DELETE /applications/{client_id}/grant`: 204 revoked; 404 means GitHub no longer knows the token. */
  async revoke(tokens: { accessToken?: string; refreshToken?: string }): Promise<RevocationResult> {
    if (!tokens.accessToken) return { outcome: tokens.refreshToken ? 'unsupported' : 'revoked' };
    const accessToken = tokens.accessToken;
    return attemptRevocation(
      () =>
        this.#http.send('grant revocation', {
          method: 'DELETE',
          url: `${this.#api}/applications/${encodeURIComponent(this.#config.clientId)}/grant`,
          headers: { ...this.#apiHeaders(), authorization: basicAuthorization(this.#config.clientId, this.#config.clientSecret) },
          json: { access_token: accessToken },
          retry: 'network',
        }),
      (answer: HttpAnswer) => (isSuccess(answer.status) || answer.status === 404 ? 'revoked' : 'failed'),
    );
  }

  get #tokenEndpoint(): string {
    return `${this.#base}/login/oauth/access_token`;
  }

  #apiHeaders(): Record<string, string> {
    return { accept: 'application/vnd.github+json', 'x-github-api-version': GITHUB_API_VERSION };
  }
}
