import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { manualClock } from '../tokens/fixture.ts';
import { startGatewayStack, type GatewayStack } from '../support/gateway.ts';
import type { LoginResult } from '../support/login.ts';
import { storedTokens } from './session-tokens.ts';
import { startTestUpstream, type TestUpstream } from './upstream.ts';

/**
 * A slow provider must not stall the session (stale-while-revalidate). The real provider's token
 * endpoint answers only after 4 s; the gateway's provider timeout is 10 s and `refreshWait` is
 * 1 s. Inside the refresh window a still-valid token is used at once while the refresh runs in
 * the background; an expired token answers 503 with Retry-After after at most `refreshWait`,
 * and no second refresh is sent while the first is outstanding. Requests go to an upstream that
 * does not ask the provider about tokens.
 */

const MINUTE = 60_000;
const DELAY_MS = 4_000;
const clock = manualClock();
let stack: GatewayStack;
let upstream: TestUpstream;

beforeAll(async () => {
  upstream = await startTestUpstream({ sessionCookie: 'tg_session' });
  stack = await startGatewayStack({
    accessTokenTtl: 600,
    now: clock.now,
    providerTimeout: '10s',
    tokens: { refreshWait: '1s' },
    routes: () => [{ prefix: '/t', upstream: upstream.url, stripPrefix: true }],
  });
});

afterAll(async () => {
  await stack?.close();
  await upstream?.close();
});

beforeEach(() => {
  clock.set(Date.now());
  stack.op.setTokenEndpointDelay(0);
  stack.op.resetStats();
  upstream.seen.length = 0;
});

async function timed(browser: LoginResult, path: string) {
  const started = performance.now();
  const response = await browser.request(`${stack.url}${path}`);
  return { response, ms: performance.now() - started };
}

describe('a slow provider inside the refresh window', () => {
  it('requests with a still-valid token are answered at once with it while one refresh runs in the background', async () => {
    const browser = await stack.login();
    const login = await storedTokens(stack, browser);
    clock.advance(6 * MINUTE);
    stack.op.setTokenEndpointDelay(DELAY_MS);

    const results = await Promise.all(Array.from({ length: 10 }, () => timed(browser, '/t/echo')));
    expect(results.map((r) => r.response.status)).toEqual(Array(10).fill(200));
    const slowest = Math.max(...results.map((r) => r.ms));
    console.log(`slow provider (${DELAY_MS} ms): slowest in-window request ${slowest.toFixed(0)} ms`);
    expect(slowest).toBeLessThan(1_000);
    expect(upstream.seen.every((r) => r.headers.authorization === `Bearer ${login!.accessToken}`)).toBe(true);
    // One session's sequential throughput while the refresh is outstanding (bounded: 1.5 s, 3,000 requests).
    const sequential = [];
    const until = performance.now() + 1_500;
    while (performance.now() < until && sequential.length < 3_000) sequential.push(await timed(browser, '/t/echo'));
    console.log(`slow provider: ${sequential.length} sequential requests of one session in 1.5 s while its refresh waited on the provider`);
    expect(sequential.every((r) => r.response.status === 200)).toBe(true);
    expect(sequential.length).toBeGreaterThan(10);

    // The one background refresh lands; later requests carry its token.
    await expect.poll(async () => (await storedTokens(stack, browser))?.ver, { timeout: DELAY_MS * 3, interval: 100 }).toBe(2);
    expect(stack.op.stats.refreshGrants).toBe(1);
    const fresh = await storedTokens(stack, browser);
    expect((await browser.request(`${stack.url}/t/echo`)).status).toBe(200);
    expect(upstream.seen.at(-1)!.headers.authorization).toBe(`Bearer ${fresh!.accessToken}`);
  });

  it('an expired token answers 503 TOKEN_SERVICE_UNAVAILABLE with Retry-After within refreshWait, sends no second refresh, and recovers', async () => {
    const browser = await stack.login();
    clock.advance(11 * MINUTE);
    stack.op.setTokenEndpointDelay(DELAY_MS);

    for (let i = 0; i < 3; i++) {
      const { response, ms } = await timed(browser, '/t/echo');
      expect(response.status).toBe(503);
      expect(response.json()).toMatchObject({ code: 'TOKEN_SERVICE_UNAVAILABLE' });
      expect(Number(response.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(ms).toBeLessThan(2_500);
    }
    expect(upstream.seen).toHaveLength(0);

    await expect.poll(async () => (await browser.request(`${stack.url}/t/echo`)).status, { timeout: DELAY_MS * 3, interval: 200 }).toBe(200);
    expect(stack.op.stats.refreshGrants).toBe(1);
    expect(stack.op.stats.refreshReuse).toBe(0);
  });
});
