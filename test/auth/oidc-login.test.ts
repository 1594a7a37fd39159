import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrowserClient } from '../support/http.ts';
import { loginThroughGateway, metaRefreshTarget } from '../support/login.ts';
import { skipRedisSuite } from '../support/redis-server.ts';
import { waitFor } from '../support/wait.ts';
import { PROVIDER_ID, startOidcFixture, type OidcFixture } from './helpers/oidc-fixture.ts';

/**
 * Login, session and logout end to end: a real OpenID Provider (oidc-provider, with rotation,
 * introspection, revocation and back-channel logout), logged into through its own forms, with
 * the gateway's store on real Redis and on the memory store.
 */

const CSRF = { 'x-csrf': '1' };

const stores = [
  { kind: 'redis' as const, skip: skipRedisSuite('OIDC login on Redis', 'redis-server') },
  { kind: 'memory' as const, skip: false },
];

describe.each(stores)('login, session and logout against a real OpenID Provider ($kind store)', ({ kind, skip }) => {
  let f: OidcFixture;

  beforeAll(async () => {
    // The parameters in the front-channel URL (par: off); pushed ones: pushed-authorization.test.ts.
    if (!skip) f = await startOidcFixture({ store: kind, provider: { par: 'off' } });
  });

  afterAll(async () => {
    await f?.close();
  });

  it.skipIf(skip)('logs in through the provider\'s login and consent forms and lands on returnTo with a new session cookie', async () => {
    const login = await f.login('/dashboard?tab=1');
    expect(login.finalUrl).toBe(`${f.origin}/dashboard?tab=1`);
    const callback = login.chain.find((response) => response.url.startsWith(`${f.origin}/auth/callback/${PROVIDER_ID}`));
    // A page that moves on by itself, not a redirect (the Strict cookie must reach returnTo).
    expect(callback?.status).toBe(200);
    expect(callback?.location).toBeUndefined();
    expect(metaRefreshTarget(callback!)).toBe(`${f.origin}/dashboard?tab=1`);
    const sessionCookie = callback?.setCookies.find((line) => line.startsWith('tg_session='));
    expect(sessionCookie?.toLowerCase()).toContain('httponly');
    expect(sessionCookie?.toLowerCase()).toContain('samesite=strict');
    expect(sessionCookie?.toLowerCase()).toContain('path=/');
    expect(sessionCookie?.toLowerCase()).not.toContain('domain=');
    expect(callback?.setCookies.some((line) => /^tg_session_login=;/.test(line))).toBe(true);

    const sid = await f.sidOf(login.client);
    expect(sid).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const stored = await f.gateway.store.getTokens(sid!);
    expect(stored?.accessToken.startsWith('v1.')).toBe(true);
    expect(stored?.refreshToken?.startsWith('v1.')).toBe(true);
    const tokens = await f.watch.collectSessionTokens(f.gateway.store, f.gateway.keyring, sid!);
    expect(tokens?.refreshToken).toBeDefined();
    expect(JSON.stringify(stored)).not.toContain(tokens!.accessToken);
  });

  it.skipIf(skip)('the session endpoint shows the user and no token', async () => {
    const login = await f.login();
    const sid = (await f.sidOf(login.client))!;
    await f.watch.collectSessionTokens(f.gateway.store, f.gateway.keyring, sid);
    const response = await login.request(`${f.origin}/auth/session`);
    expect(response.status).toBe(200);
    expect(response.headers['cache-control']).toBe('no-store');
    const body = response.json<Record<string, unknown>>();
    expect(body).toEqual({
      authenticated: true,
      user: { sub: 'demo-user', name: 'Demo User', email: 'demo@example.test', provider: PROVIDER_ID },
      expiresAt: expect.any(String),
    });
  });

  it.skipIf(skip)('a session id seen before login is never the one that becomes authenticated', async () => {
    const client = new BrowserClient();
    const planted = 'A'.repeat(43);
    await client.jar.setCookie(`tg_session=${planted}; Path=/`, f.origin);
    await loginThroughGateway(`${f.origin}/auth/login?provider=${PROVIDER_ID}`, { username: 'demo', password: 'demo' }, { client });
    const sid = await f.sidOf(client);
    expect(sid).toBeDefined();
    expect(sid).not.toBe(planted);
    await f.watch.collectSessionTokens(f.gateway.store, f.gateway.keyring, sid!);
  });

  it.skipIf(skip)('logging in again in the same browser issues a new sid and ends the previous session', async () => {
    const first = await f.login();
    const firstSid = (await f.sidOf(first.client))!;
    await f.watch.collectSessionTokens(f.gateway.store, f.gateway.keyring, firstSid);
    await loginThroughGateway(`${f.origin}/auth/login?provider=${PROVIDER_ID}`, { username: 'demo', password: 'demo' }, { client: first.client });
    const secondSid = (await f.sidOf(first.client))!;
    await f.watch.collectSessionTokens(f.gateway.store, f.gateway.keyring, secondSid);
    expect(secondSid).not.toBe(firstSid);
    expect(await f.gateway.store.getSession(firstSid)).toBeNull();
    expect((await first.request(`${f.origin}/auth/session`)).status).toBe(200);
  });

  it.skipIf(skip)('logout needs the CSRF header and an allowed Origin', async () => {
    const login = await f.login();
    const sid = (await f.sidOf(login.client))!;
    await f.watch.collectSessionTokens(f.gateway.store, f.gateway.keyring, sid);
    const noHeader = await login.request(`${f.origin}/auth/logout`, { method: 'POST', csrf: false });
    expect(noHeader.status).toBe(403);
    expect(noHeader.json()).toMatchObject({ code: 'CSRF_REJECTED' });
    const wrongValue = await login.request(`${f.origin}/auth/logout`, { method: 'POST', headers: { 'x-csrf': '0' } });
    expect(wrongValue.status).toBe(403);
    const foreignOrigin = await login.request(`${f.origin}/auth/logout`, { method: 'POST', headers: { ...CSRF, origin: 'https://evil.example' } });
    expect(foreignOrigin.status).toBe(403);
    expect((await login.request(`${f.origin}/auth/session`)).status).toBe(200);
  });

  it.skipIf(skip)('logout ends the session, clears the cookie, answers the end-session URL and revokes the grant at the provider', async () => {
    const login = await f.login();
    const sid = (await f.sidOf(login.client))!;
    const tokens = (await f.watch.collectSessionTokens(f.gateway.store, f.gateway.keyring, sid))!;
    expect((await f.op.introspect(tokens.refreshToken!)).active).toBe(true);

    const response = await login.request(`${f.origin}/auth/logout`, { method: 'POST', headers: { ...CSRF, origin: f.origin } });
    expect(response.status).toBe(200);
    const body = response.json<{ loggedOut: boolean; endSessionUrl?: string }>();
    expect(body.loggedOut).toBe(true);
    const endSession = new URL(body.endSessionUrl!);
    expect(endSession.origin).toBe(f.op.issuer);
    expect(endSession.searchParams.get('client_id')).toBe('tokengate');
    expect(endSession.searchParams.has('id_token_hint')).toBe(false);
    expect(response.setCookies.some((line) => /^tg_session=;/.test(line))).toBe(true);

    expect(await f.gateway.store.getSession(sid)).toBeNull();
    expect(await f.gateway.store.listUserSessions(PROVIDER_ID, 'demo-user')).not.toContain(sid);
    expect((await login.request(`${f.origin}/auth/session`)).status).toBe(401);
    await waitFor('the provider to report the refresh token inactive', async () => !(await f.op.introspect(tokens.refreshToken!)).active);
    expect((await f.op.introspect(tokens.accessToken)).active).toBe(false);
  });

  it.skipIf(skip)('logout without a session still answers loggedOut and clears the cookie', async () => {
    const response = await new BrowserClient().request(`${f.origin}/auth/logout`, { method: 'POST', headers: CSRF });
    expect(response.status).toBe(200);
    expect(response.json()).toEqual({ loggedOut: true });
  });

  it.skipIf(skip)('two logins of the same user are independent: logging out of one leaves the other working', async () => {
    const first = await f.login();
    const second = await f.login();
    const firstSid = (await f.sidOf(first.client))!;
    const secondSid = (await f.sidOf(second.client))!;
    expect(firstSid).not.toBe(secondSid);
    await f.watch.collectSessionTokens(f.gateway.store, f.gateway.keyring, firstSid);
    const secondTokens = (await f.watch.collectSessionTokens(f.gateway.store, f.gateway.keyring, secondSid))!;

    expect((await first.request(`${f.origin}/auth/logout`, { method: 'POST', headers: CSRF })).status).toBe(200);
    await f.gateway.revoker.idle();
    expect((await first.request(`${f.origin}/auth/session`)).status).toBe(401);
    expect((await second.request(`${f.origin}/auth/session`)).status).toBe(200);
    expect((await f.op.introspect(secondTokens.refreshToken!)).active).toBe(true);
  });

  it.skipIf(skip)('logout-everywhere ends every session of the user', async () => {
    const first = await f.login();
    const second = await f.login();
    for (const login of [first, second]) await f.watch.collectSessionTokens(f.gateway.store, f.gateway.keyring, (await f.sidOf(login.client))!);
    const response = await first.request(`${f.origin}/auth/logout-everywhere`, { method: 'POST', headers: CSRF });
    expect(response.status).toBe(200);
    expect(response.json<{ sessionsEnded: number }>().sessionsEnded).toBeGreaterThanOrEqual(2);
    expect((await first.request(`${f.origin}/auth/session`)).status).toBe(401);
    expect((await second.request(`${f.origin}/auth/session`)).status).toBe(401);
    expect(await f.gateway.store.listUserSessions(PROVIDER_ID, 'demo-user')).toEqual([]);
  });

  it.skipIf(skip)('a back-channel logout sent by the provider ends the session, and its logout token cannot be replayed', async () => {
    const login = await f.login();
    const sid = (await f.sidOf(login.client))!;
    await f.watch.collectSessionTokens(f.gateway.store, f.gateway.keyring, sid);
    const session = await f.gateway.store.getSession(sid);
    expect(session?.providerSid).toBeDefined();

    await f.op.sendBackchannelLogout({ sub: 'demo-user', sid: session!.providerSid!, clientId: 'tokengate' });
    expect((await login.request(`${f.origin}/auth/session`)).status).toBe(401);
    expect(await f.gateway.store.getSession(sid)).toBeNull();

    const logoutToken = f.logoutTokens.at(-1)!;
    f.watch.addSecret(logoutToken);
    const replay = await new BrowserClient().request(`${f.origin}/auth/backchannel-logout/${PROVIDER_ID}`, { method: 'POST', body: new URLSearchParams({ logout_token: logoutToken }) });
    expect(replay.status).toBe(400);
    expect(replay.json()).toMatchObject({ code: 'BAD_REQUEST' });
  });

  it.skipIf(skip)('a back-channel logout that is not a valid logout token gets 400', async () => {
    const post = (body: URLSearchParams | string, headers: Record<string, string> = {}) =>
      new BrowserClient().request(`${f.origin}/auth/backchannel-logout/${PROVIDER_ID}`, { method: 'POST', body, headers });
    expect((await post(new URLSearchParams({ logout_token: 'not.a.jwt' }))).status).toBe(400);
    expect((await post(new URLSearchParams())).status).toBe(400);
    expect((await post(new URLSearchParams([['logout_token', 'a'], ['logout_token', 'b']]))).status).toBe(400);
    expect((await post(JSON.stringify({ logout_token: 'x' }), { 'content-type': 'application/json' })).status).toBe(400);
    const unknown = await new BrowserClient().request(`${f.origin}/auth/backchannel-logout/nope`, { method: 'POST', body: new URLSearchParams({ logout_token: 'x' }) });
    expect(unknown.status).toBe(400);
  });

  it.skipIf(skip)('an authorization response from another issuer (RFC 9207 iss) gets 400 and no session', async () => {
    const client = new BrowserClient();
    const start = await client.request(`${f.origin}/auth/login?provider=${PROVIDER_ID}`);
    const state = new URL(start.location!).searchParams.get('state')!;
    const callback = await client.request(`${f.origin}/auth/callback/${PROVIDER_ID}?code=abc&state=${state}&iss=${encodeURIComponent('https://evil.example')}`);
    expect(callback.status).toBe(400);
    expect(callback.json()).toMatchObject({ code: 'BAD_REQUEST' });
    expect(await f.sidOf(client)).toBeUndefined();
  });

  it.skipIf(skip)('the login redirect carries state, an S256 PKCE challenge and a nonce, and a SameSite=Lax login cookie', async () => {
    const start = await new BrowserClient().request(`${f.origin}/auth/login?provider=${PROVIDER_ID}&returnTo=/x`);
    expect(start.status).toBe(302);
    const url = new URL(start.location!);
    expect(url.origin).toBe(f.op.issuer);
    expect(url.searchParams.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.get('nonce')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.get('redirect_uri')).toBe(`${f.origin}/auth/callback/${PROVIDER_ID}`);
    const loginCookie = start.setCookies.find((line) => line.startsWith('tg_session_login='));
    expect(loginCookie?.toLowerCase()).toContain('samesite=lax');
    expect(loginCookie?.toLowerCase()).toContain('httponly');
    expect(loginCookie).not.toContain(url.searchParams.get('state')!);
  });

  it.skipIf(skip)('no token appears in any response the browser saw or any log line', async () => {
    await f.gateway.revoker.idle();
    expect(f.watch.secretCount).toBeGreaterThanOrEqual(10);
    expect(f.watch.responses.length).toBeGreaterThan(50);
    expect(f.watch.logLines.length).toBeGreaterThan(10);
    expect(f.watch.leaks()).toEqual([]);
  });
});
