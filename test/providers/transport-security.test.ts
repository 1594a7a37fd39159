import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createGateway } from '../../src/app.ts';
import { configSchema } from '../../src/config/schema.ts';
import { generateKey } from '../../src/crypto/keyring.ts';
import { ProviderError } from '../../src/errors.ts';
import { createLogger } from '../../src/observability/index.ts';
import { OidcProvider } from '../../src/providers/oidc.ts';
import { BrowserClient } from '../support/http.ts';
import { startGatewayFixture } from '../auth/helpers/gateway-fixture.ts';
import { providerConfig } from './support/config.ts';
import { FakeOpenIdProvider } from './support/fake-op.ts';
import { rejectionOf } from './support/secrets.ts';

/**
 * TLS outside loopback (RFC 9700 2.6, RFC 7009 2): configured issuer, GitHub and upstream URLs
 * are checked at config validation, discovered endpoints at discovery; plain http passes only to
 * loopback hosts or with `allowInsecure: true`, which is warned about at start. And PKCE: a
 * provider whose metadata lists its methods without S256 gets no login.
 */

const keys = () => ({ encryption: [{ kid: 'k1', key: generateKey() }], cookie: [generateKey()] });

function parse(providers: unknown[], routes: unknown[] = []) {
  return configSchema.safeParse({ publicOrigin: 'https://app.example.com', keys: keys(), providers, routes });
}

function issuePaths(result: ReturnType<typeof parse>): string[] {
  return result.success ? [] : result.error.issues.map((issue) => issue.path.join('.'));
}

const oidc = (issuer: string, extra: Record<string, unknown> = {}) => ({ id: 'corp', type: 'oidc', issuer, clientId: 'c', clientSecret: 's', ...extra });

describe('configured URLs need https outside loopback', () => {
  it.each([
    ['an http issuer on a public host', [oidc('http://login.example.com')], [], 'providers.0.issuer'],
    ['an http issuer on a private address', [oidc('http://10.0.0.5/realms/x')], [], 'providers.0.issuer'],
    ['an http GitHub Enterprise base', [{ id: 'gh', type: 'github', clientId: 'c', clientSecret: 's', baseUrl: 'http://github.corp' }], [], 'providers.0.baseUrl'],
    ['an http GitHub API', [{ id: 'gh', type: 'github', clientId: 'c', clientSecret: 's', apiUrl: 'http://api.github.corp' }], [], 'providers.0.apiUrl'],
    ['an http upstream on a service name', [oidc('https://login.example.com')], [{ prefix: '/api', upstream: 'http://api.internal:3000' }], 'routes.0.upstream'],
  ])('refuses %s', (_name, providers, routes, path) => {
    expect(issuePaths(parse(providers, routes))).toContain(path);
  });

  it.each([
    ['https everywhere', [oidc('https://login.example.com')], [{ prefix: '/api', upstream: 'https://api.example.com' }]],
    ['http on 127.0.0.0/8, ::1 and localhost', [oidc('http://127.0.0.9:8080')], [{ prefix: '/a', upstream: 'http://localhost:3000' }, { prefix: '/b', upstream: 'http://[::1]:3000' }]],
    ['http with allowInsecure', [oidc('http://login.internal', { allowInsecure: true })], [{ prefix: '/api', upstream: 'http://api.internal:3000', allowInsecure: true }]],
  ])('accepts %s', (_name, providers, routes) => {
    expect(issuePaths(parse(providers, routes))).toEqual([]);
  });

  it('warns at start for every allowInsecure setting', async () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    });
    const config = configSchema.parse({
      publicOrigin: 'https://app.example.com',
      keys: keys(),
      providers: [oidc('http://login.internal', { allowInsecure: true })],
      routes: [{ prefix: '/api', upstream: 'http://api.internal:3000', allowInsecure: true }],
    });
    const gateway = createGateway(config, { logger: createLogger({ level: 'warn', destination }) });
    await gateway.close();
    const warnings = lines.filter((line) => line.includes('allowInsecure'));
    expect(warnings.some((line) => line.includes('providers.0 (corp)'))).toBe(true);
    expect(warnings.some((line) => line.includes('routes.0 (/api)'))).toBe(true);
  });
});

describe('discovered endpoints need https outside loopback', () => {
  let op: FakeOpenIdProvider;

  beforeAll(async () => {
    op = await FakeOpenIdProvider.start();
  });
  afterEach(() => op.reset());
  afterAll(() => op.close());

  it.each(['token_endpoint', 'jwks_uri', 'userinfo_endpoint', 'revocation_endpoint', 'end_session_endpoint'])('refuses an http %s on a public host', async (field) => {
    op.on('GET /.well-known/openid-configuration', () => ({ body: { ...op.metadata(), [field]: 'http://op.example.com/x' } }));
    const corp = new OidcProvider(providerConfig({ type: 'oidc', id: 'corp', issuer: op.issuer, timeout: '1s' }), { retryDelayMs: 5 });
    const err = await rejectionOf(corp.init());
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).message).toContain(`${field} must use https outside loopback`);
    expect(corp.ready).toBe(false);
  });

  it('accepts them with allowInsecure', async () => {
    op.on('GET /.well-known/openid-configuration', () => ({ body: { ...op.metadata(), revocation_endpoint: 'http://op.example.com/revoke' } }));
    const corp = new OidcProvider(providerConfig({ type: 'oidc', id: 'corp', issuer: op.issuer, timeout: '1s', allowInsecure: true }), { retryDelayMs: 5 });
    await corp.init();
    expect(corp.ready).toBe(true);
  });
});

describe('PKCE S256 (code_challenge_methods_supported)', () => {
  let op: FakeOpenIdProvider;

  beforeAll(async () => {
    op = await FakeOpenIdProvider.start();
  });
  afterAll(() => op.close());

  it.each([
    [['plain'], 502, 'PKCE_UNSUPPORTED'],
    [['S256', 'plain'], 302, undefined],
    [undefined, 302, undefined],
  ])('methods %j: login answers %i', async (methods, status, code) => {
    op.reset();
    op.on('GET /.well-known/openid-configuration', () => ({ body: { ...op.metadata(), ...(methods === undefined ? {} : { code_challenge_methods_supported: methods }) } }));
    const f = await startGatewayFixture({ providers: [{ id: 'corp', type: 'oidc', issuer: op.issuer, clientId: 'c', clientSecret: 's', timeout: '1s' }] });
    try {
      const answer = await new BrowserClient().request(`${f.origin}/auth/login?provider=corp`);
      expect(answer.status).toBe(status);
      if (code !== undefined) {
        expect(answer.json()).toMatchObject({ code });
        expect(answer.location).toBeUndefined();
      } else {
        expect(new URL(answer.location!).searchParams.get('code_challenge_method')).toBe('S256');
      }
    } finally {
      await f.close();
    }
  });
});
