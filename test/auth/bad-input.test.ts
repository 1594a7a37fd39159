import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mockServer, type MockProviders } from '../providers/support/msw.ts';
import { BrowserClient, type BrowserResponse } from '../support/http.ts';
import { rawCommand, skipRedisSuite, startRedisServer, type RedisServer } from '../support/redis-server.ts';
import { startGatewayFixture, type GatewayFixture } from './helpers/gateway-fixture.ts';
import { githubHandlers, githubScript } from './helpers/github.ts';

/**
 * Bad input at the login and callback routes: each answer is a 4xx with a code, nothing is
 * left in the store (checked on a real Redis with DBSIZE), and the answer echoes none of the
 * input. GitHub is played by msw; its token endpoint is scripted to answer HTML, broken JSON,
 * 500, or GitHub's HTTP 200 error for a code used twice.
 */

const script = githubScript();
const skip = skipRedisSuite('bad input at the auth routes', 'redis-server');
let redis: RedisServer;
let mock: MockProviders;
let f: GatewayFixture;

async function keysInRedis(): Promise<number> {
  return Number((await rawCommand(redis.port, ['DBSIZE'])).slice(1).trim());
}

function expectRefused(response: BrowserResponse, status = 400, code = 'BAD_REQUEST'): void {
  expect(response.status).toBe(status);
  expect(response.json()).toMatchObject({ code, error: expect.any(String) });
  expect(response.location).toBeUndefined();
}

async function start(client: BrowserClient): Promise<string> {
  const authorize = await f.beginLogin(client, 'gh', '/after');
  return authorize.searchParams.get('state')!;
}

describe.skipIf(skip)('bad input gets a 4xx with a code, stores nothing and leaks nothing', () => {
  beforeAll(async () => {
    redis = await startRedisServer();
    mock = mockServer(...githubHandlers(script));
    f = await startGatewayFixture({
      store: { type: 'redis', redis: { url: redis.url } },
      providers: [{ id: 'gh', type: 'github', clientId: 'gh-client', clientSecret: 'gh-secret-0123456789' }],
    });
  });

  beforeEach(async () => {
    await rawCommand(redis.port, ['FLUSHALL']);
  });

  afterEach(() => {
    expect(mock.unhandled).toEqual([]);
  });

  afterAll(async () => {
    await f?.close();
    mock?.close();
    await redis?.stop();
  });

  describe('at /auth/login', () => {
    it('refuses an unknown provider', async () => {
      const response = await new BrowserClient().request(`${f.origin}/auth/login?provider=nope`);
      expectRefused(response);
      expect(response.text).not.toContain('nope');
      expect(response.setCookies).toEqual([]);
      expect(await keysInRedis()).toBe(0);
    });

    it.each(['//evil.example', 'https://evil.example', '/\\evil.example', 'javascript:alert(1)', '%2F%2Fevil.example'])('refuses returnTo %j', async (returnTo) => {
      const response = await new BrowserClient().request(`${f.origin}/auth/login?provider=gh&returnTo=${encodeURIComponent(returnTo)}`);
      expectRefused(response);
      expect(response.text).not.toContain('evil');
      expect(response.setCookies).toEqual([]);
      expect(await keysInRedis()).toBe(0);
    });

    it('refuses the raw (once-decoded) form %2F%2Fevil.example as well', async () => {
      const response = await new BrowserClient().request(`${f.origin}/auth/login?provider=gh&returnTo=%2F%2Fevil.example`);
      expectRefused(response);
      expect(await keysInRedis()).toBe(0);
    });

    it('refuses oversized and repeated parameters', async () => {
      const client = new BrowserClient();
      expectRefused(await client.request(`${f.origin}/auth/login?provider=gh&returnTo=/${'a'.repeat(5000)}`));
      expectRefused(await client.request(`${f.origin}/auth/login?provider=${'g'.repeat(200)}`));
      expectRefused(await client.request(`${f.origin}/auth/login?provider=gh&provider=gh`));
      expect(await keysInRedis()).toBe(0);
    });
  });

  describe('at /auth/callback', () => {
    it('refuses an unknown provider', async () => {
      const client = new BrowserClient();
      const state = await start(client);
      expectRefused(await client.request(`${f.origin}/auth/callback/nope?code=c&state=${state}`));
    });

    it('refuses a missing state, and the login cannot be finished afterwards', async () => {
      const client = new BrowserClient();
      const state = await start(client);
      expectRefused(await client.request(`${f.origin}/auth/callback/gh?code=missing-state`));
      expectRefused(await client.request(`${f.origin}/auth/callback/gh?code=missing-state&state=${state}`));
      expect(await f.sidOf(client)).toBeUndefined();
      expect(await keysInRedis()).toBe(0);
    });

    it('refuses a repeated state', async () => {
      const client = new BrowserClient();
      const state = await start(client);
      expectRefused(await client.request(`${f.origin}/auth/callback/gh?code=dup&state=${state}&state=${state}`));
      expect(await keysInRedis()).toBe(0);
    });

    it('refuses a forged state and logs a state_mismatch security event', async () => {
      const client = new BrowserClient();
      await start(client);
      const before = f.watch.logLines.length;
      const response = await client.request(`${f.origin}/auth/callback/gh?code=forged&state=forged-state-value`);
      expectRefused(response);
      expect(response.text).not.toContain('forged-state-value');
      expect(f.watch.logLines.slice(before).some((line) => line.includes('state_mismatch'))).toBe(true);
      expect(await keysInRedis()).toBe(0);
    });

    it('refuses a callback without a login cookie, and one with a tampered login cookie', async () => {
      const stranger = new BrowserClient();
      const state = await start(new BrowserClient());
      expectRefused(await stranger.request(`${f.origin}/auth/callback/gh?code=c&state=${state}`));

      const client = new BrowserClient();
      const ownState = await start(client);
      const cookies = await client.jar.getCookies(f.origin);
      const loginCookie = cookies.find((cookie) => cookie.key === 'tg_session_login')!;
      const signature = cookies.find((cookie) => cookie.key === 'tg_session_login.sig')!;
      const before = f.watch.logLines.length;
      const tampered = await new BrowserClient().request(`${f.origin}/auth/callback/gh?code=c&state=${ownState}`, {
        headers: { cookie: `tg_session_login=${loginCookie.value.slice(0, -2)}xx; tg_session_login.sig=${signature.value}` },
      });
      expectRefused(tampered);
      expect(f.watch.logLines.slice(before).some((line) => line.includes('tampered_cookie'))).toBe(true);
    });

    it('answers the provider\'s error parameter clearly, storing nothing', async () => {
      const client = new BrowserClient();
      const state = await start(client);
      const response = await client.request(`${f.origin}/auth/callback/gh?error=access_denied&error_description=The+user+said+no&state=${state}`);
      expectRefused(response);
      expect(response.json<{ error: string }>().error).toContain('access_denied');
      expect(response.text).not.toContain('said no');
      expect(await keysInRedis()).toBe(0);
    });

    it('does not echo an unknown error parameter', async () => {
      const client = new BrowserClient();
      const state = await start(client);
      const response = await client.request(`${f.origin}/auth/callback/gh?error=%3Cscript%3Ealert(1)%3C%2Fscript%3E&state=${state}`);
      expectRefused(response);
      expect(response.text).not.toContain('script');
    });

    it('refuses oversized parameters', async () => {
      const client = new BrowserClient();
      const state = await start(client);
      expectRefused(await client.request(`${f.origin}/auth/callback/gh?code=${'c'.repeat(5000)}&state=${state}`));
      expectRefused(await client.request(`${f.origin}/auth/callback/gh?code=c&state=${'s'.repeat(5000)}`));
      expect(await keysInRedis()).toBe(0);
    });

    it('refuses a callback replayed after a login, and a code used twice', async () => {
      const client = new BrowserClient();
      const state = await start(client);
      const loginCookies = await client.jar.getCookieString(f.origin);
      const url = `${f.origin}/auth/callback/gh?code=once&state=${state}`;
      expect((await client.request(url)).status).toBe(200);
      const sid = (await f.sidOf(client))!;
      await f.watch.collectSessionTokens(f.gateway.store, f.gateway.keyring, sid);

      expectRefused(await client.request(url));
      expectRefused(await new BrowserClient().request(url, { headers: { cookie: loginCookies } }));

      const again = new BrowserClient();
      const secondState = await start(again);
      const reused = await again.request(`${f.origin}/auth/callback/gh?code=once&state=${secondState}`);
      expectRefused(reused);
      expect(await f.sidOf(again)).toBeUndefined();
      expect(await f.gateway.store.listUserSessions('gh', '4242')).toEqual([sid]);
    });

    it.each([
      ['answers HTML', 'html'],
      ['answers invalid JSON', 'badjson'],
      ['answers 500', 'boom'],
    ])('refuses the login when the token endpoint %s, storing nothing and showing no detail', async (_what, code) => {
      const client = new BrowserClient();
      const state = await start(client);
      const response = await client.request(`${f.origin}/auth/callback/gh?code=${code}&state=${state}`);
      expectRefused(response);
      expect(response.text).not.toMatch(/github\.com|Unicorn|Server Error|gho_/);
      expect(await f.sidOf(client)).toBeUndefined();
      expect(await keysInRedis()).toBe(0);
    });
  });

  describe('the leak check', () => {
    it('finds no token in any response or log line', () => {
      for (const token of script.issued) f.watch.addSecret(token);
      expect(f.watch.secretCount).toBeGreaterThan(0);
      expect(f.watch.leaks()).toEqual([]);
    });
  });
});
