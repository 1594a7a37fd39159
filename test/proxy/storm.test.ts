import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../tokens/fixture.ts';
import { startGatewayStack, type GatewayStack } from '../support/gateway.ts';
import { skipRedisSuite } from '../support/redis-server.ts';
import { storedTokens } from './session-tokens.ts';

/**
 * The refresh storm: one session, 200 concurrent requests at the moment its access token expires,
 * spread over two gateway instances (two createGateway apps on their own ports, each with its
 * own Redis client) sharing one real redis-server. The provider's token endpoint is slowed down
 * so the requests pile up while the refresh runs. It runs twice: with Bearer tokens, and with
 * DPoP-bound tokens (RFC 9449; the provider requires its nonce, the API checks every proof).
 */

const MINUTE = 60_000;
const REQUESTS = 200;
const skip = skipRedisSuite('refresh storm across two gateways', 'redis-server');

describe.skipIf(skip).each([
  { tokens: 'Bearer', dpop: undefined },
  { tokens: 'DPoP', dpop: { providerNonce: true } },
])('refresh storm across two gateway instances sharing Redis ($tokens)', ({ dpop }) => {
  const clock = manualClock();
  let stack: GatewayStack;

  beforeAll(async () => {
    stack = await startGatewayStack({ accessTokenTtl: 600, store: 'redis', instances: 2, now: clock.now, tokenEndpointDelayMs: 150, ...(dpop ? { dpop } : {}) });
  });

  afterAll(async () => {
    await stack?.close();
  });

  it('the provider sees exactly one refresh grant and no reuse, and all 200 requests succeed', async () => {
    clock.set(Date.now());
    const browser = await stack.login();
    const before = await storedTokens(stack, browser);
    const cookie = await browser.jar.getCookieString(stack.url);
    stack.op.resetStats();
    stack.api.requests.length = 0;
    clock.advance(10 * MINUTE + 1_000);

    const results = await Promise.all(
      Array.from({ length: REQUESTS }, (_, i) => timedGet(`${stack.instances[i % 2]!.url}/api/storm/${i}`, cookie)),
    );

    const latencies = results.map((r) => r.ms).sort((a, b) => a - b);
    const slowest = latencies.at(-1)!;
    const median = latencies[Math.floor(latencies.length / 2)]!;
    const statuses = results.map((r) => r.status);
    console.log(
      `storm: ${REQUESTS} requests over 2 instances; refresh grants=${stack.op.stats.refreshGrants}, reuse=${stack.op.stats.refreshReuse}, ` +
        `slowest request=${slowest.toFixed(1)} ms, median=${median.toFixed(1)} ms`,
    );
    expect(statuses).toEqual(Array(REQUESTS).fill(200));
    expect(stack.op.stats.refreshGrants).toBe(1);
    expect(stack.op.stats.refreshReuse).toBe(0);
    expect(stack.op.stats.refreshErrors).toBe(0);
    const after = await storedTokens(stack, browser);
    expect(after?.ver).toBe(2);
    expect(after?.accessToken).not.toBe(before?.accessToken);
    // Every request reached the API with the one new token (the API introspected each).
    expect(stack.api.requests).toHaveLength(REQUESTS);
    expect(stack.api.requests.every((r) => r.status === 200 && r.sub === 'demo-user' && r.scheme === (dpop ? 'DPoP' : 'Bearer'))).toBe(true);
    // Both instances served requests.
    const served = new Set(results.map((r) => r.instance));
    expect(served.size).toBe(2);
  }, 60_000);
});

function timedGet(url: string, cookie: string): Promise<{ status: number; ms: number; instance: string }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { cookie, 'x-csrf': '1' }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started, instance: new URL(url).port }));
    });
    req.on('error', reject);
    req.end();
  });
}
