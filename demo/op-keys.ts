import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair, type JWK } from 'jose';

/** Signing keys for ID tokens and logout tokens, generated in memory at start (never written). */
export async function generateSigningKeys(): Promise<{ keys: JWK[] }> {
  const [rsa, ec] = await Promise.all([
    generateKeyPair('RS256', { extractable: true }),
    generateKeyPair('ES256', { extractable: true }),
  ]);
  const [rsaJwk, ecJwk] = await Promise.all([exportJWK(rsa.privateKey), exportJWK(ec.privateKey)]);
  return {
    keys: [
      { ...rsaJwk, kid: `rs256-${randomBytes(6).toString('hex')}`, alg: 'RS256', use: 'sig' },
      { ...ecJwk, kid: `es256-${randomBytes(6).toString('hex')}`, alg: 'ES256', use: 'sig' },
    ],
  };
}

/** Keys that sign the provider's own cookies. */
export function generateCookieKeys(): string[] {
  return [randomBytes(32).toString('base64url')];
}
