import { createHash } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { basicCredentials, formOf, mockServer, type MockProviders } from '../providers/support/msw.ts';
import { BrowserClient } from '../support/http.ts';
import { metaRefreshTarget } from '../support/login.ts';
import { startGatewayFixture, type GatewayFixture } from './helpers/gateway-fixture.ts';
import { GITHUB_USER_URL, OCTO, githubHandlers, githubScript } from './helpers/github.ts';

/**
 * A GitHub login end to end through the gateway, GitHub itself played by msw: no ID token (the
 * profile comes from /user), OAuth App tokens that never expire, GitHub App tokens with an
 * 8-hour lifetime and a refresh token, revocation of the grant with Basic auth, and the
 * background retries of a failed revocation.
 */

const script = githubScript();
const CLIENT = { clientId: 'Iv1.tokengate', clientSecret: 'github-client-secret-0123456789' };
const HOUR = 3_600_000;
let mock: MockProviders;
let f: GatewayFixture;

beforeAll(async () => {
  mock = mockServer(...githubHandlers(script));
  f = await startGatewayFixture({ providers: [{ id: 'github', type: 'github', ...CLIENT }], session: { absoluteTimeout: '12h' } });
});

afterEach(() => {
  script.log.clear();
  expect(mock.unhandled).toEqual([]);
});

afterAll(async () => {
  await f?.close();
  mock?.close();
});

async function loginAs(client: BrowserClient, code: string, returnTo = '/') {
  const authorize = await f.beginLogin(client, 'github', returnTo);
  const state = authorize.searchParams.get('state')!;
  const callback = await client.request(`${f.origin}/auth/callback/github?code=${code}&state=${state}`);
  return { authorize, callback };
}

describe('GitHub login (OAuth App)', () => {
  it('sends the browser to GitHub with state and an S256 PKCE challenge, no nonce and no response_type', async () => {
    const authorize = await f.beginLogin(new BrowserClient(), 'github', '/repos');
    expect(`${authorize.origin}${authorize.pathname}`).toBe('https://github.com/login/oauth/authorize');
    expect(authorize.searchParams.get('client_id')).toBe(CLIENT.clientId);
    expect(authorize.searchParams.get('redirect_uri')).toBe(`${f.origin}/auth/callback/github`);
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorize.searchParams.has('nonce')).toBe(false);
    expect(authorize.searchParams.has('response_type')).toBe(false);
  });

  it('exchanges the code with the PKCE verifier and Accept: application/json, takes the profile from /user and goes on to returnTo', async () => {
    const client = new BrowserClient();
    const { authorize, callback } = await loginAs(client, 'oauth-app-1', '/repos?sort=new');
    expect(callback.status).toBe(200);
    expect(metaRefreshTarget(callback)).toBe(`${f.origin}/repos?sort=new`);

    const exchange = script.log.requests.find((request) => request.url.hostname === 'github.com')!;
    expect(exchange.headers.get('accept')).toBe('application/json');
    const form = formOf(exchange);
    expect(form['client_id']).toBe(CLIENT.clientId);
    expect(form['redirect_uri']).toBe(`${f.origin}/auth/callback/github`);
    expect(createHash('sha256').update(form['code_verifier']!).digest('base64url')).toBe(authorize.searchParams.get('code_challenge'));
    const profileCall = script.log.requests.find((request) => request.url.href === GITHUB_USER_URL)!;
    expect(profileCall.headers.get('authorization')).toBe(`Bearer ${script.issued.at(-1)}`);

    const session = await client.request(`${f.origin}/auth/session`);
    expect(session.json()).toMatchObject({
      authenticated: true,
      user: { sub: String(OCTO.id), name: OCTO.name, email: OCTO.email, picture: OCTO.avatar_url, provider: 'github' },
    });
  });

  it('keeps an OAuth App token as never expiring, with no refresh token, for the configured absolute lifetime', async () => {
    const client = new BrowserClient();
    const before = Date.now();
    await loginAs(client, 'oauth-app-2');
    const sid = (await f.sidOf(client))!;
    const tokens = await f.watch.collectSessionTokens(f.gateway.store, f.gateway.keyring, sid);
    expect(tokens?.refreshToken).toBeUndefined();
    expect((await f.gateway.store.getTokens(sid))?.expiresAt).toBeUndefined();
    const session = (await f.gateway.store.getSession(sid))!;
    expect(session.absoluteExpiresAt).toBeGreaterThanOrEqual(before + 12 * HOUR);
    expect(session.absoluteExpiresAt).toBeLessThanOrEqual(Date.now() + 12 * HOUR);
  });

  it('logs out by deleting the grant with Basic client credentials, and answers no end-session URL', async () => {
    const client = new BrowserClient();
    await loginAs(client, 'oauth-app-3');
    const sid = (await f.sidOf(client))!;
    const tokens = (await f.watch.collectSessionTokens(f.gateway.store, f.gateway.keyring, sid))!;
    const logout = await client.request(`${f.origin}/auth/logout`, { method: 'POST', headers: { 'x-csrf': '1' } });
    expect(logout.status).toBe(200);
    expect(logout.json()).toEqual({ loggedOut: true });
    await f.gateway.revoker.idle();
    const revocation = script.log.requests.find((request) => request.method === 'DELETE')!;
    expect(revocation.url.pathname).toBe(`/applications/${CLIENT.clientId}/grant`);
    expect(basicCredentials(revocation)).toEqual([CLIENT.clientId, CLIENT.clientSecret]);
    expect(JSON.parse(revocation.body)).toEqual({ access_token: tokens.accessToken });
    expect(await f.gateway.store.getSession(sid)).toBeNull();
  });
});

describe('GitHub login (GitHub App user tokens)', () => {
  it('keeps the 8-hour expiry and the refresh token, and ends the session no later than the refresh token', async () => {
    script.mode = 'github-app';
    script.refreshTokenExpiresIn = 3600;
    try {
      const client = new BrowserClient();
      const before = Date.now();
      await loginAs(client, 'github-app-1');
      const sid = (await f.sidOf(client))!;
      const tokens = await f.watch.collectSessionTokens(f.gateway.store, f.gateway.keyring, sid);
      expect(tokens?.refreshToken).toMatch(/^ghr_/);
      const stored = (await f.gateway.store.getTokens(sid))!;
      expect(stored.expiresAt! - before).toBeGreaterThanOrEqual(8 * HOUR - 1000);
      expect(stored.expiresAt! - Date.now()).toBeLessThanOrEqual(8 * HOUR);
      const session = (await f.gateway.store.getSession(sid))!;
      expect(session.absoluteExpiresAt - before).toBeGreaterThanOrEqual(HOUR - 1000);
      expect(session.absoluteExpiresAt - Date.now()).toBeLessThanOrEqual(HOUR);
    } finally {
      script.mode = 'oauth-app';
    }
  });
});

describe('revocation failures at logout', () => {
  it('never block the logout, are logged as security events and retried until the provider accepts', async () => {
    const client = new BrowserClient();
    await loginAs(client, 'retry-1');
    await f.watch.collectSessionTokens(f.gateway.store, f.gateway.keyring, (await f.sidOf(client))!);
    script.grantAnswers.push(500, 502);
    const linesBefore = f.watch.logLines.length;
    const logout = await client.request(`${f.origin}/auth/logout`, { method: 'POST', headers: { 'x-csrf': '1' } });
    expect(logout.status).toBe(200);
    expect((await client.request(`${f.origin}/auth/session`)).status).toBe(401);
    await f.gateway.revoker.idle();
    expect(script.log.requests.filter((request) => request.method === 'DELETE').length).toBeGreaterThanOrEqual(3);
    const events = f.watch.logLines.slice(linesBefore).filter((line) => line.includes('revocation_failed'));
    expect(events.length).toBeGreaterThanOrEqual(2);
    expect(f.watch.logLines.slice(linesBefore).some((line) => line.includes('revocation_abandoned'))).toBe(false);
  });

  it('give up after a bounded number of attempts, the user staying logged out', async () => {
    const client = new BrowserClient();
    await loginAs(client, 'retry-2');
    const sid = (await f.sidOf(client))!;
    await f.watch.collectSessionTokens(f.gateway.store, f.gateway.keyring, sid);
    script.grantAnswers.push(500, 500, 500, 500, 500, 500, 500, 500);
    const linesBefore = f.watch.logLines.length;
    expect((await client.request(`${f.origin}/auth/logout`, { method: 'POST', headers: { 'x-csrf': '1' } })).status).toBe(200);
    await f.gateway.revoker.idle();
    expect(f.watch.logLines.slice(linesBefore).some((line) => line.includes('revocation_abandoned'))).toBe(true);
    expect(await f.gateway.store.getSession(sid)).toBeNull();
    script.grantAnswers.length = 0;
  });
});

describe('the leak check', () => {
  it('finds no GitHub token in any response or log line', () => {
    for (const token of script.issued) f.watch.addSecret(token);
    expect(f.watch.secretCount).toBeGreaterThanOrEqual(6);
    expect(f.watch.leaks()).toEqual([]);
  });
});
