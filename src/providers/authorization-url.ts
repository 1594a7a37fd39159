import { GatewayError } from '../errors.ts';
import type { AuthorizationRequest } from './types.ts';

/**
 * The authorization request (RFC 6749 4.1.1 with PKCE S256, RFC 7636). Configured extra
 * parameters (`authorizationParams`) go first, so they can never replace the parameters that
 * bind the login to this browser: client_id, redirect_uri, state, code_challenge, nonce.
 */

export interface AuthorizationUrlInput {
  endpoint: string | URL;
  clientId: string;
  scopes: readonly string[];
  request: AuthorizationRequest;
  extraParams: Readonly<Record<string, string>>;
  /** Send response_type=code (every provider except GitHub, which does not use it). */
  responseType?: boolean;
  /** Send the nonce (OpenID Connect providers). */
  nonce?: boolean;
  /** RFC 8707 resource indicators, each sent as its own `resource` parameter. */
  resources?: readonly string[];
}

export function buildAuthorizationUrl(input: AuthorizationUrlInput): URL {
  const url = new URL(input.endpoint);
  for (const [name, value] of authorizationParams(input)) url.searchParams.set(name, value);
  if (!input.nonce) url.searchParams.delete('nonce');
  if (input.resources !== undefined && input.resources.length > 0) {
    url.searchParams.delete('resource');
    for (const resource of input.resources) url.searchParams.append('resource', resource);
  }
  return url;
}

/**
 * The parameters of the authorization request, in the order they are set (later ones win):
 * for the front-channel URL, or for the body of a pushed authorization request (RFC 9126).
 */
export function authorizationParams(input: Omit<AuthorizationUrlInput, 'endpoint'>): Map<string, string> {
  const params = new Map<string, string>(Object.entries(input.extraParams));
  if (input.responseType !== false) params.set('response_type', 'code');
  params.set('client_id', input.clientId);
  params.set('redirect_uri', input.request.redirectUri);
  params.set('scope', input.scopes.join(' '));
  params.set('state', input.request.state);
  params.set('code_challenge', input.request.codeChallenge);
  params.set('code_challenge_method', 'S256');
  if (input.nonce) {
    if (!input.request.nonce) throw new GatewayError('INTERNAL', 500, 'an OpenID Connect authorization request needs a nonce', false);
    params.set('nonce', input.request.nonce);
  } else {
    params.delete('nonce');
  }
  return params;
}

/**
 * The front-channel URL after a pushed authorization request (RFC 9126 section 4): only
 * `client_id` and the `request_uri` the provider returned; everything else was pushed. The
 * endpoint's own query (some providers put a tenant or policy there) is kept.
 */
export function requestUriUrl(endpoint: string | URL, clientId: string, requestUri: string): URL {
  const url = new URL(endpoint);
  url.searchParams.set('client_id', clientId);
  url.searchParams.set('request_uri', requestUri);
  return url;
}

/**
 * The extra parameters with `consent` added to `prompt` (keeping other configured prompts, and
 * dropping `none`, which contradicts it). Used when a login must ask for consent again so that
 * the provider issues a refresh token (Google; OIDC Core 11 for `offline_access`).
 */
export function withConsentPrompt(extra: Readonly<Record<string, string>>): Record<string, string> {
  const prompts = (extra['prompt'] ?? '').split(' ').filter((prompt) => prompt !== '' && prompt !== 'none');
  return { ...extra, prompt: [...new Set([...prompts, 'consent'])].join(' ') };
}

/** Scopes from config, or the provider's defaults; `required` scopes are always included. */
export function resolveScopes(configured: readonly string[] | undefined, defaults: readonly string[], required: readonly string[] = []): string[] {
  const scopes = configured && configured.length > 0 ? [...configured] : [...defaults];
  for (const scope of required) if (!scopes.includes(scope)) scopes.unshift(scope);
  return scopes;
}
