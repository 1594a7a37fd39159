import type { ProviderTokens, RefreshOptions } from './types.ts';
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
  const answer = await http.send('token refresh', {
    method: 'POST',
    url: call.endpoint,
    headers: { accept: 'application/json', ...call.headers },
    form: { grant_type: 'refresh_token', refresh_token: call.refreshToken },
    auth: call.auth,
    retry: 'network',
    ...(call.options?.answerTimeoutMs === undefined ? {} : { answerTimeoutMs: call.options.answerTimeoutMs }),
    ...(call.options?.signal === undefined ? {} : { signal: call.options.signal }),
  });
  return readTokenAnswer(http.providerId, 'token refresh', answer);
}
