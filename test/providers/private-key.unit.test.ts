import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { providerSchema } from '../../src/config/schema.ts';
import { readClientSigningKey } from '../../src/providers/private-key.ts';

/** The private_key_jwt key: PEM or JWK, the algorithm from the key, clear refusals without key material. */

const pem = (key: { export(options: { type: 'pkcs8'; format: 'pem' }): string | Buffer }) => key.export({ type: 'pkcs8', format: 'pem' }).toString();

describe('the client signing key', () => {
  it.each([
    ['RSA 2048 PEM', pem(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey), 'RS256'],
    ['EC P-256 PEM', pem(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey), 'ES256'],
    ['EC P-384 PEM', pem(generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey), 'ES384'],
    ['Ed25519 PEM', pem(generateKeyPairSync('ed25519').privateKey), 'EdDSA'],
    ['RSA JWK saying PS256', JSON.stringify({ ...generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }), alg: 'PS256', kid: 'k-ps' }), 'PS256'],
  ])('%s signs with %s', (_name, text, alg) => {
    expect(readClientSigningKey(text).alg).toBe(alg);
  });

  it('keeps the JWK kid for the assertion header', () => {
    const jwk = { ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }), kid: 'tg-1' };
    expect(readClientSigningKey(JSON.stringify(jwk)).kid).toBe('tg-1');
  });

  it.each([
    ['not a key', 'hello', /not a readable private key/],
    ['a public key', generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString(), /not a readable private key/],
    ['RSA 1024', pem(generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey), /at least 2048 bits/],
    ['an alg that does not fit', JSON.stringify({ ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }), alg: 'RS256' }), /does not fit/],
  ])('refuses %s with a message that holds no key material', (_name, text, message) => {
    const parsed = providerSchema.safeParse({ id: 'corp', type: 'oidc', issuer: 'https://op.example.com', clientId: 'c', tokenEndpointAuthMethod: 'private_key_jwt', privateKey: text });
    expect(parsed.success).toBe(false);
    const issue = parsed.error!.issues.find((candidate) => candidate.path.join('.') === 'privateKey')!;
    expect(issue.message).toMatch(message);
    expect(issue.message).not.toContain('BEGIN');
    expect(issue.message.length).toBeLessThan(120);
  });

  it('private_key_jwt needs privateKey, the secret methods need clientSecret', () => {
    const base = { id: 'corp', type: 'oidc', issuer: 'https://op.example.com', clientId: 'c' };
    const noKey = providerSchema.safeParse({ ...base, tokenEndpointAuthMethod: 'private_key_jwt' });
    expect(noKey.error?.issues.map((issue) => issue.path.join('.'))).toEqual(['privateKey']);
    const noSecret = providerSchema.safeParse(base);
    expect(noSecret.error?.issues.map((issue) => issue.path.join('.'))).toEqual(['clientSecret']);
  });
});
