import { ProviderError } from '../errors.ts';
import type { UserProfile } from './types.ts';
import { expectJsonObject, type JsonObject } from './answers.ts';
import type { ProviderHttp } from './http.ts';
import { profileFromStandardClaims } from './profile.ts';

/**
 * Profile endpoints called with the user's access token: the OIDC UserInfo endpoint (whose `sub`
 * must equal the ID token's, OIDC Core 5.3.2) and the providers without ID tokens.
 */

export async function fetchProfileJson(http: ProviderHttp, url: string | URL, accessToken: string, headers: Record<string, string> = {}): Promise<JsonObject> {
  const answer = await http.send('profile request', {
    method: 'GET',
    url,
    headers: { accept: 'application/json', ...headers, authorization: `Bearer ${accessToken}` },
    retry: 'network',
  });
  return expectJsonObject(http.providerId, 'profile request', answer);
}

export async function fetchUserinfo(http: ProviderHttp, endpoint: string, accessToken: string, expectedSub: string): Promise<UserProfile> {
  const body = await fetchProfileJson(http, endpoint, accessToken);
  if (body['sub'] !== expectedSub) {
    throw new ProviderError(http.providerId, `${http.providerId}: userinfo answered for another subject`, { transient: false });
  }
  return profileFromStandardClaims(expectedSub, body);
}
