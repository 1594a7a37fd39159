import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ProviderError } from '../../src/errors.ts';
import { OidcProvider } from '../../src/providers/oidc.ts';
import { ProviderTokens } from '../../src/providers/types.ts';
import { providerConfig } from './support/config.ts';
import { FakeOpenIdProvider } from './support/fake-op.ts';
import { rejectionOf } from './support/secrets.ts';

let op: FakeOpenIdProvider;

beforeAll(async () => {
  op = await FakeOpenIdProvider.start();
});
afterEach(() => op.reset());
afterAll(() => op.close());

async function provider(extra: Record<string, unknown> = {}): Promise<OidcProvider> {
  const corp = new OidcProvider(providerConfig({ type: 'oidc', id: 'corp', issuer: op.issuer, timeout: '1s', clientSecret: 'se:cr%et wörd', ...extra }), { retryDelayMs: 5 });
  await corp.init();
  return corp;
}

describe('code exchange', () => {
  it('posts the code, verifier and redirect URI with client_secret_basic, form-encoding id and secret first', async () => {
    const corp = await provider();
    const tokens = await corp.exchangeCode('code-abc', 'verifier-xyz', 'https://app.example.com/auth/callback');
    const [request] = op.requestsTo('/token');
    expect(request?.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
    expect(request?.form).toEqual({ grant_type: 'authorization_code', code: 'code-abc', redirect_uri: 'https://app.example.com/auth/callback', code_verifier: 'verifier-xyz' });
    const basic = Buffer.from(String(request?.headers.authorization).replace(/^Basic /, ''), 'base64').toString('utf8');
    expect(basic).toBe('client-123:se%3Acr%25et+w%C3%B6rd');
    expect(tokens).toBeInstanceOf(ProviderTokens);
    expect(tokens).toMatchObject({ accessToken: 'at-fake-1', refreshToken: 'rt-fake-1', expiresIn: 300, tokenType: 'Bearer' });
  });

  it('sends client id and secret in the body with client_secret_post', async () => {
    const corp = await provider({ tokenEndpointAuthMethod: 'client_secret_post' });
    await corp.exchangeCode('code-abc', 'verifier-xyz', 'https://app.example.com/cb');
    const [request] = op.requestsTo('/token');
    expect(request?.headers.authorization).toBeUndefined();
    expect(request?.form).toMatchObject({ client_id: 'client-123', client_secret: 'se:cr%et wörd' });
  });

  it('is never retried, not even after a dropped connection', async () => {
    const corp = await provider();
    op.on('POST /token', () => ({ destroy: true }));
    const err = (await rejectionOf(corp.exchangeCode('code-abc', 'v', 'https://app.example.com/cb'))) as ProviderError;
    expect(err.transient).toBe(true);
    expect(op.requestsTo('/token')).toHaveLength(1);
  });

  it('prints the token set without its values', async () => {
    const corp = await provider();
    const tokens = await corp.exchangeCode('code-abc', 'v', 'https://app.example.com/cb');
    expect(JSON.stringify(tokens)).not.toContain('at-fake-1');
    expect(JSON.stringify(tokens)).toContain('"accessToken":"[present]"');
  });

  it('refuses a non-Bearer token type', async () => {
    const corp = await provider();
    op.on('POST /token', () => ({ body: { access_token: 'at', token_type: 'DPoP' } }));
    const err = (await rejectionOf(corp.exchangeCode('c', 'v', 'https://app.example.com/cb'))) as ProviderError;
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.transient).toBe(false);
  });
});

describe('refresh', () => {
  it('posts grant_type=refresh_token and keeps a missing refresh_token undefined', async () => {
    const corp = await provider();
    op.on('POST /token', () => ({ body: { access_token: 'at-2', token_type: 'bearer', expires_in: '600', scope: 'openid email' } }));
    const tokens = await corp.refresh('rt-old');
    expect(op.requestsTo('/token')[0]?.form).toEqual({ grant_type: 'refresh_token', refresh_token: 'rt-old' });
    expect(tokens).toMatchObject({ accessToken: 'at-2', refreshToken: undefined, expiresIn: 600, scope: 'openid email' });
  });

  it('is not retried after the connection dropped once the request was sent: the provider may have redeemed the token', async () => {
    const corp = await provider();
    let calls = 0;
    op.on('POST /token', () => (++calls === 1 ? { destroy: true } : { body: { access_token: 'at-3', token_type: 'Bearer', expires_in: 60 } }));
    const err = (await rejectionOf(corp.refresh('rt-old'))) as ProviderError;
    expect(err.transient).toBe(true);
    expect(err.outcomeUnknown).toBe(true);
    expect(calls).toBe(1);
    expect(op.requestsTo('/token')).toHaveLength(1);
  });

  it('does not retry a timeout: the provider may have rotated the token already', async () => {
    const corp = await provider({ timeout: '500ms' });
    op.on('POST /token', () => ({ delayMs: 1500, body: { access_token: 'late' } }));
    const err = (await rejectionOf(corp.refresh('rt-old'))) as ProviderError;
    expect(err.transient).toBe(true);
    expect(err.message).toMatch(/timed out/);
    expect(op.requestsTo('/token')).toHaveLength(1);
  });
});

describe('revocation (RFC 7009)', () => {
  it('revokes the refresh token first, then the access token, each with its hint and client auth', async () => {
    const corp = await provider();
    await expect(corp.revoke({ accessToken: 'at-9', refreshToken: 'rt-9' })).resolves.toMatchObject({ outcome: 'revoked' });
    const forms = op.requestsTo('/revoke').map((request) => request.form);
    expect(forms).toEqual([
      { token: 'rt-9', token_type_hint: 'refresh_token' },
      { token: 'at-9', token_type_hint: 'access_token' },
    ]);
    expect(op.requestsTo('/revoke').every((request) => String(request.headers.authorization).startsWith('Basic '))).toBe(true);
  });

  it('counts invalid_token as revoked and unsupported_token_type as unsupported', async () => {
    const corp = await provider();
    op.on('POST /revoke', () => ({ status: 400, body: { error: 'invalid_token' } }));
    await expect(corp.revoke({ refreshToken: 'rt' })).resolves.toMatchObject({ outcome: 'revoked' });
    op.on('POST /revoke', () => ({ status: 400, body: { error: 'unsupported_token_type' } }));
    await expect(corp.revoke({ accessToken: 'at' })).resolves.toMatchObject({ outcome: 'unsupported' });
  });

  it('never throws: a 503 or a dropped connection is reported as failed', async () => {
    const corp = await provider();
    op.on('POST /revoke', () => ({ status: 503, body: 'down' }));
    await expect(corp.revoke({ accessToken: 'at', refreshToken: 'rt' })).resolves.toMatchObject({ outcome: 'failed' });
    op.on('POST /revoke', () => ({ destroy: true }));
    await expect(corp.revoke({ refreshToken: 'rt' })).resolves.toMatchObject({ outcome: 'failed' });
  });

  it('is unsupported without a revocation_endpoint', async () => {
    const { revocation_endpoint: _dropped, ...metadata } = op.metadata();
    op.on('GET /.well-known/openid-configuration', () => ({ body: metadata }));
    const corp = await provider();
    await expect(corp.revoke({ refreshToken: 'rt' })).resolves.toMatchObject({ outcome: 'unsupported' });
    expect(op.requestsTo('/revoke')).toHaveLength(0);
  });
});

describe('RP-initiated logout', () => {
  it('builds the end-session URL with post_logout_redirect_uri and client_id, never an ID token', async () => {
    const corp = await provider();
    const url = corp.endSessionUrl('https://app.example.com/');
    expect(`${url?.origin}${url?.pathname}`).toBe(`${op.issuer}/logout`);
    expect(Object.fromEntries(url?.searchParams ?? [])).toEqual({
      post_logout_redirect_uri: 'https://app.example.com/',
      client_id: 'client-123',
    });
  });

  it('is undefined when the OP has no end_session_endpoint', async () => {
    const { end_session_endpoint: _dropped, ...metadata } = op.metadata();
    op.on('GET /.well-known/openid-configuration', () => ({ body: metadata }));
    const corp = await provider();
    expect(corp.endSessionUrl('https://app.example.com/')).toBeUndefined();
  });
});
