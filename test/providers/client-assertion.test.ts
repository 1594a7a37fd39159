import { generateKeyPairSync } from 'node:crypto';
import { decodeJwt, jwtVerify } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_ASSERTION_TYPE } from '../../src/providers/client-auth.ts';
import { OidcProvider } from '../../src/providers/oidc.ts';
import { providerConfig } from './support/config.ts';
import { FakeOpenIdProvider } from './support/fake-op.ts';

/**
 * private_key_jwt at the wire: every attempt carries its own assertion, signed for that attempt
 * (a retry after a connection that failed before sending signs anew, since a `jti` is single-use).
 * A request that was sent and then lost its connection is never sent again: the provider may
 * have processed it (and rotated the refresh token).
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

  it('every request carries a newly signed assertion (new jti)', async () => {
    const gateway = provider();
    await gateway.refresh('rt-1');
    await gateway.refresh('rt-2');
    const jtis = op.requestsTo('/token').map((request) => decodeJwt(request.form['client_assertion']!).jti);
    expect(jtis).toHaveLength(2);
    expect(jtis[0]).not.toBe(jtis[1]);
  });

  it('a refresh whose connection drops after it was sent is not sent again (its outcome is unknown)', async () => {
    op.on('POST /token', () => ({ destroy: true }));
    await expect(provider().refresh('rt-1')).rejects.toMatchObject({ transient: true, outcomeUnknown: true });
    expect(op.requestsTo('/token')).toHaveLength(1);
  });
});
