import { request } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openRouteTokens } from '../../src/tokens/route-token.ts';
import { startGatewayStack, type GatewayStack } from '../support/gateway.ts';
import type { LoginResult } from '../support/login.ts';
import { skipRedisSuite } from '../support/redis-server.ts';
import { manualClock } from '../tokens/fixture.ts';
import { dumpRedis } from './redis-dump.ts';
import { startRouteTokenUpstream, type RouteTokenUpstream } from './route-token-upstream.ts';
import { openWebSocket } from './websocket-tunnel.ts';
import { sidOf, storedTokens } from './session-tokens.ts';

/**
 * A token per API, against the real provider (oidc-provider with resource indicators for three
 * APIs and a registered token-exchange grant), two gateway instances on one real redis-server:
 * `/orders` and `/billing` name their resource (RFC 8707), `/reports` exchanges the login's token
 * for one for its audience (RFC 8693), `/api` sends the login's own token. The upstream decodes
 * each JWT it receives. Login tokens live 10 minutes, API tokens an hour; the gateways' clock is
 * moved by hand, the provider keeps real time.
 */

const MINUTE = 60_000;
const ORDERS = 'https://orders.example.test';
const BILLING = 'https://billing.example.test';
const REPORTS = 'https://reports.example.test';
/** An API whose route a session may predate (see the invalid_target test). */
const LATE = 'https://late.example.test';
const skip = skipRedisSuite('per-route tokens across two gateways', 'redis-server');

describe.skipIf(skip)('a token per API', () => {
  const clock = manualClock();
  let stack: GatewayStack;
  let upstream: RouteTokenUpstream;

  beforeAll(async () => {
    upstream = await startRouteTokenUpstream();
    stack = await startGatewayStack({
      accessTokenTtl: 600,
      store: 'redis',
      instances: 2,
      now: clock.now,
      tokenEndpointDelayMs: 100,
      opOptions: {
        resourceServers: { [ORDERS]: { scope: 'orders', accessTokenTtl: 3600 }, [BILLING]: { scope: 'billing', accessTokenTtl: 3600 }, [REPORTS]: { scope: 'reports', accessTokenTtl: 3600 }, [LATE]: { scope: 'late', accessTokenTtl: 3600 } },
        tokenExchange: true,
      },
      provider: { scopes: ['openid', 'profile', 'email', 'offline_access', 'orders', 'billing'] },
      routes: ({ api }) => [
        { prefix: '/api', upstream: api },
        { prefix: '/plain', upstream: upstream.url },
        { prefix: '/orders', upstream: upstream.url, resource: ORDERS },
        { prefix: '/billing', upstream: upstream.url, resource: BILLING },
        { prefix: '/reports', upstream: upstream.url, exchange: { audience: REPORTS, scope: 'reports' } },
        { prefix: '/late', upstream: upstream.url, resource: LATE },
        { prefix: '/orders-ws', upstream: upstream.url, resource: ORDERS, websocket: true },
      ],
    });
  });

  afterAll(async () => {
    await stack?.close();
    await upstream?.close();
  });

  beforeEach(() => {
    clock.set(Date.now());
    stack.op.resetStats();
    upstream.seen.length = 0;
  });

  const tokensAt = (prefix: string) => upstream.seen.filter((seen) => seen.path.startsWith(prefix)).map((seen) => seen.token);

  it('each API receives a token whose audience is its own and not the other’s; the login token stays the login’s', async () => {
    const browser = await stack.login();
    for (const prefix of ['/orders', '/billing', '/reports']) expect((await browser.request(`${stack.url}${prefix}/me`)).status).toBe(200);
    const audiences = Object.fromEntries(upstream.seen.map((seen) => [seen.path, seen.aud]));
    expect(audiences).toEqual({ '/orders/me': [ORDERS], '/billing/me': [BILLING], '/reports/me': [REPORTS] });
    expect(stack.op.stats.resourceGrants).toEqual({ [ORDERS]: 1, [BILLING]: 1 });
    expect(stack.op.stats.exchangeGrants).toBe(1);
    // The sample API introspects the login's token: still valid after two rotations by resource refreshes.
    expect((await browser.request(`${stack.url}/api/me`)).status).toBe(200);
    // Second use: the stored tokens, no grant.
    for (const prefix of ['/orders', '/billing', '/reports']) expect((await browser.request(`${stack.url}${prefix}/again`)).status).toBe(200);
    expect(stack.op.stats.refreshGrants).toBe(2);
    expect(stack.op.stats.exchangeGrants).toBe(1);
    expect(new Set(tokensAt('/orders')).size).toBe(1);
  });

  it('a login refresh keeps the API tokens, and a resource refresh’s rotated refresh token is the one the login refresh presents', async () => {
    const browser = await stack.login();
    expect((await browser.request(`${stack.url}/orders/first`)).status).toBe(200);
    clock.advance(11 * MINUTE);
    // The login token expired: this request waits for a login refresh, which presents the refresh
    // token the resource refresh rotated (the first one is spent: presenting it would be a reuse).
    expect((await browser.request(`${stack.url}/api/me`)).status).toBe(200);
    expect(stack.op.stats.refreshReuse).toBe(0);
    expect(stack.op.stats.refreshGrants).toBe(2);
    expect((await browser.request(`${stack.url}/orders/second`)).status).toBe(200);
    expect(stack.op.stats.resourceGrants).toEqual({ [ORDERS]: 1 });
    expect(tokensAt('/orders/second')).toEqual(tokensAt('/orders/first'));
  });

  it('storm: 200 concurrent first uses of two APIs over two instances cost one grant per API, with no reuse', async () => {
    const browser = await stack.login();
    const cookie = await browser.jar.getCookieString(stack.url);
    const firsts = await Promise.all(Array.from({ length: 200 }, (_, i) => get(`${stack.instances[i % 2]!.url}${i % 4 < 2 ? '/orders' : '/billing'}/storm/${i}`, cookie)));
    expect(firsts).toEqual(Array(200).fill(200));
    expect(stack.op.stats.resourceGrants).toEqual({ [ORDERS]: 1, [BILLING]: 1 });
    // Every API token has expired: again one grant per API.
    clock.advance(61 * MINUTE);
    const renewals = await Promise.all(Array.from({ length: 200 }, (_, i) => get(`${stack.instances[i % 2]!.url}${i % 4 < 2 ? '/orders' : '/billing'}/storm/${i}`, cookie)));
    expect(renewals).toEqual(Array(200).fill(200));
    expect(stack.op.stats.resourceGrants).toEqual({ [ORDERS]: 2, [BILLING]: 2 });
    expect(stack.op.stats.refreshReuse).toBe(0);
    expect(stack.op.stats.refreshErrors).toBe(0);
    expect(new Set(tokensAt('/orders')).size).toBe(2);
    expect(upstream.seen.every((seen) => seen.aud?.[0] === (seen.path.startsWith('/orders') ? ORDERS : BILLING))).toBe(true);
  }, 60_000);

  it('renewals of the login token and of an API token queue on one lock and neither passes for the other', async () => {
    const browser = await stack.login();
    const cookie = await browser.jar.getCookieString(stack.url);
    let round = 0;
    for (const [first, second] of [['/orders', '/plain'], ['/plain', '/orders']] as const) {
      round += 1;
      expect((await browser.request(`${stack.url}/orders/old${round}`)).status).toBe(200);
      expect((await browser.request(`${stack.url}/plain/old${round}`)).status).toBe(200);
      const old = [...tokensAt(`/orders/old${round}`), ...tokensAt(`/plain/old${round}`)];
      clock.advance(61 * MINUTE);
      // Both expired: each request waits for its own token's renewal, whatever else writes the
      // token set meanwhile. One renewal starts first; the other's waiters arrive while it runs.
      const early = Array.from({ length: 20 }, (_, i) => get(`${stack.instances[i % 2]!.url}${first}/new${round}/${i}`, cookie));
      await new Promise((resolve) => setTimeout(resolve, 30));
      const late = Array.from({ length: 20 }, (_, i) => get(`${stack.instances[i % 2]!.url}${second}/new${round}/${i}`, cookie));
      expect(await Promise.all([...early, ...late])).toEqual(Array(40).fill(200));
      const renewed = [...tokensAt(`/orders/new${round}`), ...tokensAt(`/plain/new${round}`)];
      expect(renewed).toHaveLength(40);
      for (const token of old) expect(renewed).not.toContain(token);
    }
    expect(stack.op.stats.resourceGrants).toEqual({ [ORDERS]: 3 });
    expect(stack.op.stats.refreshGrants).toBe(5);
    expect(stack.op.stats.refreshReuse).toBe(0);
  });

  it('an exchanged token whose login token expired: the login token is refreshed first, then exchanged once', async () => {
    const browser = await stack.login();
    expect((await browser.request(`${stack.url}/reports/one`)).status).toBe(200);
    clock.advance(61 * MINUTE);
    const cookie = await browser.jar.getCookieString(stack.url);
    const statuses = await Promise.all(Array.from({ length: 40 }, (_, i) => get(`${stack.instances[i % 2]!.url}/reports/two/${i}`, cookie)));
    expect(statuses).toEqual(Array(40).fill(200));
    expect(stack.op.stats.exchangeGrants).toBe(2);
    expect(stack.op.stats.refreshGrants).toBe(1);
    expect(new Set(tokensAt('/reports/two')).size).toBe(1);
  });

  it('an exchange whose subject the provider refuses (the login token was revoked there early): the login token is renewed once and the exchange made again', async () => {
    const browser = await stack.login();
    const login = (await storedTokens(stack, browser))!;
    expect(await stack.op.revokeAccessToken(login.accessToken)).toBe(true);
    stack.op.resetStats();
    expect((await browser.request(`${stack.url}/reports/after-revocation`)).status).toBe(200);
    expect(stack.op.stats.refreshGrants).toBe(1);
    expect(stack.op.stats.exchangeGrants).toBe(1);
    expect(tokensAt('/reports/after-revocation')[0]).toBeTruthy();
    expect((await storedTokens(stack, browser))!.accessToken).not.toBe(login.accessToken);
    expect(stack.op.stats.refreshReuse).toBe(0);
  });

  it('a 503 from the token endpoint on an API token’s first use: 503 with Retry-After, and the session, its login token and its other API tokens stay', async () => {
    const browser = await stack.login();
    expect((await browser.request(`${stack.url}/orders/before`)).status).toBe(200);
    const sid = await sidOf(browser, stack);
    const before = (await stack.instances[0]!.gateway.store.getTokens(sid))!;
    stack.op.failTokenRequests(1, 503);
    const failed = await browser.request(`${stack.url}/billing/first`);
    expect(failed.status).toBe(503);
    expect(failed.headers['retry-after']).toBe('1');
    const after = (await stack.instances[0]!.gateway.store.getTokens(sid))!;
    expect(after.refreshToken).toBe(before.refreshToken);
    expect(after.resources).toEqual(before.resources);
    expect((await browser.request(`${stack.url}/orders/after`)).status).toBe(200);
    expect(tokensAt('/orders/after')).toEqual(tokensAt('/orders/before'));
    expect((await browser.request(`${stack.url}/api/me`)).status).toBe(200);
    // Past the backoff (the provider's Retry-After) the API token is obtained.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect((await browser.request(`${stack.url}/billing/second`)).status).toBe(200);
    expect(stack.op.stats.refreshReuse).toBe(0);
  });

  it('a WebSocket handshake on an API’s route carries that API’s token, the same one its HTTP requests get', async () => {
    const browser = await stack.login();
    expect((await browser.request(`${stack.url}/orders/http`)).status).toBe(200);
    const cookie = await browser.jar.getCookieString(stack.url);
    const client = await openWebSocket(`${stack.instances[1]!.url}/orders-ws/socket`, { cookie, origin: stack.url });
    client.socket.destroy();
    const [sent] = tokensAt('/orders-ws/socket');
    expect(sent).toBe(tokensAt('/orders/http')[0]);
    expect(upstream.seen.find((seen) => seen.path === '/orders-ws/socket')?.aud).toEqual([ORDERS]);
    expect(stack.op.stats.resourceGrants).toEqual({ [ORDERS]: 1 });
  });

  it('a 401 from an API renews that API’s token once and replays the request with it', async () => {
    const browser = await stack.login();
    const answer = await browser.request(`${stack.url}/billing/reject-first`, { method: 'POST', body: 'payload' });
    expect(answer.status).toBe(200);
    const sent = tokensAt('/billing/reject-first');
    expect(sent).toHaveLength(2);
    expect(sent[0]).not.toBe(sent[1]);
    expect(stack.op.stats.resourceGrants).toEqual({ [BILLING]: 2 });
    // Within the cooldown a 401 on the current token forces nothing: the API's 401 goes back as is.
    const forced = (await stack.instances[0]!.gateway.store.getTokens(await sidOf(browser, stack)))?.resources?.[`resource:${BILLING}`];
    expect(forced?.forcedAt).toBe(clock.now());
  });

  /** Makes the browser's session one from before the `/late` route: neither its grant at the provider nor its record names LATE (or, `unrecorded`, the record names none). */
  async function predateLate(browser: LoginResult, options: { unrecorded?: boolean } = {}): Promise<void> {
    const refreshToken = (await storedTokens(stack, browser))!.refreshToken!;
    const granted = await stack.op.provider.RefreshToken.find(refreshToken);
    expect(granted?.resourceIndicators.has(LATE)).toBe(true);
    granted!.resource = [...granted!.resourceIndicators].filter((resource): resource is string => resource !== undefined && resource !== LATE);
    await granted!.save();
    const { store } = stack.instances[0]!.gateway;
    const sid = await sidOf(browser, stack);
    const stored = (await store.getTokens(sid))!;
    expect(stored.grantResources).toEqual([ORDERS, BILLING, LATE]);
    const { ver, grantResources, ...rest } = stored;
    const written = await store.compareAndSetTokens(sid, ver, options.unrecorded ? rest : { ...rest, grantResources: grantResources!.filter((resource) => resource !== LATE) });
    expect(written.ok).toBe(true);
  }

  it('an API the login did not ask for (its route came later): 401 REAUTHENTICATION_REQUIRED with no call to the provider; the session and its other tokens stay', async () => {
    const browser = await stack.login();
    expect((await browser.request(`${stack.url}/orders/before`)).status).toBe(200);
    await predateLate(browser);
    stack.op.resetStats();
    for (const instance of stack.instances) {
      const answer = await browser.request(`${instance.url}/late/me`);
      expect(answer.status).toBe(401);
      expect(answer.headers['retry-after']).toBeUndefined();
      expect(answer.json<{ code: string }>().code).toBe('REAUTHENTICATION_REQUIRED');
    }
    // Nothing was sent: the provider refuses such a refresh only after spending the refresh token.
    expect(stack.op.stats.refreshGrants + stack.op.stats.refreshErrors).toBe(0);
    expect(upstream.seen.some((seen) => seen.path.startsWith('/late'))).toBe(false);
    // The session, its login token and its other API tokens stay; a login refresh still works.
    expect((await browser.request(`${stack.url}/orders/after`)).status).toBe(200);
    expect(tokensAt('/orders/after')).toEqual(tokensAt('/orders/before'));
    clock.advance(11 * MINUTE);
    expect((await browser.request(`${stack.url}/api/me`)).status).toBe(200);
    expect(stack.op.stats.refreshGrants).toBe(1);
    expect(stack.op.stats.refreshReuse).toBe(0);
  });

  it('a session that does not record its granted resources: the provider’s invalid_target is 401 REAUTHENTICATION_REQUIRED, not a 503 to retry', async () => {
    const browser = await stack.login();
    await predateLate(browser, { unrecorded: true });
    const answer = await browser.request(`${stack.url}/late/me`);
    expect(answer.status).toBe(401);
    expect(answer.json<{ code: string }>().code).toBe('REAUTHENTICATION_REQUIRED');
    expect(stack.op.stats.refreshErrors).toBe(1);
    expect(await stack.instances[0]!.gateway.store.getSession(await sidOf(browser, stack))).not.toBeNull();
  });

  it('logout revokes the login tokens and every API token at the provider', async () => {
    const browser = await stack.login();
    for (const prefix of ['/orders', '/billing', '/reports']) expect((await browser.request(`${stack.url}${prefix}/me`)).status).toBe(200);
    expect((await browser.request(`${stack.url}/auth/logout`, { method: 'POST' })).status).toBe(200);
    // Login refresh and access token, then the three API tokens: five revocation calls. This
    // provider revokes the login's two and refuses its JWT access tokens (unsupported_token_type).
    for (let i = 0; i < 100 && stack.op.stats.revocationRequests < 5; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(stack.op.stats.revocationRequests).toBe(5);
    expect(stack.op.stats.revocations).toBe(2);
  });

  it('no token is in Redis in plaintext or in a log line', async () => {
    const browser: LoginResult = await stack.login();
    for (const prefix of ['/orders', '/billing', '/reports', '/api']) expect((await browser.request(`${stack.url}${prefix}/me`)).status).toBe(200);
    const sid = await sidOf(browser, stack);
    const stored = await stack.instances[0]!.gateway.store.getTokens(sid);
    const login = await storedTokens(stack, browser);
    const routeTokens = openRouteTokens(stack.instances[0]!.gateway.keyring, sid, stored!).map((tokens) => tokens.accessToken);
    expect(routeTokens).toHaveLength(3);
    const secrets = [login!.accessToken, login!.refreshToken!, ...routeTokens, ...upstream.seen.map((seen) => seen.token)];
    const values = [...(await dumpRedis(stack.redis!.url)).values()].flat().join('\n');
    expect(values).toContain(`resource:${ORDERS}`);
    for (const secret of secrets) {
      expect(values.includes(secret)).toBe(false);
      expect(stack.logLines.some((line) => line.includes(secret))).toBe(false);
    }
  });
});

function get(url: string, cookie: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { cookie, 'x-csrf': '1' }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}
