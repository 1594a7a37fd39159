import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ProviderError } from '../../src/errors.ts';
import { OidcProvider } from '../../src/providers/oidc.ts';
import { providerConfig } from './support/config.ts';
import { FakeOpenIdProvider } from './support/fake-op.ts';
import { rejectionOf } from './support/secrets.ts';

let op: FakeOpenIdProvider;

beforeAll(async () => {
  op = await FakeOpenIdProvider.start();
});
afterEach(() => op.reset());
afterAll(() => op.close());

function provider(extra: Record<string, unknown> = {}): OidcProvider {
  return new OidcProvider(providerConfig({ type: 'oidc', id: 'corp', issuer: op.issuer, timeout: '1s', ...extra }), { retryDelayMs: 5 });
}

describe('discovery', () => {
  it('is not ready until init() loads <issuer>/.well-known/openid-configuration', async () => {
    const corp = provider();
    expect(corp.ready).toBe(false);
    await corp.init();
    expect(corp.ready).toBe(true);
    expect(op.requestsTo('/.well-known/openid-configuration')).toHaveLength(1);
    expect(corp.issuer).toBe(op.issuer);
    expect(corp.oidc).toBe(true);
  });

  it('runs one discovery for concurrent callers and none after success', async () => {
    const corp = provider();
    await Promise.all([corp.init(), corp.init(), corp.refresh('rt-1')]);
    await corp.init();
    expect(op.requestsTo('/.well-known/openid-configuration')).toHaveLength(1);
  });

  it('refuses to build the logout URL before discovery, with a transient error', () => {
    const corp = provider();
    const build = () => corp.endSessionUrl('http://127.0.0.1/');
    expect(build).toThrow(ProviderError);
    try {
      build();
    } catch (err) {
      expect((err as ProviderError).transient).toBe(true);
    }
  });

  it('discovers before building the authorization URL, and fails transiently while discovery does', async () => {
    const corp = provider();
    op.on('GET /.well-known/openid-configuration', () => ({ status: 503, body: 'down' }));
    const request = { state: 's', codeChallenge: 'c', nonce: 'n', redirectUri: 'http://127.0.0.1/cb' };
    const err = await rejectionOf(corp.authorizationUrl(request));
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).transient).toBe(true);
    op.reset();
    expect((await corp.authorizationUrl(request)).searchParams.get('state')).toBe('s');
    expect(corp.ready).toBe(true);
  });

  it('rejects a document whose issuer differs, even by a trailing slash, as transient', async () => {
    op.on('GET /.well-known/openid-configuration', () => ({ body: { ...op.metadata(), issuer: `${op.issuer}/` } }));
    const corp = provider();
    const err = await rejectionOf(corp.init());
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).transient).toBe(true);
    expect(corp.ready).toBe(false);
  });

  it('treats a 404, an HTML page and a missing token_endpoint as transient failures, and retries later', async () => {
    const corp = provider();
    op.on('GET /.well-known/openid-configuration', () => ({ status: 404, body: '<html>not here</html>' }));
    expect(((await rejectionOf(corp.init())) as ProviderError).transient).toBe(true);
    op.on('GET /.well-known/openid-configuration', () => ({ status: 200, body: '<html>login</html>' }));
    expect(((await rejectionOf(corp.init())) as ProviderError).transient).toBe(true);
    const { token_endpoint: _dropped, ...withoutToken } = op.metadata();
    op.on('GET /.well-known/openid-configuration', () => ({ body: withoutToken }));
    expect(((await rejectionOf(corp.init())) as ProviderError).transient).toBe(true);
    op.reset();
    await corp.init();
    expect(corp.ready).toBe(true);
  });

  it('rejects http endpoints under an https issuer', async () => {
    const { readMetadata } = await import('../../src/providers/discovery.ts');
    const issuer = 'https://op.example.com';
    const body = { issuer, authorization_endpoint: `${issuer}/a`, token_endpoint: 'http://op.example.com/t', jwks_uri: `${issuer}/j` };
    expect(() => readMetadata('corp', issuer, body)).toThrow(/token_endpoint must use https/);
    expect(readMetadata('corp', issuer, { ...body, token_endpoint: `${issuer}/t` }).tokenEndpoint).toBe(`${issuer}/t`);
  });

  it('fails transiently when the OP is unreachable', async () => {
    const corp = new OidcProvider(providerConfig({ type: 'oidc', id: 'gone', issuer: 'http://127.0.0.1:9', timeout: '1s' }), { retryDelayMs: 5 });
    const err = (await rejectionOf(corp.init())) as ProviderError;
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.transient).toBe(true);
    expect(err.message).toMatch(/ECONNREFUSED/);
  });
});

describe('authorization URL', () => {
  it('carries response_type=code, client_id, redirect_uri, default scopes, state, S256 challenge and nonce', async () => {
    const corp = provider({ authorizationParams: { prompt: 'login', state: 'attacker', nonce: 'attacker' } });
    await corp.init();
    const url = await corp.authorizationUrl({ state: 'st-1', codeChallenge: 'ch-1', nonce: 'no-1', redirectUri: 'https://app.example.com/auth/callback' });
    expect(`${url.origin}${url.pathname}`).toBe(`${op.issuer}/authorize`);
    expect(Object.fromEntries(url.searchParams)).toEqual({
      prompt: 'login',
      response_type: 'code',
      client_id: 'client-123',
      redirect_uri: 'https://app.example.com/auth/callback',
      scope: 'openid profile email offline_access',
      state: 'st-1',
      code_challenge: 'ch-1',
      code_challenge_method: 'S256',
      nonce: 'no-1',
    });
  });

  it('asks for consent only when the login forces it (OIDC Core 11, offline_access)', async () => {
    const corp = provider({ authorizationParams: { prompt: 'login' } });
    await corp.init();
    const base = { state: 's', codeChallenge: 'c', nonce: 'n', redirectUri: 'https://app.example.com/cb' };
    expect((await corp.authorizationUrl(base)).searchParams.get('prompt')).toBe('login');
    expect((await corp.authorizationUrl({ ...base, forceConsent: true })).searchParams.get('prompt')).toBe('login consent');
  });

  it('adds openid to configured scopes that forgot it', async () => {
    const corp = provider({ scopes: ['email'] });
    await corp.init();
    const url = await corp.authorizationUrl({ state: 's', codeChallenge: 'c', nonce: 'n', redirectUri: 'https://app.example.com/cb' });
    expect(url.searchParams.get('scope')).toBe('openid email');
  });
});
