import type { KoaContextWithOIDC } from 'oidc-provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionTag } from '../../src/observability/index.ts';
import { openTokenSet } from '../../src/tokens/index.ts';
import { manualClock } from '../tokens/fixture.ts';
import { startGatewayStack, type GatewayStack } from '../support/gateway.ts';
import { freshGet } from './support/cli-stack.ts';

/**
 * Issue "Operations", test 1: every log line of a whole session (login, proxied calls, a
 * proactive refresh, a replay after the provider revoked the access token, a CSRF rejection, a
 * tampered cookie, logout with revocation) is captured and searched for every secret that took
 * part: each token value (from the store, opened with the keyring, and from the provider's side
 * of every grant), the authorization code, the PKCE verifier, the state, the client secret and
 * every cookie value. None may appear. The lines must be there and tell the story.
 */

const MINUTE = 60_000;

describe('no secret in the logs', () => {
  const clock = manualClock();
  let stack: GatewayStack;
  /** [what, value] of every secret seen. */
  const secrets: Array<[string, string]> = [];
  const remember = (what: string, value: unknown) => {
    if (typeof value === 'string' && value.length >= 8) secrets.push([what, value]);
  };

  beforeAll(async () => {
    stack = await startGatewayStack({ accessTokenTtl: 600, now: clock.now });
    // The provider's side of every grant: what came in, what went out.
    stack.op.provider.on('grant.success', (ctx: KoaContextWithOIDC) => {
      const params = (ctx.oidc.params ?? {}) as Record<string, unknown>;
      for (const name of ['code', 'code_verifier', 'refresh_token']) remember(`provider param ${name}`, params[name]);
      const body = (ctx.body ?? {}) as Record<string, unknown>;
      for (const name of ['access_token', 'refresh_token', 'id_token']) remember(`provider issued ${name}`, body[name]);
    });
  });

  afterAll(async () => {
    await stack?.close();
  });

  it('a whole session logs what happened and none of its secrets', async () => {
    clock.set(Date.now());
    const { gateway } = stack.instances[0]!;
    const cookieName = gateway.cookies.session.name;
    const csrf = { 'x-csrf': '1', origin: stack.config.publicOrigin };
    const browser = await stack.login();
    const sid = (await browser.jar.getCookies(stack.url)).find((cookie) => cookie.key === cookieName)!.value;
    const fromStore = async () => {
      const stored = await gateway.store.getTokens(sid);
      const open = stored === null ? undefined : openTokenSet(gateway.keyring, sid, stored);
      remember('stored access token', open?.accessToken);
      remember('stored refresh token', open?.refreshToken);
      remember('stored ID token', open?.idToken);
      return open;
    };
    for (const response of browser.chain) {
      if (response.location === undefined) continue;
      const query = new URL(response.location).searchParams;
      for (const name of ['code', 'state', 'code_challenge', 'nonce']) remember(`redirect ${name}`, query.get(name));
    }
    const first = await fromStore();

    expect((await browser.request(`${stack.url}/api/one`)).status).toBe(200);
    expect((await browser.request(`${stack.url}/api/two`, { method: 'POST', json: { n: 2 }, headers: csrf })).status).toBe(200);
    // Expired: this request waits for the refresh (inside the window it would run in the background).
    clock.advance(11 * MINUTE);
    expect((await browser.request(`${stack.url}/api/refreshed`)).status).toBe(200);
    const refreshed = await fromStore();
    expect(refreshed!.accessToken).not.toBe(first!.accessToken);
    expect(await stack.op.revokeAccessToken(refreshed!.accessToken)).toBe(true);
    expect((await browser.request(`${stack.url}/api/replayed`, { method: 'PUT', json: { n: 3 }, headers: csrf })).status).toBe(200);
    await fromStore();
    expect((await browser.request(`${stack.url}/api/no-csrf`, { method: 'POST', json: {}, csrf: false })).status).toBe(403);
    // The real sid with a forged signature.
    expect((await freshGet(`${stack.url}/auth/session`, { cookie: `${cookieName}=${sid}; ${cookieName}.sig=${'A'.repeat(43)}` })).status).toBe(401);
    expect((await browser.request(`${stack.url}/auth/logout`, { method: 'POST', headers: csrf })).status).toBeLessThan(400);
    await gateway.revoker.idle();
    expect(stack.op.stats.revocations).toBeGreaterThan(0);

    remember('client secret', stack.config.providers[0]!.clientSecret);
    for (const { header } of browser.client.receivedSetCookies) remember(`cookie ${header.split('=')[0]}`, header.split(';')[0]!.split('=').slice(1).join('='));
    const kinds = new Set(secrets.map(([kind]) => kind));
    for (const kind of ['provider param code', 'provider param code_verifier', 'provider param refresh_token', 'provider issued access_token', 'provider issued id_token', 'stored refresh token', 'redirect code', 'redirect state', 'client secret', `cookie ${cookieName}`]) {
      expect(kinds, kind).toContain(kind);
    }
    const accessTokens = secrets.filter(([kind]) => kind.includes('access')).map(([, value]) => value);
    expect(new Set(accessTokens).size).toBeGreaterThanOrEqual(3);

    // The lines are there, and they are JSON.
    const lines = stack.logLines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.length).toBeGreaterThan(10);
    const access = lines.filter((line) => line['msg'] === 'request');
    const routes = access.map((line) => `${line['method']} ${line['route']} ${line['status']}`);
    expect(routes).toEqual(expect.arrayContaining(['GET auth.login 302', 'GET /api 200', 'POST /api 200', 'PUT /api 200', 'POST /api 403', 'GET auth.session 401']));
    expect(routes.some((route) => route.startsWith('POST auth.logout'))).toBe(true);
    expect(access.every((line) => typeof line['requestId'] === 'string' && typeof line['durationMs'] === 'number')).toBe(true);
    const refreshes = access.filter((line) => line['refreshOutcome'] === 'success');
    expect(refreshes.map((line) => line['method'])).toEqual(['GET', 'PUT']);
    expect(refreshes.every((line) => line['session'] === sessionTag(sid) && line['upstream'] === new URL(stack.api.url).origin)).toBe(true);
    const events = lines.filter((line) => line['security'] === true).map((line) => line['event']);
    expect(events).toEqual(expect.arrayContaining(['csrf_rejected', 'tampered_cookie']));
    expect(lines.some((line) => line['event'] === 'tokens_revoked' && line['outcome'] === 'revoked')).toBe(true);

    // And nothing secret in any of them.
    const logged = stack.logLines.join('\n');
    const leaked = secrets.filter(([, value]) => logged.includes(value)).map(([kind]) => kind);
    expect(leaked).toEqual([]);
    expect(logged).not.toContain(sid);
  });
});
