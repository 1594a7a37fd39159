import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { http, HttpResponse } from 'msw';
import { formOf, mockServer, type MockProviders } from '../providers/support/msw.ts';
import { startGatewayStack, type GatewayStack } from '../support/gateway.ts';
import type { LoginResult } from '../support/login.ts';
import { metaRefreshTarget } from '../support/login.ts';
import { startRouteTokenUpstream, type RouteTokenUpstream } from '../proxy/route-token-upstream.ts';
import { dumpRedis } from '../proxy/redis-dump.ts';
import { sidOf } from '../proxy/session-tokens.ts';
import { skipRedisSuite } from '../support/redis-server.ts';
import { manualClock } from '../tokens/fixture.ts';
import { GITHUB_GRANT_URL, GITHUB_TOKEN_URL, OCTO, githubHandlers, githubScript } from './helpers/github.ts';

/**
 * A second provider linked to a session: logged in with OIDC (the real oidc-provider), the user
 * links GitHub (msw) at /auth/link; a route with `provider: github` then sends the GitHub token,
 * renewed with GitHub's own refresh token, and logout revokes it at GitHub. Without a link such
 * a route answers 403 PROVIDER_NOT_LINKED, or sends a page navigation to link.
 */

const script = githubScript();
const CLIENT = { clientId: 'Iv1.linked', clientSecret: 'github-client-secret-0123456789' };
const HOUR = 3_600_000;
const skip = skipRedisSuite('linked provider', 'redis-server');
let mock: MockProviders;
let stack: GatewayStack;
let upstream: RouteTokenUpstream;
const clock = manualClock();
const refreshes: string[] = [];
/** GitHub answers every refresh grant with bad_refresh_token (the user revoked the app there). */
let grantEnded = false;

describe.skipIf(skip)('a provider linked to the session', () => {
  beforeAll(async () => {
    // GitHub App refresh grants (the shared handlers script code grants only).
    const refreshGrant = http.post(GITHUB_TOKEN_URL, async ({ request }) => {
      const form = formOf(await script.log.record(request.clone()));
      if (form['grant_type'] !== 'refresh_token') return undefined;
      refreshes.push(form['refresh_token'] ?? '');
      if (grantEnded) return HttpResponse.json({ error: 'bad_refresh_token', error_description: 'The refresh token passed is incorrect or expired.' });
      const access = `ghu_renewed${refreshes.length}`;
      script.issued.push(access);
      return HttpResponse.json({ access_token: access, expires_in: 28_800, refresh_token: `ghr_renewed${refreshes.length}`, refresh_token_expires_in: 15_811_200, token_type: 'bearer', scope: '' });
    });
    mock = mockServer(refreshGrant, ...githubHandlers(script));
    upstream = await startRouteTokenUpstream();
    stack = await startGatewayStack({
      store: 'redis',
      now: clock.now,
      extraProviders: [{ id: 'github', type: 'github', ...CLIENT }],
      routes: ({ api }) => [
        { prefix: '/api', upstream: api },
        { prefix: '/gh', upstream: upstream.url, provider: 'github' },
        { prefix: '/gh-pages', upstream: upstream.url, provider: 'github', onUnauthenticated: 'login', page: true },
        { prefix: '/gh-optional', upstream: upstream.url, provider: 'github', auth: 'optional' },
      ],
    });
  });

  afterEach(() => {
    expect(mock.unhandled).toEqual([]);
  });

  afterAll(async () => {
    await stack?.close();
    await upstream?.close();
    mock?.close();
  });

  beforeEach(() => {
    clock.set(Date.now());
    script.log.clear();
    upstream.seen.length = 0;
    stack.op.resetStats();
  });

  async function link(browser: LoginResult, code: string, returnTo = '/gh/repos'): Promise<void> {
    const start = await browser.request(`${stack.url}/auth/link?provider=github&returnTo=${encodeURIComponent(returnTo)}`);
    expect(start.status).toBe(302);
    const authorize = new URL(start.location!);
    expect(`${authorize.origin}${authorize.pathname}`).toBe('https://github.com/login/oauth/authorize');
    const callback = await browser.request(`${stack.url}/auth/callback/github?code=${code}&state=${authorize.searchParams.get('state')}`);
    expect(callback.status).toBe(200);
    expect(metaRefreshTarget(callback)).toBe(`${stack.url}${returnTo}`);
  }

  it('without a link a github route answers 403 PROVIDER_NOT_LINKED; a page navigation goes to link; an optional route goes anonymous', async () => {
    const browser = await stack.login();
    const api = await browser.request(`${stack.url}/gh/repos`);
    expect(api.status).toBe(403);
    expect(api.json()).toMatchObject({ code: 'PROVIDER_NOT_LINKED' });
    const page = await browser.request(`${stack.url}/gh-pages/octo?tab=repos`, { headers: { 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' }, csrf: false });
    expect(page.status).toBe(302);
    expect(page.location).toBe(`${stack.url}/auth/link?provider=github&returnTo=${encodeURIComponent('/gh-pages/octo?tab=repos')}`);
    expect((await browser.request(`${stack.url}/gh-optional/x`)).status).toBe(200);
    expect(upstream.seen.map((seen) => seen.token)).toEqual(['']);
  });

  it('/auth/link keeps the session and stores the GitHub token in it; the github route sends it, the others the login’s', async () => {
    const browser = await stack.login();
    const sid = await sidOf(browser, stack);
    await link(browser, 'linked-1');
    expect(await sidOf(browser, stack)).toBe(sid);
    expect((await browser.request(`${stack.url}/auth/session`)).json()).toMatchObject({ user: { provider: 'op' } });
    expect((await browser.request(`${stack.url}/gh/repos`)).status).toBe(200);
    expect((await browser.request(`${stack.url}/api/me`)).status).toBe(200);
    const github = script.issued.at(-1)!;
    expect(upstream.seen.map((seen) => seen.token)).toEqual([github]);
    // Sealed in Redis, never in plaintext.
    const values = [...(await dumpRedis(stack.redis!.url)).values()].flat().join('\n');
    expect(values).toContain('linked:github');
    expect(values.includes(github)).toBe(false);
    expect(stack.logLines.some((line) => line.includes(github))).toBe(false);
  });

  it('/auth/link needs a live session and another provider', async () => {
    const browser = await stack.login();
    expect((await browser.request(`${stack.url}/auth/link?provider=op`)).status).toBe(400);
    const anonymous = await fetch(`${stack.url}/auth/link?provider=github`, { redirect: 'manual' });
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as { code: string }).code).toBe('NO_SESSION');
  });

  it('a GitHub App token is renewed with GitHub’s own refresh token, and the OIDC grant is not touched', async () => {
    script.mode = 'github-app';
    try {
      const browser = await stack.login();
      await link(browser, 'linked-app-1');
      expect((await browser.request(`${stack.url}/gh/one`)).status).toBe(200);
      clock.advance(8 * HOUR);
      expect((await browser.request(`${stack.url}/gh/two`)).status).toBe(200);
      expect(refreshes).toHaveLength(1);
      expect(refreshes[0]).toMatch(/^ghr_/);
      const [first, second] = upstream.seen.map((seen) => seen.token);
      expect(first).toMatch(/^ghu_/);
      expect(second).toBe('ghu_renewed1');
      expect(stack.op.stats.refreshGrants).toBe(0);
    } finally {
      script.mode = 'oauth-app';
    }
  });

  it('a linked grant that ended at GitHub drops the link (403 PROVIDER_NOT_LINKED) at once, not the session, its lock or its login token', async () => {
    script.mode = 'github-app';
    try {
      const browser = await stack.login();
      await link(browser, 'ended-1');
      const sid = await sidOf(browser, stack);
      clock.advance(8 * HOUR);
      grantEnded = true;
      const answer = await browser.request(`${stack.url}/gh/after`);
      expect(answer.status).toBe(403);
      expect(answer.json()).toMatchObject({ code: 'PROVIDER_NOT_LINKED' });
      // The session's refresh lock is free at once: an ended link is no failing provider to back off from.
      const { store } = stack.instances[0]!.gateway;
      expect(await store.acquireLock(sid, 'probe', 1_000)).toBe(true);
      await store.releaseLock(sid, 'probe');
      const stored = await stack.instances[0]!.gateway.store.getTokens(sid);
      expect(stored?.resources?.['linked:github']).toBeUndefined();
      expect(await stack.instances[0]!.gateway.store.getSession(sid)).not.toBeNull();
      expect((await browser.request(`${stack.url}/api/me`)).status).toBe(200);
      expect(upstream.seen.some((seen) => seen.path === '/gh/after')).toBe(false);
    } finally {
      grantEnded = false;
      script.mode = 'oauth-app';
    }
  });

  it('linking another GitHub account replaces the link and revokes the replaced account’s token at GitHub', async () => {
    const browser = await stack.login();
    await link(browser, 'relink-1');
    const first = script.issued.at(-1)!;
    script.accounts['relink-2'] = { ...OCTO, id: 4343, login: 'other' };
    await link(browser, 'relink-2');
    const second = script.issued.at(-1)!;
    for (let i = 0; i < 100 && !script.log.requests.some((request) => request.method === 'DELETE'); i++) await new Promise((resolve) => setTimeout(resolve, 50));
    const deletes = script.log.requests.filter((request) => request.method === 'DELETE');
    expect(deletes.map((request) => JSON.parse(request.body))).toEqual([{ access_token: first }]);
    expect((await browser.request(`${stack.url}/gh/repos`)).status).toBe(200);
    expect(upstream.seen.map((seen) => seen.token)).toEqual([second]);
  });

  it('a link whose session ended before the callback: 400, and the GitHub token it got is revoked at GitHub, not left behind', async () => {
    const browser = await stack.login();
    const start = await browser.request(`${stack.url}/auth/link?provider=github&returnTo=/gh/repos`);
    const state = new URL(start.location!).searchParams.get('state');
    expect((await browser.request(`${stack.url}/auth/logout`, { method: 'POST' })).status).toBe(200);
    const callback = await browser.request(`${stack.url}/auth/callback/github?code=orphan-1&state=${state}`);
    expect(callback.status).toBe(400);
    const github = script.issued.at(-1)!;
    for (let i = 0; i < 100 && !script.log.requests.some((request) => request.method === 'DELETE'); i++) await new Promise((resolve) => setTimeout(resolve, 50));
    const deletes = script.log.requests.filter((request) => request.method === 'DELETE');
    expect(deletes.map((request) => JSON.parse(request.body))).toEqual([{ access_token: github }]);
    expect(stack.logLines.some((line) => line.includes(github))).toBe(false);
  });

  it('linking the same GitHub account again forgets the replaced token without revoking the grant, which would end the new token too', async () => {
    const browser = await stack.login();
    await link(browser, 'same-1');
    await link(browser, 'same-2');
    const second = script.issued.at(-1)!;
    expect((await browser.request(`${stack.url}/gh/repos`)).status).toBe(200);
    expect(upstream.seen.map((seen) => seen.token)).toEqual([second]);
    // The only revocation is logout's, with the token the session holds (it ends the whole grant).
    expect((await browser.request(`${stack.url}/auth/logout`, { method: 'POST' })).status).toBe(200);
    for (let i = 0; i < 100 && !script.log.requests.some((request) => request.method === 'DELETE'); i++) await new Promise((resolve) => setTimeout(resolve, 50));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const deletes = script.log.requests.filter((request) => request.method === 'DELETE');
    expect(deletes.map((request) => JSON.parse(request.body))).toEqual([{ access_token: second }]);
  });

  it('logout revokes the linked GitHub grant at GitHub besides the login’s tokens at the provider', async () => {
    const browser = await stack.login();
    await link(browser, 'linked-2');
    const github = script.issued.at(-1)!;
    expect((await browser.request(`${stack.url}/auth/logout`, { method: 'POST' })).status).toBe(200);
    const grantPath = new URL(GITHUB_GRANT_URL.replace(':clientId', CLIENT.clientId)).pathname;
    for (let i = 0; i < 100 && !script.log.requests.some((request) => request.method === 'DELETE'); i++) await new Promise((resolve) => setTimeout(resolve, 50));
    const deletes = script.log.requests.filter((request) => request.method === 'DELETE');
    expect(deletes).toHaveLength(1);
    expect(deletes[0]!.url.pathname).toBe(grantPath);
    expect(JSON.parse(deletes[0]!.body)).toEqual({ access_token: github });
    for (let i = 0; i < 100 && stack.op.stats.revocations < 2; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(stack.op.stats.revocations).toBe(2);
  });
});
