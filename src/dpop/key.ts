import { type CryptoKey, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';

/**
 * A session's DPoP key pair (RFC 9449): ES256, made at login, one per session. The private key
 * is kept only sealed in the session's token set (field `dpop`, see sealed-key.ts); in memory it
 * is an imported CryptoKey beside the public JWK that every proof carries in its header.
 */
export interface DpopKey {
  readonly privateKey: CryptoKey;
  /** The public half as a JWK (`kty`, `crv`, `x`, `y`): the proof header's `jwk`. */
  readonly publicJwk: JWK;
}

export const DPOP_ALG = 'ES256';

/** A fresh key pair, and its private JWK as the text to seal. */
export async function generateDpopKey(): Promise<{ key: DpopKey; privateJwk: string }> {
  const pair = await generateKeyPair(DPOP_ALG, { extractable: true });
  const jwk = await exportJWK(pair.privateKey);
  return { key: { privateKey: pair.privateKey, publicJwk: publicPart(jwk) }, privateJwk: JSON.stringify(jwk) };
}

/** The key from the private JWK text that was sealed. Throws on anything that is not an EC P-256 private key. */
export async function importDpopKey(privateJwk: string): Promise<DpopKey> {
  const jwk = JSON.parse(privateJwk) as JWK;
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || typeof jwk.d !== 'string') throw new TypeError('not an EC P-256 private key');
  const privateKey = await importJWK(jwk, DPOP_ALG);
  return { privateKey: privateKey as CryptoKey, publicJwk: publicPart(jwk) };
}

function publicPart(jwk: JWK): JWK {
  return { kty: jwk.kty!, crv: jwk.crv!, x: jwk.x!, y: jwk.y! };
}
