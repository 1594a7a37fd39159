import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import { decodeJwt, jwtVerify } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_ASSERTION_TYPE, privateKeyJwt } from '../../src/providers/client-auth.ts';
import { ProviderHttp } from '../../src/providers/http.ts';
import { readClientSigningKey } from '../../src/providers/private-key.ts';
import { refreshGrant } from '../../src/providers/token-endpoint.ts';
import { freePort } from '../support/ports.ts';
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

  it('a retry after a refused connection carries a new assertion (new jti)', async () => {
    // Nothing listens on the token endpoint's port for the first attempt, so it fails before
    // anything was sent (a sent request is never repeated); the server comes up when the second
    // attempt signs its assertion, and that attempt goes through.
    const port = await freePort();
    const seen: string[] = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        seen.push(new URLSearchParams(Buffer.concat(chunks).toString('utf8')).get('client_assertion') ?? '');
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: 'at-2', token_type: 'Bearer', expires_in: 300 }));
      });
    });
    const signer = privateKeyJwt('client-123', readClientSigningKey(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()), async () => op.issuer, Date.now);
    const signed: string[] = [];
    let attempts = 0;
    const auth = async () => {
      attempts += 1;
      if (attempts === 2) await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
      const credentials = await signer();
      signed.push(credentials.params['client_assertion']!);
      return credentials;
    };
    try {
      const http = new ProviderHttp({ providerId: 'corp', timeoutMs: 2000, retryDelayMs: 5 });
      const tokens = await refreshGrant(http, { endpoint: `http://127.0.0.1:${port}/token`, auth, refreshToken: 'rt-1' });
      expect(tokens.expiresIn).toBe(300);
      expect(attempts).toBe(2);
      expect(seen).toEqual([signed[1]]);
      expect(decodeJwt(signed[0]!).jti).not.toBe(decodeJwt(signed[1]!).jti);
    } finally {
      await new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
    }
  });

  it('a refresh whose connection drops after it was sent is not sent again (its outcome is unknown)', async () => {
    op.on('POST /token', () => ({ destroy: true }));
    await expect(provider().refresh('rt-1')).rejects.toMatchObject({ transient: true, outcomeUnknown: true });
    expect(op.requestsTo('/token')).toHaveLength(1);
  });
});
