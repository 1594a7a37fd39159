import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK, type JWTPayload } from 'jose';

/** A signing key the tests control, published as a JWKS, and JWTs signed with it. */
export interface TestSigner {
  kid: string;
  jwks: { keys: JWK[] };
  sign(claims: JWTPayload, header?: { typ?: string; kid?: string; alg?: string }): Promise<string>;
}

export async function createSigner(kid = 'test-key-1', alg = 'RS256'): Promise<TestSigner> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return {
    kid,
    jwks: { keys: [jwk] },
    sign: (claims, header = {}) => signWith(privateKey, claims, { alg, kid, ...header }),
  };
}

export async function signWith(key: CryptoKey | Uint8Array, claims: JWTPayload, header: { alg: string; kid?: string; typ?: string }): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: header.alg, ...(header.kid ? { kid: header.kid } : {}), ...(header.typ ? { typ: header.typ } : {}) }).sign(key);
}

/** An unsecured JWT (`alg: none`), which must never verify. */
export function unsignedJwt(claims: JWTPayload): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`;
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
