import { createPrivateKey, type KeyObject } from 'node:crypto';

/**
 * The client's private key for `private_key_jwt` (RFC 7523, OIDC Core 9): PEM (PKCS#8, PKCS#1
 * or SEC1) or a private JWK as JSON text. The signing algorithm comes from the key: a JWK's own
 * `alg` when it names one that fits the key, else RS256 for RSA, ES256/ES384/ES512 for the
 * P-256/P-384/P-521 curves, EdDSA for Ed25519. Messages never contain key material.
 */

export interface ClientSigningKey {
  key: KeyObject;
  alg: string;
  kid: string | undefined;
}

const EC_ALGORITHMS: Record<string, string> = { 'prime256v1': 'ES256', 'secp384r1': 'ES384', 'secp521r1': 'ES512' };
const RSA_ALGORITHMS = new Set(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512']);

/** Reads the key; throws a TypeError with a key-free message when it is not usable. */
export function readClientSigningKey(text: string): ClientSigningKey {
  const trimmed = text.trim();
  let key: KeyObject;
  let jwk: Record<string, unknown> | undefined;
  try {
    if (trimmed.startsWith('{')) {
      jwk = JSON.parse(trimmed) as Record<string, unknown>;
      key = createPrivateKey({ key: jwk as never, format: 'jwk' });
    } else {
      key = createPrivateKey(trimmed);
    }
  } catch {
    throw new TypeError('privateKey is not a readable private key (PEM or JWK)');
  }
  const wanted = typeof jwk?.['alg'] === 'string' ? jwk['alg'] : undefined;
  const alg = algorithmFor(key, wanted);
  const kid = typeof jwk?.['kid'] === 'string' ? jwk['kid'] : undefined;
  return { key, alg, kid };
}

function algorithmFor(key: KeyObject, wanted: string | undefined): string {
  switch (key.asymmetricKeyType) {
    case 'rsa':
    case 'rsa-pss': {
      if (wanted !== undefined && !RSA_ALGORITHMS.has(wanted)) throw new TypeError(`privateKey: alg ${wanted} does not fit an RSA key`);
      const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
      if (bits < 2048) throw new TypeError('privateKey: an RSA key needs at least 2048 bits');
      return wanted ?? (key.asymmetricKeyType === 'rsa-pss' ? 'PS256' : 'RS256');
    }
    case 'ec': {
      const alg = EC_ALGORITHMS[key.asymmetricKeyDetails?.namedCurve ?? ''];
      if (alg === undefined) throw new TypeError('privateKey: unsupported elliptic curve');
      if (wanted !== undefined && wanted !== alg) throw new TypeError(`privateKey: alg ${wanted} does not fit this curve`);
      return alg;
    }
    case 'ed25519':
      if (wanted !== undefined && wanted !== 'EdDSA' && wanted !== 'Ed25519') throw new TypeError(`privateKey: alg ${wanted} does not fit an Ed25519 key`);
      return wanted ?? 'EdDSA';
    default:
      throw new TypeError('privateKey: unsupported key type (use RSA, EC P-256/384/521 or Ed25519)');
  }
}

/** For the config schema: undefined when the key is usable, else why not. */
export function privateKeyProblem(text: string): string | undefined {
  try {
    readClientSigningKey(text);
    return undefined;
  } catch (err) {
    return err instanceof TypeError ? err.message : 'privateKey is not usable';
  }
}
