import { asksForNonce } from '../dpop/nonces.ts';
import { type ProviderDpop, sendWithProof } from './dpop-send.ts';
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

export async function fetchUserinfo(http: ProviderHttp, endpoint: string, accessToken: string, expectedSub: string, dpop?: ProviderDpop): Promise<UserProfile> {
  const body = dpop === undefined ? await fetchProfileJson(http, endpoint, accessToken) : await fetchDpopProfile(http, endpoint, accessToken, dpop);
  if (body['sub'] !== expectedSub) {
    throw new ProviderError(http.providerId, `${http.providerId}: userinfo answered for another subject`, { transient: false });
  }
  return profileFromStandardClaims(expectedSub, body);
}

/**
 * The UserInfo request with a DPoP-bound token (RFC 9449 section 7): `Authorization: DPoP` and a
 * proof with `ath`; a 401 `DPoP error="use_dpop_nonce"` is sent once more with the nonce.
 */
async function fetchDpopProfile(http: ProviderHttp, endpoint: string, accessToken: string, dpop: ProviderDpop): Promise<JsonObject> {
  const answer = await sendWithProof(
    http,
    'profile request',
    dpop,
    { method: 'GET', url: endpoint, headers: { accept: 'application/json', authorization: `DPoP ${accessToken}` }, retry: 'network' },
    { accessToken, challenged: (answer) => answer.status === 401 && asksForNonce(answer.headers['www-authenticate']) },
  );
  return expectJsonObject(http.providerId, 'profile request', answer);
}
