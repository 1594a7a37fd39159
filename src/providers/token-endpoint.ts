import type { ProviderTokens, RefreshOptions, TokenExchangeRequest } from './types.ts';
import type { ClientAuth } from './client-auth.ts';
import type { ProviderHttp } from './http.ts';
import { readTokenAnswer } from './token-response.ts';

/**
 * The two grants Tokengate uses at an RFC 6749 token endpoint. The authorization code is
 * single-use, so its exchange is never retried; a refresh is retried once, for connection
 * failures only.
 */

export interface TokenEndpointCall {
  endpoint: string | URL;
  auth: ClientAuth;
  /** Extra headers, e.g. GitHub's `Accept: application/json`. */
  headers?: Record<string, string>;
}

export async function exchangeCode(
  http: ProviderHttp,
  call: TokenEndpointCall & { code: string; codeVerifier: string; redirectUri: string; omitGrantType?: boolean },
): Promise<ProviderTokens> {
  const form: Record<string, string> = {
    ...(call.omitGrantType ? {} : { grant_type: 'authorization_code' }),
    code: call.code,
    redirect_uri: call.redirectUri,
    code_verifier: call.codeVerifier,
  };
  const answer = await http.send('code exchange', {
    method: 'POST',
    url: call.endpoint,
    headers: { accept: 'application/json', ...call.headers },
    form,
    auth: call.auth,
    retry: 'never',
  });
  return readTokenAnswer(http.providerId, 'code exchange', answer);
}

export async function refreshGrant(http: ProviderHttp, call: TokenEndpointCall & { refreshToken: string; options?: RefreshOptions | undefined }): Promise<ProviderTokens> {
  const resource = call.options?.resource;
  const form = { grant_type: 'refresh_token', refresh_token: call.refreshToken, ...(resource === undefined ? {} : { resource }) };
  return waitedGrant(http, 'token refresh', call, form);
}

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

/** RFC 8693 2.1: the login's access token as the subject token, for a token for `audience`. */
export async function tokenExchangeGrant(http: ProviderHttp, call: TokenEndpointCall & { request: TokenExchangeRequest; options?: RefreshOptions | undefined }): Promise<ProviderTokens> {
  const { subjectToken, audience, scope } = call.request;
  const form = { grant_type: TOKEN_EXCHANGE, subject_token: subjectToken, subject_token_type: ACCESS_TOKEN_TYPE, requested_token_type: ACCESS_TOKEN_TYPE, audience, ...(scope === undefined ? {} : { scope }) };
  return waitedGrant(http, 'token exchange', call, form);
}

/** A grant that waits for its answer once sent (`answerTimeoutMs`), retried for connection failures only. */
async function waitedGrant(http: ProviderHttp, operation: string, call: TokenEndpointCall & { options?: RefreshOptions | undefined }, form: Record<string, string>): Promise<ProviderTokens> {
  const answer = await http.send(operation, {
    method: 'POST',
    url: call.endpoint,
    headers: { accept: 'application/json', ...call.headers },
    form,
    auth: call.auth,
    retry: 'network',
    ...(call.options?.answerTimeoutMs === undefined ? {} : { answerTimeoutMs: call.options.answerTimeoutMs }),
    ...(call.options?.signal === undefined ? {} : { signal: call.options.signal }),
  });
  return readTokenAnswer(http.providerId, operation, answer);
}
