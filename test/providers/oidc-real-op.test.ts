import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenIdProvider, type OpenIdProviderHandle } from '../../demo/op.ts';
import { BadRequestError, ProviderError } from '../../src/errors.ts';
import { OidcProvider } from '../../src/providers/oidc.ts';
import type { ProviderTokens } from '../../src/providers/types.ts';
import { providerConfig } from './support/config.ts';
import { loginAtProvider } from './support/op-login.ts';
import { rejectionOf } from './support/secrets.ts';

/**
 * The generic OIDC provider against a real OpenID Provider (the `oidc-provider` package behind
 * demo/op.ts): discovery, login with PKCE and nonce, ID token verification, refresh-token
 * rotation and reuse, RFC 7009 revocation, RP-initiated logout and back-channel logout tokens.
 */

const REDIRECT_URI = 'http://127.0.0.1:1/auth/callback';
const BASIC = { clientId: 'tg-basic', clientSecret: 'basic-secret-value-0123456789' };
const POST = { clientId: 'tg-post', clientSecret: 'post-secret-value-0123456789' };

let op: OpenIdProviderHandle;
let backchannel: Server;
const logoutTokens: string[] = [];

beforeAll(async () => {
  backchannel = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const token = new URLSearchParams(Buffer.concat(chunks).toString('utf8')).get('logout_token');
      if (token) logoutTokens.push(token);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => backchannel.listen(0, '127.0.0.1', resolve));
  const backchannelUri = `http://127.0.0.1:${(backchannel.address() as AddressInfo).port}/auth/backchannel-logout`;
  op = await startOpenIdProvider({
    clients: [
      { ...BASIC, redirectUris: [REDIRECT_URI], postLogoutRedirectUris: ['http://127.0.0.1:1/'], backchannelLogoutUri: backchannelUri },
      { ...POST, redirectUris: [REDIRECT_URI], tokenEndpointAuthMethod: 'client_secret_post', idTokenSignedResponseAlg: 'ES256' },
    ],
  });
});

afterAll(async () => {
  await op?.close();
  await new Promise<void>((resolve) => backchannel.close(() => resolve()));
});

function provider(client: { clientId: string; clientSecret: string }, extra: Record<string, unknown> = {}): OidcProvider {
  return new OidcProvider(providerConfig({ type: 'oidc', id: 'op', issuer: op.issuer, ...client, timeout: '5s', ...extra }), { retryDelayMs: 5 });
}

interface Login {
  tokens: ProviderTokens;
  nonce: string;
  callback: URL;
}

async function login(corp: OidcProvider): Promise<Login> {
  await corp.init();
  const verifier = randomBytes(32).toString('base64url');
  const nonce = randomBytes(16).toString('base64url');
  const state = randomBytes(16).toString('base64url');
  // OIDC Core 11: the provider honours offline_access (a refresh token) only with prompt=consent.
  const url = await corp.authorizationUrl({ state, nonce, codeChallenge: createHash('sha256').update(verifier).digest('base64url'), redirectUri: REDIRECT_URI, forceConsent: true });
  // The provider takes pushed authorization requests (RFC 9126): the parameters were pushed.
  expect([...url.searchParams.keys()].sort()).toEqual(['client_id', 'request_uri']);
  const callback = await loginAtProvider(url, REDIRECT_URI);
  expect(callback.searchParams.get('state')).toBe(state);
  const code = callback.searchParams.get('code');
  if (!code) throw new Error(`no code in the callback: ${callback.searchParams.get('error') ?? 'unknown'}`);
  return { tokens: await corp.exchangeCode(code, verifier, REDIRECT_URI), nonce, callback };
}

describe('login against a real OpenID Provider', () => {
  it('discovers, logs in with PKCE, and verifies the ID token into a profile', async () => {
    const corp = provider(BASIC);
    const { tokens, nonce, callback } = await login(corp);
    expect(callback.searchParams.get('iss')).toBe(corp.issuer);
    expect(tokens.refreshToken).toBeDefined();
    expect(tokens.expiresIn).toBeGreaterThan(0);
    const profile = await corp.identify(tokens, nonce);
    expect(profile).toMatchObject({ sub: 'demo-user', name: 'Demo User', email: 'demo@example.test' });
    expect(profile.providerSid).toEqual(expect.any(String));
  });

  it('rejects the real ID token with another nonce', async () => {
    const corp = provider(BASIC);
    const { tokens } = await login(corp);
    await expect(corp.identify(tokens, 'another-nonce')).rejects.toBeInstanceOf(BadRequestError);
  });

  it('authenticates with client_secret_post and verifies an ES256 ID token', async () => {
    const corp = provider(POST, { tokenEndpointAuthMethod: 'client_secret_post' });
    const { tokens, nonce } = await login(corp);
    await expect(corp.identify(tokens, nonce)).resolves.toMatchObject({ sub: 'demo-user' });
  });

  it('a code is single-use: the second exchange is invalid_grant', async () => {
    const corp = provider(BASIC);
    await corp.init();
    const verifier = randomBytes(32).toString('base64url');
    const url = await corp.authorizationUrl({ state: 's', nonce: 'n', codeChallenge: createHash('sha256').update(verifier).digest('base64url'), redirectUri: REDIRECT_URI });
    const code = (await loginAtProvider(url, REDIRECT_URI)).searchParams.get('code') ?? '';
    await corp.exchangeCode(code, verifier, REDIRECT_URI);
    const err = (await rejectionOf(corp.exchangeCode(code, verifier, REDIRECT_URI))) as ProviderError;
    expect(err).toMatchObject({ oauthError: 'invalid_grant', grantRevoked: true, transient: false });
    expect(err.message).not.toContain(code);
  });
});

describe('refresh against a real OpenID Provider', () => {
  it('rotates the refresh token, and reusing the old one revokes the grant', async () => {
    const corp = provider(BASIC);
    const { tokens } = await login(corp);
    const refreshed = await corp.refresh(tokens.refreshToken ?? '');
    expect(refreshed.accessToken).not.toBe(tokens.accessToken);
    expect(refreshed.refreshToken).toBeDefined();
    expect(refreshed.refreshToken).not.toBe(tokens.refreshToken);
    const reuse = (await rejectionOf(corp.refresh(tokens.refreshToken ?? ''))) as ProviderError;
    expect(reuse).toMatchObject({ oauthError: 'invalid_grant', grantRevoked: true });
    const after = (await rejectionOf(corp.refresh(refreshed.refreshToken ?? ''))) as ProviderError;
    expect(after.grantRevoked).toBe(true);
  });

  it('reports injected 503s as transient with Retry-After', async () => {
    const corp = provider(BASIC);
    const { tokens } = await login(corp);
    op.failTokenRequests(1, 503);
    const err = (await rejectionOf(corp.refresh(tokens.refreshToken ?? ''))) as ProviderError;
    expect(err).toMatchObject({ transient: true, httpStatus: 503, retryAfter: 1, oauthError: 'temporarily_unavailable', grantRevoked: false });
    await expect(corp.refresh(tokens.refreshToken ?? '')).resolves.toMatchObject({ tokenType: 'Bearer' });
  });
});

describe('logout against a real OpenID Provider', () => {
  it('revokes refresh and access tokens (RFC 7009)', async () => {
    const corp = provider(BASIC);
    const { tokens } = await login(corp);
    expect((await op.introspect(tokens.accessToken)).active).toBe(true);
    await expect(corp.revoke({ accessToken: tokens.accessToken, refreshToken: tokens.refreshToken ?? '' })).resolves.toMatchObject({ outcome: 'revoked' });
    expect((await op.introspect(tokens.accessToken)).active).toBe(false);
    expect(((await rejectionOf(corp.refresh(tokens.refreshToken ?? ''))) as ProviderError).grantRevoked).toBe(true);
  });

  it('builds the RP-initiated logout URL at the discovered end_session_endpoint', async () => {
    const corp = provider(BASIC);
    await corp.init();
    const url = corp.endSessionUrl('http://127.0.0.1:1/');
    expect(url?.href.startsWith(`${op.issuer}/`)).toBe(true);
    const page = await fetch(url ?? '', { redirect: 'manual', signal: AbortSignal.timeout(5_000) });
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<form/);
  });

  it('verifies the back-channel logout token the provider sends', async () => {
    const corp = provider(BASIC);
    const { tokens, nonce } = await login(corp);
    const profile = await corp.identify(tokens, nonce);
    logoutTokens.length = 0;
    await op.sendBackchannelLogout({ sub: profile.sub, sid: profile.providerSid ?? '', clientId: BASIC.clientId });
    expect(logoutTokens).toHaveLength(1);
    const claims = await corp.verifyLogoutToken(logoutTokens[0] ?? '');
    expect(claims).toMatchObject({ sub: 'demo-user', sid: profile.providerSid, jti: expect.any(String) });
    await expect(corp.verifyLogoutToken(tokens.idToken ?? '')).rejects.toBeInstanceOf(BadRequestError);
    await expect(provider(POST).verifyLogoutToken(logoutTokens[0] ?? '')).rejects.toBeInstanceOf(BadRequestError);
  });
});
