import { hash, randomUUID, sign } from 'node:crypto';
import type { DpopKey } from './key.ts';

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
  const claims: Record<string, string | number> = { htm: request.htm, htu: request.htu, iat: Math.floor(now / 1000), jti: randomUUID() };
  if (request.accessToken !== undefined) claims['ath'] = accessTokenHash(request.accessToken);
  if (request.nonce !== undefined) claims['nonce'] = request.nonce;
  // JWS compact serialisation (RFC 7515 section 7.1) signed by node:crypto, which costs less than
  // half the CPU of jose's SignJWT over WebCrypto (DESIGN.md, DPoP). ES256 is the raw r||s
  // signature (ieee-p1363), not DER; the tests verify every proof with jose.
  const signingInput = `${key.encodedHeader}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  const signature = sign('sha256', Buffer.from(signingInput), { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
  return `${signingInput}.${signature.toString('base64url')}`;
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
