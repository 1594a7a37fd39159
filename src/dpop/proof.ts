import { hash, randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { DPOP_ALG, type DpopKey } from './key.ts';

/**
 * One DPoP proof (RFC 9449 section 4.2): a JWT of type `dpop+jwt`, signed with the session's key,
 * its public JWK in the header, for one request: `htm` the method, `htu` the URL without query or
 * fragment, `iat` now (wall-clock seconds), a fresh `jti`, `ath` the hash of the access token sent
 * with it (resource requests), and the server's `nonce` when it gave one.
 */
export interface ProofRequest {
  htm: string;
  htu: string;
  /** The access token the request carries (resource requests only): its SHA-256 is `ath`. */
  accessToken?: string | undefined;
  nonce?: string | undefined;
}

export async function signProof(key: DpopKey, request: ProofRequest, now: number = Date.now()): Promise<string> {
  const claims: Record<string, string> = { htm: request.htm, htu: request.htu };
  if (request.accessToken !== undefined) claims['ath'] = accessTokenHash(request.accessToken);
  if (request.nonce !== undefined) claims['nonce'] = request.nonce;
  return new SignJWT(claims)
    .setProtectedHeader({ typ: 'dpop+jwt', alg: DPOP_ALG, jwk: key.publicJwk })
    .setIssuedAt(Math.floor(now / 1000))
    .setJti(randomUUID())
    .sign(key.privateKey);
}

/** `ath`: base64url of the SHA-256 of the access token's ASCII. */
export function accessTokenHash(accessToken: string): string {
  return hash('sha256', accessToken, 'base64url');
}

/** The `htu` of a request URL: scheme, authority and path, without query or fragment. */
export function proofUrl(origin: string, pathAndQuery: string): string {
  const queryAt = pathAndQuery.search(/[?#]/);
  return origin + (queryAt === -1 ? pathAndQuery : pathAndQuery.slice(0, queryAt));
}
