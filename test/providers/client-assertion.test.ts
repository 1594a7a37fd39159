import { generateKeyPairSync } from 'node:crypto';
import { decodeJwt, jwtVerify } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_ASSERTION_TYPE } from '../../src/providers/client-auth.ts';
import { OidcProvider } from '../../src/providers/oidc.ts';
import { providerConfig } from './support/config.ts';
import { FakeOpenIdProvider } from './support/fake-op.ts';

/**
 * private_key_jwt at the wire: every attempt carries its own assertion. A refresh whose first
 * connection is dropped is retried once (connection failures only) with a newly signed
 * assertion, since the provider may have seen (and spent) the first `jti`.
 */

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
let op: FakeOpenIdProvider;

beforeAll(async () => {
  op = await FakeOpenIdProvider.start();
});
afterEach(() => op.reset());
afterAll(() => op.close());

function provider(): OidcProvider {
  return new OidcProvider(
    providerConfig({ type: 'oidc', id: 'corp', issuer: op.issuer, timeout: '1s', tokenEndpointAuthMethod: 'private_key_jwt', privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() }),
    { retryDelayMs: 5 },
  );
}

describe('private_key_jwt on the wire', () => {
  it('sends no secret, only a verifiable assertion for the issuer', async () => {
    await provider().refresh('rt-1');
    const [request] = op.requestsTo('/token');
    expect(request!.headers.authorization).toBeUndefined();
    expect(request!.form['client_secret']).toBeUndefined();
    expect(request!.form).toMatchObject({ client_id: 'client-123', client_assertion_type: CLIENT_ASSERTION_TYPE, grant_type: 'refresh_token' });
    const { payload, protectedHeader } = await jwtVerify(request!.form['client_assertion']!, publicKey, { issuer: 'client-123', subject: 'client-123', audience: op.issuer });
    expect(protectedHeader.alg).toBe('ES256');
    expect(payload.exp! - payload.iat!).toBe(60);
  });

  it('a retry after a dropped connection carries a new assertion (new jti)', async () => {
    let calls = 0;
    op.on('POST /token', () => {
      calls += 1;
      return calls === 1 ? { destroy: true } : { body: { access_token: 'at-2', token_type: 'Bearer', expires_in: 300 } };
    });
    await expect(provider().refresh('rt-1')).resolves.toMatchObject({ expiresIn: 300 });
    const jtis = op.requestsTo('/token').map((request) => decodeJwt(request.form['client_assertion']!).jti);
    expect(jtis).toHaveLength(2);
    expect(jtis[0]).not.toBe(jtis[1]);
  });
});
