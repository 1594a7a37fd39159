import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { ClientSigningKey } from './private-key.ts';

/**
 * Client authentication at a token or revocation endpoint (RFC 6749 section 2.3.1).
 * `client_secret_basic` form-urlencodes the id and the secret before base64, as the RFC requires
 * (a secret holding `:` or `%` would otherwise be misread). `private_key_jwt` (RFC 7523, OIDC
 * Core 9, RFC 9700 2.5) signs a fresh assertion for every request: `iss` and `sub` the client
 * id, `aud` the issuer identifier (or the token endpoint, for providers that want it), a random
 * `jti`, `iat` now and `exp` 60 seconds later.
 */

export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post';

/** Static credentials, or a signer that makes new ones for each request. */
export type ClientAuth = ClientAuthentication | (() => Promise<ClientAuthentication>);

export async function resolveClientAuth(auth: ClientAuth): Promise<ClientAuthentication> {
  return typeof auth === 'function' ? auth() : auth;
}

export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const ASSERTION_LIFETIME_SECONDS = 60;

export function privateKeyJwt(clientId: string, signingKey: ClientSigningKey, audience: () => Promise<string>, now: () => number): () => Promise<ClientAuthentication> {
  return async () => {
    const aud = await audience();
    const issuedAt = Math.floor(now() / 1000);
    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg: signingKey.alg, typ: 'JWT', ...(signingKey.kid === undefined ? {} : { kid: signingKey.kid }) })
      .setIssuer(clientId)
      .setSubject(clientId)
      .setAudience(aud)
      .setJti(randomUUID())
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + ASSERTION_LIFETIME_SECONDS)
      .sign(signingKey.key);
    return { headers: {}, params: { client_id: clientId, client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: assertion } };
  };
}

export interface ClientCredentials {
  clientId: string;
  clientSecret: string;
}

export interface ClientAuthentication {
  headers: Record<string, string>;
  /** Form parameters to add to the request body. */
  params: Record<string, string>;
}

/** application/x-www-form-urlencoded encoding of one value (space as `+`). */
export function formEncode(value: string): string {
  return new URLSearchParams([['', value]]).toString().slice(1);
}

export function basicAuthorization(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
}

export function clientAuthentication(method: ClientAuthMethod, credentials: ClientCredentials): ClientAuthentication {
  if (method === 'client_secret_post') {
    return { headers: {}, params: { client_id: credentials.clientId, client_secret: credentials.clientSecret } };
  }
  return {
    headers: { authorization: basicAuthorization(formEncode(credentials.clientId), formEncode(credentials.clientSecret)) },
    params: {},
  };
}
