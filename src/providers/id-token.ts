import type { JWSAlgorithm, JWTPayload, JWTVerifyGetKey } from 'jose';
import { sameSecret } from '../crypto/same-secret.ts';
import { BadRequestError } from '../errors.ts';
import type { UserProfile } from './types.ts';
import { optionalString } from './answers.ts';
import { verifyJwt } from './jwks.ts';
import { profileFromStandardClaims, userProfile } from './profile.ts';

/**
 * OpenID Connect Core 3.1.3.7: signature (provider JWKS, asymmetric algorithms), `iss`, `aud`
 * contains the client id, `azp` is the client id when present and required with several
 * audiences, `exp`, `iat`, and `nonce` equal to the one this login sent. Step 3: an ID token
 * whose `aud` names audiences that are not trusted is refused, whatever `azp` says; trusted are
 * the client itself and the provider's configured `trustedAudiences`.
 */

export interface IdTokenExpectations {
  issuer: string | string[];
  clientId: string;
  /** Audiences besides the client id that may appear in `aud`. */
  trustedAudiences?: readonly string[];
  nonce: string | undefined;
  algorithms: JWSAlgorithm[];
  now: () => number;
}

export async function verifyIdToken(providerId: string, idToken: string, keys: JWTVerifyGetKey, expect: IdTokenExpectations): Promise<JWTPayload> {
  if (expect.nonce === undefined || expect.nonce === '') throw new BadRequestError('ID token rejected: the login carried no nonce');
  const { payload } = await verifyJwt(providerId, 'ID token', idToken, keys, {
    issuer: expect.issuer,
    audience: expect.clientId,
    algorithms: expect.algorithms,
    now: expect.now,
    requiredClaims: ['sub', 'exp', 'iat'],
  });
  if (typeof payload.sub !== 'string' || payload.sub === '') throw new BadRequestError('ID token rejected: no subject');
  const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  const azp = payload['azp'];
  if (audiences.length > 1 && azp === undefined) throw new BadRequestError('ID token rejected: several audiences and no azp');
  if (azp !== undefined && azp !== expect.clientId) throw new BadRequestError('ID token rejected: azp is another client');
  const trusted = new Set([expect.clientId, ...(expect.trustedAudiences ?? [])]);
  if (audiences.some((audience) => typeof audience !== 'string' || !trusted.has(audience))) throw new BadRequestError('ID token rejected: an audience is not trusted');
  const nonce = payload['nonce'];
  if (typeof nonce !== 'string' || !sameSecret(nonce, expect.nonce)) throw new BadRequestError('ID token rejected: nonce mismatch');
  return payload;
}

export function profileFromClaims(claims: JWTPayload): UserProfile {
  return userProfile({ ...profileFromStandardClaims(String(claims.sub), claims), providerSid: optionalString(claims, 'sid') });
}
