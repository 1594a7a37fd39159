import { ProviderError } from '../errors.ts';
import type { ProviderConfig } from '../config/schema.ts';
import type { AuthorizationRequest, Provider, ProviderTokens, RefreshOptions, RevocationResult, UserProfile } from './types.ts';
import { optionalString } from './answers.ts';
import { buildAuthorizationUrl, resolveScopes } from './authorization-url.ts';
import { FixedEndpointsProvider } from './fixed-endpoints.ts';
import { clientAuthentication, type ClientAuthentication } from './client-auth.ts';
import { httpFor, type ProviderDeps } from './deps.ts';
import type { ProviderHttp } from './http.ts';
import { revokeRfc7009 } from './revocation.ts';
import { exchangeCode, refreshGrant } from './token-endpoint.ts';
import { fetchProfileJson } from './userinfo.ts';
import { userProfile } from './profile.ts';

export type DiscordProviderConfig = Extract<ProviderConfig, { type: 'discord' }>;

export interface DiscordEndpoints {
  authorization: string;
  token: string;
  revocation: string;
  profile: string;
  avatars: string;
}

export const DISCORD_ENDPOINTS: Readonly<DiscordEndpoints> = Object.freeze({
  authorization: 'https://discord.com/oauth2/authorize',
  token: 'https://discord.com/api/oauth2/token',
  revocation: 'https://discord.com/api/oauth2/token/revoke',
  profile: 'https://discord.com/api/users/@me',
  avatars: 'https://cdn.discordapp.com/avatars',
});

export const DISCORD_DEFAULT_SCOPES = ['identify', 'email'] as const;

/**
 * Discord: fixed endpoints, client_secret_basic at the token and revocation endpoints,
 * single-use (rotating) refresh tokens, the profile from `GET /users/@me`. Rate limits answer 429
 * with `retry_after` (seconds) in the body and the header; they are transient.
 */
export class DiscordProvider extends FixedEndpointsProvider implements Provider {
  readonly type = 'discord' as const;
  readonly issuer = undefined;
  /** No `iss` in its authorization responses (not an RFC 9207 provider). */
  readonly issParameterSupported = false;
  readonly oidc = false;
  readonly #config: DiscordProviderConfig;
  readonly #endpoints: DiscordEndpoints;
  readonly #http: ProviderHttp;
  readonly #auth: ClientAuthentication;
  readonly #scopes: string[];

  /** `endpoints` exists for tests; configuration cannot move Discord's endpoints. */
  constructor(config: DiscordProviderConfig, deps: ProviderDeps = {}, endpoints: Partial<DiscordEndpoints> = {}) {
    super(config.id);
    this.#config = config;
    this.#endpoints = { ...DISCORD_ENDPOINTS, ...endpoints };
    this.#http = httpFor(config.id, config.timeout, deps);
    this.#auth = clientAuthentication('client_secret_basic', config);
    this.#scopes = resolveScopes(config.scopes, DISCORD_DEFAULT_SCOPES);
  }

  async authorizationUrl(request: AuthorizationRequest): Promise<URL> {
    return buildAuthorizationUrl({
      endpoint: this.#endpoints.authorization,
      clientId: this.#config.clientId,
      scopes: this.#scopes,
      request,
      extraParams: this.#config.authorizationParams,
      nonce: false,
    });
  }

  exchangeCode(code: string, codeVerifier: string, redirectUri: string): Promise<ProviderTokens> {
    return exchangeCode(this.#http, { endpoint: this.#endpoints.token, auth: this.#auth, code, codeVerifier, redirectUri });
  }

  async identify(tokens: ProviderTokens): Promise<UserProfile> {
    const body = await fetchProfileJson(this.#http, this.#endpoints.profile, tokens.accessToken);
    const id = optionalString(body, 'id');
    if (id === undefined) throw new ProviderError(this.id, `${this.id}: the @me answer has no id`, { transient: false });
    const avatar = optionalString(body, 'avatar');
    return userProfile({
      sub: id,
      name: optionalString(body, 'global_name') ?? optionalString(body, 'username'),
      email: optionalString(body, 'email'),
      picture: avatar === undefined ? undefined : `${this.#endpoints.avatars}/${encodeURIComponent(id)}/${encodeURIComponent(avatar)}.png`,
    });
  }

  refresh(refreshToken: string, options?: RefreshOptions): Promise<ProviderTokens> {
    return refreshGrant(this.#http, { endpoint: this.#endpoints.token, auth: this.#auth, refreshToken, options });
  }

  revoke(tokens: { accessToken?: string; refreshToken?: string }): Promise<RevocationResult> {
    return revokeRfc7009(this.#http, { endpoint: this.#endpoints.revocation, auth: this.#auth, tokens });
  }
}
