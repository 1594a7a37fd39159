import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../tokens/fixture.ts';
import { startGatewayStack, type GatewayStack } from '../support/gateway.ts';
import { skipRedisSuite } from '../support/redis-server.ts';
import { storedTokens } from './session-tokens.ts';
import { startTestUpstream, type TestUpstream } from './upstream.ts';

/**
 * Forced refreshes are bounded: an upstream path that answers 401 to every token costs at most
 * one refresh grant per `tokens.forcedRefreshCooldown` (default 30 s) per session, across two
 * gateway instances sharing Redis, counted at the real provider. Within the cooldown a 401 on the
 * current token is passed to the client as the upstream sent it, without a refresh or a replay.
 */

const skip = skipRedisSuite('forced-refresh cooldown across two gateways', 'redis-server');

describe.skipIf(skip)('forced-refresh cooldown after upstream 401s', () => {
  const clock = manualClock();
  let upstream: TestUpstream;
  let stack: GatewayStack;

  beforeAll(async () => {
    upstream = await startTestUpstream({ sessionCookie: 'tg_session' });
    stack = await startGatewayStack({
      store: 'redis',
      instances: 2,
      now: clock.now,
      routes: () => [{ prefix: '/t', upstream: upstream.url, stripPrefix: true }],
    });
  });

  afterAll(async () => {
    await stack?.close();
    await upstream?.close();
  });

  it('20 sequential and 20 concurrent requests to an always-401 path cost one refresh grant per cooldown window', async () => {
    clock.set(Date.now());
    const browser = await stack.login();
    stack.op.resetStats();
    upstream.seen.length = 0;
    const url = (i: number) => `${stack.instances[i % 2]!.url}/t/always-401`;

    const sequential = [];
    for (let i = 0; i < 20; i++) sequential.push(await browser.request(url(i)));
    const concurrent = await Promise.all(Array.from({ length: 20 }, (_, i) => browser.request(url(i))));
    console.log(`always-401: 40 requests, refresh grants=${stack.op.stats.refreshGrants}, upstream requests=${upstream.seen.length}`);

    expect(stack.op.stats.refreshGrants).toBe(1);
    expect(stack.op.stats.refreshReuse).toBe(0);
    expect([...sequential, ...concurrent].map((r) => r.status)).toEqual(Array(40).fill(401));
    // The first request was refreshed and replayed once (its second 401 is the gateway's own).
    expect(sequential[0]!.json()).toMatchObject({ code: 'REAUTHENTICATION_REQUIRED' });
    // Within the cooldown the upstream's own 401 goes to the client, not replayed.
    for (const response of [...sequential.slice(1), ...concurrent]) {
      expect(response.json()).toEqual({ error: 'invalid_token' });
      expect(response.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
    }
    expect(upstream.seen).toHaveLength(41);
    expect((await storedTokens(stack, browser))?.ver).toBe(2);

    // The next window allows one more.
    clock.advance(30_001);
    const later = await Promise.all(Array.from({ length: 10 }, (_, i) => browser.request(url(i))));
    expect(later.map((r) => r.status)).toEqual(Array(10).fill(401));
    expect(stack.op.stats.refreshGrants).toBe(2);
    expect((await storedTokens(stack, browser))?.ver).toBe(3);
  }, 60_000);
});
