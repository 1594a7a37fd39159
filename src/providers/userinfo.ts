import type { DpopKey } from '../dpop/key.ts';
import { signProof } from '../dpop/proof.ts';
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

export async function fetchUserinfo(http: ProviderHttp, endpoint: string, accessToken: string, expectedSub: string, dpop?: DpopKey): Promise<UserProfile> {
  const body = dpop === undefined ? await fetchProfileJson(http, endpoint, accessToken) : await fetchDpopProfile(http, endpoint, accessToken, dpop);
  if (body['sub'] !== expectedSub) {
    throw new ProviderError(http.providerId, `${http.providerId}: userinfo answered for another subject`, { transient: false });
  }
  return profileFromStandardClaims(expectedSub, body);
}

/** The UserInfo request with a DPoP-bound token (RFC 9449 section 7): `Authorization: DPoP` and a proof. */
async function fetchDpopProfile(http: ProviderHttp, endpoint: string, accessToken: string, key: DpopKey): Promise<JsonObject> {
  const answer = await http.send('profile request', {
    method: 'GET',
    url: endpoint,
    headers: { accept: 'application/json', authorization: `DPoP ${accessToken}` },
    proof: () => signProof(key, { htm: 'GET', htu: endpoint.split(/[?#]/)[0]!, accessToken }),
    retry: 'network',
  });
  return expectJsonObject(http.providerId, 'profile request', answer);
}
