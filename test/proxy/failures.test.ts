import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { manualClock } from '../tokens/fixture.ts';
import { startGatewayStack, type GatewayStack } from '../support/gateway.ts';
import { skipRedisSuite, startRedisServer, type RedisServer } from '../support/redis-server.ts';
import { waitFor } from '../support/wait.ts';
import { dumpRedis } from './redis-dump.ts';
import { sidOf, storedTokens } from './session-tokens.ts';
import { startTestUpstream, type TestUpstream } from './upstream.ts';

/**
 * Failure classes end to end, on real Redis (append-only, fsync always, so a killed server comes
 * back with its data): a grant revoked at the provider, the provider down, Redis down.
 * `/api` goes to the sample API (it introspects every token at the provider, so it needs the
 * provider up); `/t` goes to an upstream that does not, to see what the gateway sends while
 * the provider is down.
 */

const MINUTE = 60_000;
const skip = skipRedisSuite('gateway failure classes on Redis', 'redis-server');

describe.skipIf(skip)('failure classes through the gateway', () => {
  const clock = manualClock();
  let redis: RedisServer;
  let upstream: TestUpstream;
  let stack: GatewayStack;

  beforeAll(async () => {
    redis = await startRedisServer({ persist: true });
    upstream = await startTestUpstream({ sessionCookie: 'tg_session' });
    stack = await startGatewayStack({
      accessTokenTtl: 600,
      store: 'redis',
      redis,
      now: clock.now,
      redisCommandTimeout: '500ms',
      routes: ({ api }) => [
        { prefix: '/api', upstream: api },
        { prefix: '/t', upstream: upstream.url, stripPrefix: true },
      ],
    });
  });

  afterAll(async () => {
    await stack?.close();
    await upstream?.close();
    await redis?.stop();
  });

  beforeEach(async () => {
    clock.set(Date.now());
    stack.op.resetStats();
    await stack.op.start();
  });

  /** `tokengate_http_requests_total` with status 503, by route label. */
  const unavailableByRoute = async (): Promise<Record<string, number>> => {
    const values = (await stack.instances[0]!.gateway.metrics.httpRequests.get()).values.filter((v) => v.labels.status === '503');
    return Object.fromEntries(values.map((v) => [String(v.labels.route), v.value]));
  };

  const keysOf = async (sid: string) => [...(await dumpRedis(redis.url)).keys()].filter((key) => key.includes(sid));

  it('a grant revoked at the provider: the next request is 401 REAUTHENTICATION_REQUIRED and the session’s keys are gone from Redis', async () => {
    const browser = await stack.login();
    const sid = await sidOf(browser, stack);
    expect(await keysOf(sid)).toEqual(expect.arrayContaining([expect.stringContaining('sess:'), expect.stringContaining('tok:')]));
    const tokens = await storedTokens(stack, browser);
    expect(await stack.op.revokeGrantOf(tokens!.refreshToken!)).toBe(true);

    const res = await browser.request(`${stack.url}/api/me`);
    expect(res.status).toBe(401);
    expect(res.json()).toMatchObject({ code: 'REAUTHENTICATION_REQUIRED' });
    expect(await keysOf(sid)).toEqual([]);
    const again = await browser.request(`${stack.url}/api/me`);
    expect(again.status).toBe(401);
  });

  it('provider stopped: a valid token still works, an expired one is 503 with Retry-After, the session stays, and it works once the provider is back', async () => {
    const browser = await stack.login();
    const sid = await sidOf(browser, stack);
    const login = await storedTokens(stack, browser);
    await stack.op.stop();

    clock.advance(6 * MINUTE);
    const inWindow = await browser.request(`${stack.url}/t/echo`);
    expect(inWindow.status).toBe(200);
    expect(upstream.seen.at(-1)!.headers.authorization).toBe(`Bearer ${login!.accessToken}`);

    clock.advance(5 * MINUTE);
    const expired = await browser.request(`${stack.url}/t/echo`);
    expect(expired.status).toBe(503);
    expect(expired.json()).toMatchObject({ code: 'TOKEN_SERVICE_UNAVAILABLE' });
    expect(Number(expired.headers['retry-after'])).toBeGreaterThan(0);
    expect(await keysOf(sid)).toEqual(expect.arrayContaining([expect.stringContaining('sess:'), expect.stringContaining('tok:')]));
    expect((await storedTokens(stack, browser))?.ver).toBe(1);

    await stack.op.start();
    const back = await browser.request(`${stack.url}/api/me`);
    expect(back.status).toBe(200);
    expect(stack.op.stats.refreshGrants).toBe(1);
  });

  it('Redis stopped: 503 STORE_UNAVAILABLE within 1 s and no crash; once Redis is back the same session works, nothing lost', async () => {
    const browser = await stack.login();
    const before = await unavailableByRoute();
    const tokensBefore = await storedTokens(stack, browser);
    await redis.kill();
    try {
      for (const path of ['/api/me', '/t/echo']) {
        const started = performance.now();
        const res = await browser.request(`${stack.url}${path}`);
        const elapsed = performance.now() - started;
        expect(res.status).toBe(503);
        expect(res.json()).toMatchObject({ code: 'STORE_UNAVAILABLE' });
        expect(elapsed).toBeLessThan(1_000);
      }
      expect((await browser.request(`${stack.url}/auth/session`)).status).toBe(503);
      // The session loads before routing, yet these 503s are counted under their routes.
      const after = await unavailableByRoute();
      expect(Object.fromEntries(Object.entries(after).map(([route, count]) => [route, count - (before[route] ?? 0)]))).toEqual({ '/api': 1, '/t': 1, 'auth.session': 1 });
    } finally {
      await redis.restart();
    }
    await waitFor('the gateway to reach Redis again', async () => (await browser.request(`${stack.url}/api/me`)).status === 200, 10_000);
    expect((await storedTokens(stack, browser))?.accessToken).toBe(tokensBefore?.accessToken);
    expect(stack.op.stats.refreshGrants).toBe(0);
  });
});
