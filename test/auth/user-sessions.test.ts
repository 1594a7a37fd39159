import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_USER } from '../../demo/op.ts';
import type { EndedSession } from '../../src/auth/end-listed-session.ts';
import type { SessionList } from '../../src/auth/list-sessions.ts';
import { BrowserClient } from '../support/http.ts';
import { loginThroughGateway, type LoginResult } from '../support/login.ts';
import { rawCommand, skipRedisSuite } from '../support/redis-server.ts';
import { PROVIDER_ID, startOidcFixture, type OidcFixture } from './helpers/oidc-fixture.ts';

/**
 * The user's own sessions, on a running gateway in front of the real OpenID Provider, on the
 * memory store and on a real Redis: the same user logged in from two devices (two browsers with
 * their own cookies and User-Agents), another user from a third. GET /auth/sessions lists the
 * user's sessions by opaque handle with a device label; POST /auth/sessions/<handle>/logout ends
 * one of them, at the store and at the provider, and only the user's own.
 */

const FIREFOX_LINUX = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
const CHROME_ANDROID = 'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36';
const SAFARI_IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1';
const ADA = { sub: 'ada-user', username: 'ada', password: 'ada-password', name: 'Ada', email: 'ada@example.test' };
const HANDLE = /^[A-Za-z0-9_-]{22}$/;

const skipRedis = skipRedisSuite('user sessions on Redis', 'redis-server');

describe.each([
  { store: 'memory' as const, skip: false },
  { store: 'redis' as const, skip: skipRedis },
])('the user\'s own sessions ($store store)', ({ store, skip }) => {
  let f: OidcFixture;
  let laptop: LoginResult;
  let phone: LoginResult;
  let other: LoginResult;
  const sids: Record<'laptop' | 'phone' | 'other', string> = { laptop: '', phone: '', other: '' };
  const refreshTokens: Record<'laptop' | 'phone', string> = { laptop: '', phone: '' };

  async function logIn(credentials: { username: string; password: string }, userAgent: string): Promise<LoginResult> {
    const result = await loginThroughGateway(`${f.origin}/auth/login?provider=${PROVIDER_ID}`, credentials, { client: new BrowserClient({ userAgent }) });
    expect(result.status).toBe(404); // the fixture has no route at returnTo; the login itself completed
    return result;
  }

  async function list(browser: LoginResult): Promise<SessionList> {
    const response = await browser.request(`${f.origin}/auth/sessions`);
    expect(response.status).toBe(200);
    return response.json<SessionList>();
  }

  beforeAll(async () => {
    if (skip) return;
    f = await startOidcFixture({ store, opOptions: { users: [DEMO_USER, ADA] } });
    laptop = await logIn(DEMO_USER, FIREFOX_LINUX);
    phone = await logIn(DEMO_USER, CHROME_ANDROID);
    other = await logIn(ADA, SAFARI_IPHONE);
    for (const [name, browser] of [['laptop', laptop], ['phone', phone], ['other', other]] as const) sids[name] = (await f.sidOf(browser.client))!;
    for (const name of ['laptop', 'phone'] as const) {
      refreshTokens[name] = (await f.watch.collectSessionTokens(f.gateway.store, f.gateway.keyring, sids[name]))!.refreshToken!;
    }
    await f.watch.collectSessionTokens(f.gateway.store, f.gateway.keyring, sids.other);
  });

  afterAll(async () => {
    await f?.close();
  });

  it.skipIf(skip)('logins keep a device label in the session record, never the User-Agent itself', async () => {
    expect(new Set(Object.values(sids)).size).toBe(3);
    expect((await f.gateway.store.getSession(sids.laptop))?.device).toBe('Firefox on Linux');
    expect((await f.gateway.store.getSession(sids.phone))?.device).toBe('Chrome on Android');
    expect((await f.gateway.store.getSession(sids.other))?.device).toBe('Safari on iPhone');
    expect(JSON.stringify(await f.gateway.store.getSession(sids.laptop))).not.toContain('Gecko');
  });

  it.skipIf(skip)('lists both sessions of the user, the current one marked and first, with device, provider, created and last used', async () => {
    const beforePhone = Date.now();
    expect((await phone.request(`${f.origin}/auth/session`)).status).toBe(200);
    const afterPhone = Date.now();

    const response = await laptop.request(`${f.origin}/auth/sessions`);
    expect(response.status).toBe(200);
    expect(response.headers['cache-control']).toBe('no-store');
    const body = response.json<SessionList>();
    expect(body.truncated).toBe(false);
    expect(body.sessions).toHaveLength(2);
    const [current, phoneEntry] = body.sessions as [SessionList['sessions'][number], SessionList['sessions'][number]];
    expect(current).toMatchObject({ current: true, device: 'Firefox on Linux', provider: PROVIDER_ID });
    expect(phoneEntry).toMatchObject({ current: false, device: 'Chrome on Android', provider: PROVIDER_ID });
    for (const entry of body.sessions) {
      expect(Object.keys(entry).sort()).toEqual(['createdAt', 'current', 'device', 'handle', 'lastUsedAt', 'provider']);
      expect(entry.handle).toMatch(HANDLE);
      expect(Date.parse(entry.createdAt)).toBeLessThanOrEqual(Date.parse(entry.lastUsedAt));
    }
    // The phone's last use is its request above, read back from the store's TTL: to the ms on the
    // memory store; with Redis's near cache the TTL slides at most every idleTimeout/10, so the
    // last use shown may be that much earlier (never later).
    const slack = store === 'redis' ? f.gateway.config.session.idleTimeout / 10 : 0;
    expect(Date.parse(phoneEntry.lastUsedAt)).toBeGreaterThanOrEqual(beforePhone - slack - 5);
    expect(Date.parse(phoneEntry.lastUsedAt)).toBeLessThanOrEqual(afterPhone + 5);
    expect(Date.parse(current.lastUsedAt)).toBeGreaterThanOrEqual(afterPhone - slack);

    // The other user's session is not there, and no sid is anywhere in the answer.
    for (const sid of Object.values(sids)) expect(response.text).not.toContain(sid);
    expect((await other.request(`${f.origin}/auth/sessions`)).json<SessionList>().sessions).toMatchObject([{ current: true, device: 'Safari on iPhone' }]);
  });

  it.skipIf(skip)('handles are stable and the same from every session of the user', async () => {
    const fromLaptop = await list(laptop);
    const fromPhone = await list(phone);
    const handlesFromLaptop = fromLaptop.sessions.map((entry) => entry.handle).sort();
    expect(fromPhone.sessions.map((entry) => entry.handle).sort()).toEqual(handlesFromLaptop);
    expect((await list(laptop)).sessions.map((entry) => entry.handle).sort()).toEqual(handlesFromLaptop);
    expect(fromPhone.sessions[0]).toMatchObject({ current: true, device: 'Chrome on Android' });
  });

  it.skipIf(skip)('without a session the list is 401 JSON', async () => {
    const response = await new BrowserClient().request(`${f.origin}/auth/sessions`);
    expect(response.status).toBe(401);
    expect(response.json()).toMatchObject({ code: 'NO_SESSION' });
  });

  it.skipIf(skip)('ending a session needs the CSRF header', async () => {
    const phoneHandle = (await list(laptop)).sessions.find((entry) => !entry.current)!.handle;
    const response = await laptop.request(`${f.origin}/auth/sessions/${phoneHandle}/logout`, { method: 'POST', csrf: false });
    expect(response.status).toBe(403);
    expect(response.json()).toMatchObject({ code: 'CSRF_REJECTED' });
    expect(await f.gateway.store.getSession(sids.phone)).not.toBeNull();
  });

  it.skipIf(skip)('another user\'s handle, a malformed one and an unknown one answer the same 404', async () => {
    const phoneHandle = (await list(laptop)).sessions.find((entry) => !entry.current)!.handle;
    const answers = [];
    for (const handle of [phoneHandle, 'not-a-handle', 'A'.repeat(22), encodeURIComponent(sids.phone)]) {
      const response = await other.request(`${f.origin}/auth/sessions/${handle}/logout`, { method: 'POST' });
      answers.push([response.status, response.json<{ code: string }>().code]);
    }
    expect(answers).toEqual(Array(4).fill([404, 'NOT_FOUND']));
    // A sid is not a handle, even for its own user.
    expect((await laptop.request(`${f.origin}/auth/sessions/${sids.phone}/logout`, { method: 'POST' })).status).toBe(404);
    expect(await f.gateway.store.getSession(sids.phone)).not.toBeNull();
    expect((await phone.request(`${f.origin}/auth/session`)).status).toBe(200);
  });

  it.skipIf(skip || store !== 'redis')('a session whose token set cannot be read is listed and can still be ended', async () => {
    const now = Date.now();
    const stray = { sid: 'S'.repeat(43), provider: PROVIDER_ID, sub: DEMO_USER.sub, claims: {}, createdAt: now, absoluteExpiresAt: now + 600_000 };
    await f.gateway.store.createSession(stray, { accessToken: 'v1.t1.x.y', obtainedAt: now, tokenType: 'Bearer' }, 60_000);
    const redis = f.gateway.config.store.type === 'redis' ? f.gateway.config.store.redis : undefined;
    const port = Number(new URL(redis!.url!).port);
    expect(await rawCommand(port, ['SET', `${redis!.keyPrefix}tok:{${stray.sid}}`, 'not json', 'KEEPTTL'])).toContain('OK');

    const listed = (await list(laptop)).sessions;
    expect(listed).toHaveLength(3);
    const entry = listed.find((candidate) => candidate.device === 'Unknown device')!;
    expect(entry).toMatchObject({ current: false, provider: PROVIDER_ID });
    const response = await laptop.request(`${f.origin}/auth/sessions/${entry.handle}/logout`, { method: 'POST' });
    expect(response.status).toBe(200);
    expect(response.json<EndedSession>()).toEqual({ ended: true, current: false });
    expect(await f.gateway.store.getSession(stray.sid)).toBeNull();
    expect((await list(laptop)).sessions).toHaveLength(2);
  });

  it.skipIf(skip)('ends the other device\'s session: gone from the store, revoked at the provider; this one goes on', async () => {
    const phoneHandle = (await list(laptop)).sessions.find((entry) => !entry.current)!.handle;
    const response = await laptop.request(`${f.origin}/auth/sessions/${phoneHandle}/logout`, { method: 'POST' });
    expect(response.status).toBe(200);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.json<EndedSession>()).toEqual({ ended: true, current: false });
    expect(response.setCookies).toEqual([]);

    expect(await f.gateway.store.getSession(sids.phone)).toBeNull();
    expect(await f.gateway.store.getTokens(sids.phone)).toBeNull();
    expect(await f.gateway.store.listUserSessions(PROVIDER_ID, DEMO_USER.sub)).toEqual([sids.laptop]);
    const phoneAnswer = await phone.request(`${f.origin}/auth/session`);
    expect(phoneAnswer.status).toBe(401);
    expect(phoneAnswer.json()).toMatchObject({ code: 'SESSION_EXPIRED' });

    await f.gateway.revoker.idle();
    expect((await f.op.introspect(refreshTokens.phone)).active).toBe(false);
    // The laptop's grant is its own (another browser, another login at the provider).
    expect((await f.op.introspect(refreshTokens.laptop)).active).toBe(true);
    expect((await laptop.request(`${f.origin}/auth/session`)).status).toBe(200);
    expect((await list(laptop)).sessions).toMatchObject([{ current: true, device: 'Firefox on Linux' }]);

    // The same handle again: nothing left to end.
    expect((await laptop.request(`${f.origin}/auth/sessions/${phoneHandle}/logout`, { method: 'POST' })).status).toBe(404);
  });

  it.skipIf(skip)('ending the current session this way logs out: the cookie is cleared', async () => {
    const own = (await list(laptop)).sessions[0]!;
    const response = await laptop.request(`${f.origin}/auth/sessions/${own.handle}/logout`, { method: 'POST' });
    expect(response.status).toBe(200);
    expect(response.json<EndedSession>()).toEqual({ ended: true, current: true });
    expect(response.setCookies.some((header) => header.startsWith(`${f.gateway.config.session.cookieName}=;`))).toBe(true);
    expect(await f.sidOf(laptop.client)).toBeUndefined();
    expect(await f.gateway.store.getSession(sids.laptop)).toBeNull();
    expect((await laptop.request(`${f.origin}/auth/sessions`)).json()).toMatchObject({ code: 'NO_SESSION' });
    await f.gateway.revoker.idle();
    expect((await f.op.introspect(refreshTokens.laptop)).active).toBe(false);
    // The other user was never touched.
    expect((await other.request(`${f.origin}/auth/session`)).status).toBe(200);
  });

  it.skipIf(skip)('no token appears in a response or a log line', () => {
    expect(f.watch.secretCount).toBeGreaterThanOrEqual(6);
    expect(f.watch.leaks()).toEqual([]);
  });
});
