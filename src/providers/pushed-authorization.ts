import { ParUnsupportedError, ProviderError } from '../errors.ts';
import { answerFailure, expectJsonObject, optionalSeconds } from './answers.ts';
import type { ClientAuth } from './client-auth.ts';
import type { OidcMetadata } from './discovery.ts';
import type { ProviderHttp } from './http.ts';

/**
 * Pushed authorization requests (RFC 9126). The authorization parameters go to the provider's
 * pushed authorization request endpoint in a POST, with the same client authentication as the
 * token endpoint; the provider answers with a `request_uri` (and `expires_in`), and the browser is
 * sent to the authorization endpoint with only `client_id` and that `request_uri`. The state,
 * PKCE challenge, nonce and redirect URI then never pass through the browser's URL, and the
 * provider has checked them (and the client) before the user sees a page.
 */

export type ParMode = 'auto' | 'required' | 'off';

/**
 * Where to push, or undefined to send the parameters in the authorization URL. `auto` pushes when
 * the metadata names an endpoint; `required` (or metadata that says
 * `require_pushed_authorization_requests`) needs the endpoint, and `off` must not be combined
 * with the latter: each refusal is a ParUnsupportedError that names the setting to change.
 */
export function pushEndpointFor(providerId: string, mode: ParMode, metadata: OidcMetadata): string | undefined {
  const endpoint = metadata.pushedAuthorizationRequestEndpoint;
  if (mode === 'off') {
    if (metadata.requirePushedAuthorizationRequests) {
      throw new ParUnsupportedError(providerId, 'the provider requires pushed authorization requests (require_pushed_authorization_requests) and the provider entry says par: off');
    }
    return undefined;
  }
  if (endpoint !== undefined) return endpoint;
  if (mode === 'required') {
    throw new ParUnsupportedError(providerId, 'the provider entry says par: required and the provider does not advertise a pushed_authorization_request_endpoint');
  }
  if (metadata.requirePushedAuthorizationRequests) {
    throw new ParUnsupportedError(providerId, 'the provider requires pushed authorization requests (require_pushed_authorization_requests) but advertises no pushed_authorization_request_endpoint');
  }
  return undefined;
}

export interface PushedRequest {
  requestUri: string;
  /** Seconds the request_uri stays valid. */
  expiresIn: number;
}

const OPERATION = 'pushed authorization request';
/** Longer request URIs are not something a provider sends; a browser's URL should not carry them. */
const MAX_REQUEST_URI_LENGTH = 1024;

/**
 * Pushes the parameters; resolves with the provider's `request_uri`. A connection failure before
 * the request went out is retried once (a push has no effect the provider could not repeat: each
 * push makes a new request_uri), with fresh client authentication. Failures are ProviderErrors:
 * transient for network errors, timeouts, 5xx and 429 (with the provider's Retry-After), not
 * transient for a 4xx (the provider refused the request or the client) and for a 2xx answer that
 * lacks a usable `request_uri` or `expires_in`.
 */
export async function pushAuthorizationRequest(
  http: ProviderHttp,
  call: { endpoint: string; auth: ClientAuth; params: ReadonlyMap<string, string>; resources?: readonly string[] },
): Promise<PushedRequest> {
  const form: Record<string, string | readonly string[]> = Object.fromEntries(call.params);
  // RFC 9126 section 2.1: a pushed request never refers to another one.
  delete form['request_uri'];
  if (call.resources !== undefined && call.resources.length > 0) form['resource'] = call.resources;
  const answer = await http.send(OPERATION, {
    method: 'POST',
    url: call.endpoint,
    headers: { accept: 'application/json' },
    form,
    auth: call.auth,
    retry: 'network',
  });
  const body = expectJsonObject(http.providerId, OPERATION, answer);
  const requestUri = body['request_uri'];
  const expiresIn = optionalSeconds(body, 'expires_in');
  const unusable = (why: string): ProviderError => answerFailure(http.providerId, OPERATION, answer, why);
  if (typeof requestUri !== 'string' || requestUri === '') throw unusable('no request_uri');
  if (requestUri.length > MAX_REQUEST_URI_LENGTH || !/^[\x21-\x7e]+$/.test(requestUri) || !URL.canParse(requestUri)) throw unusable('a request_uri that is not a URI');
  if (expiresIn === undefined) throw unusable('no positive expires_in');
  return { requestUri, expiresIn };
}
