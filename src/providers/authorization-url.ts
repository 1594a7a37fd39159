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
}

export function buildAuthorizationUrl(input: AuthorizationUrlInput): URL {
  const url = new URL(input.endpoint);
  for (const [name, value] of Object.entries(input.extraParams)) url.searchParams.set(name, value);
  if (input.responseType !== false) url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', input.clientId);
  url.searchParams.set('redirect_uri', input.request.redirectUri);
  url.searchParams.set('scope', input.scopes.join(' '));
  url.searchParams.set('state', input.request.state);
  url.searchParams.set('code_challenge', input.request.codeChallenge);
  url.searchParams.set('code_challenge_method', 'S256');
  if (input.nonce) {
    if (!input.request.nonce) throw new GatewayError('INTERNAL', 500, 'an OpenID Connect authorization request needs a nonce', false);
    url.searchParams.set('nonce', input.request.nonce);
  } else {
    url.searchParams.delete('nonce');
  }
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
