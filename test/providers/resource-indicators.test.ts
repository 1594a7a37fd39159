import { createHash, randomBytes } from 'node:crypto';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenIdProvider, type OpenIdProviderHandle } from '../../demo/op.ts';
import { ProviderError } from '../../src/errors.ts';
import { OidcProvider } from '../../src/providers/oidc.ts';
import { providerConfig } from './support/config.ts';
import { loginAtProvider } from './support/op-login.ts';
import { rejectionOf } from './support/secrets.ts';

/**
 * RFC 8707 resource indicators and RFC 8693 token exchange in the generic OIDC provider, against
 * the real oidc-provider with two APIs as resource servers and a registered token-exchange grant:
 * the authorization request names every resource (repeated `resource` parameters, in the URL or
 * pushed), a refresh with `resource` gets a JWT whose `aud` is that API, an exchange one for its
 * audience, and a resource the login did not ask for is refused without ending the grant.
 */

const REDIRECT_URI = 'http://127.0.0.1:1/auth/callback';
const CLIENT = { clientId: 'tg-resources', clientSecret: 'resources-secret-value-0123456789' };
const ORDERS = 'https://orders.example.test';
const BILLING = 'https://billing.example.test';
const REPORTS = 'https://reports.example.test';

let op: OpenIdProviderHandle;

beforeAll(async () => {
  op = await startOpenIdProvider({
    clients: [{ ...CLIENT, redirectUris: [REDIRECT_URI] }],
    resourceServers: { [ORDERS]: { scope: 'orders' }, [BILLING]: { scope: 'billing' }, [REPORTS]: { scope: 'reports' } },
    tokenExchange: true,
  });
});

afterAll(async () => {
  await op?.close();
});

function provider(par: 'off' | 'auto'): OidcProvider {
  const config = providerConfig({ type: 'oidc', id: 'op', issuer: op.issuer, ...CLIENT, timeout: '5s', par, scopes: ['openid', 'offline_access', 'orders', 'billing'] });
  return new OidcProvider(config, { retryDelayMs: 5, resourcesOf: () => [ORDERS, BILLING] });
}

async function login(corp: OidcProvider, check: (url: URL) => void) {
  await corp.init();
  const verifier = randomBytes(32).toString('base64url');
  const url = await corp.authorizationUrl({ state: 's', nonce: 'n', codeChallenge: createHash('sha256').update(verifier).digest('base64url'), redirectUri: REDIRECT_URI, forceConsent: true });
  check(url);
  const code = (await loginAtProvider(url, REDIRECT_URI)).searchParams.get('code');
  if (!code) throw new Error('no code');
  return corp.exchangeCode(code, verifier, REDIRECT_URI);
}

describe('a token per API at the provider', () => {
  it('front channel: each resource is its own parameter; a refresh per resource gets a JWT for that API only', async () => {
    const corp = provider('off');
    const tokens = await login(corp, (url) => expect(url.searchParams.getAll('resource')).toEqual([ORDERS, BILLING]));
    const orders = await corp.refresh(tokens.refreshToken!, { resource: ORDERS });
    expect(decodeJwt(orders.accessToken).aud).toBe(ORDERS);
    expect(orders.scope).toBe('orders');
    const billing = await corp.refresh(orders.refreshToken!, { resource: BILLING });
    expect(decodeJwt(billing.accessToken).aud).toBe(BILLING);
  });

  it('pushed: the resources go in the pushed request; an exchange of the login token gets one for its audience', async () => {
    const corp = provider('auto');
    const tokens = await login(corp, (url) => expect([...url.searchParams.keys()].sort()).toEqual(['client_id', 'request_uri']));
    const orders = await corp.refresh(tokens.refreshToken!, { resource: ORDERS });
    expect(decodeJwt(orders.accessToken).aud).toBe(ORDERS);
    const reports = await corp.exchangeToken({ subjectToken: tokens.accessToken, audience: REPORTS, scope: 'reports' });
    expect(decodeJwt(reports.accessToken)).toMatchObject({ aud: REPORTS, scope: 'reports' });
  });

  it('a resource the login did not ask for is invalid_target: refused, but not a revoked grant', async () => {
    const corp = provider('off');
    const tokens = await login(corp, () => undefined);
    const err = await rejectionOf(corp.refresh(tokens.refreshToken!, { resource: REPORTS }));
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).oauthError).toBe('invalid_target');
    expect((err as ProviderError).grantRevoked).toBe(false);
  });
});
