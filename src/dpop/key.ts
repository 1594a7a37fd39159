import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';

/**
 * A session's DPoP key pair (RFC 9449): ES256, made at login, one per session. The private key
 * is kept only sealed in the session's token set (field `dpop`, see sealed-key.ts); in memory it
 * is a KeyObject beside the public JWK that every proof carries in its header, and that header
 * already encoded (it is the same for every proof of the session).
 */
export interface DpopKey {
  readonly privateKey: KeyObject;
  /** The public half as a JWK (`kty`, `crv`, `x`, `y`): the proof header's `jwk`. */
  readonly publicJwk: JWK;
  /** base64url of the proof's protected header `{ typ: 'dpop+jwt', alg: 'ES256', jwk }`. */
  readonly encodedHeader: string;
}

const DPOP_ALG = 'ES256';

/** A fresh key pair, and its private JWK as the text to seal. */
export function generateDpopKey(): { key: DpopKey; privateJwk: string } {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = privateKey.export({ format: 'jwk' }) as JWK;
  return { key: dpopKey(privateKey, jwk), privateJwk: JSON.stringify(jwk) };
}

/** The key from the private JWK text that was sealed. Throws on anything that is not an EC P-256 private key. */
export function importDpopKey(privateJwk: string): DpopKey {
  const jwk = JSON.parse(privateJwk) as JWK;
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || typeof jwk.d !== 'string') throw new TypeError('not an EC P-256 private key');
  return dpopKey(createPrivateKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' }), jwk);
}

function dpopKey(privateKey: KeyObject, jwk: JWK): DpopKey {
  const publicJwk: JWK = { kty: jwk.kty!, crv: jwk.crv!, x: jwk.x!, y: jwk.y! };
  const encodedHeader = Buffer.from(JSON.stringify({ typ: 'dpop+jwt', alg: DPOP_ALG, jwk: publicJwk })).toString('base64url');
  return { privateKey, publicJwk, encodedHeader };
}
