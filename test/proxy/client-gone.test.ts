import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../tokens/fixture.ts';
import { startGatewayStack, type GatewayStack } from '../support/gateway.ts';
import { CSRF_HEADER } from '../support/http.ts';
import type { LoginResult } from '../support/login.ts';
import { startTestUpstream, type TestUpstream } from './upstream.ts';

/**
 * A client that goes away before its request is forwarded (here: while a proactive refresh
 * waits on a slow token endpoint) gets nothing sent upstream on its behalf.
 */

const MINUTE = 60_000;
const clock = manualClock();
let stack: GatewayStack;
let upstream: TestUpstream;
let browser: LoginResult;

beforeAll(async () => {
  clock.set(Date.now());
  upstream = await startTestUpstream({ sessionCookie: 'tg_session' });
  stack = await startGatewayStack({
    accessTokenTtl: 600,
    tokenEndpointDelayMs: 600,
    now: clock.now,
    routes: () => [{ prefix: '/t', upstream: upstream.url, stripPrefix: true }],
  });
  browser = await stack.login();
});

afterAll(async () => {
  await stack?.close();
  await upstream?.close();
});

/** True while the gateway's TokenService has a refresh in flight (its `idle()` has not resolved). */
async function refreshInFlight(target: GatewayStack): Promise<boolean> {
  let idle = false;
  void target.instances[0]!.gateway.tokens.idle().then(() => {
    idle = true;
  });
  await new Promise((resolve) => setImmediate(resolve));
  return !idle;
}

describe('a client that disconnects before its request is forwarded', () => {
  it('is not forwarded once the refresh it waited for is done', async () => {
    // Past the token's expiry (not only inside the refresh window, where the current token is used
    // while the refresh runs): the request must wait for the refresh.
    clock.advance(11 * MINUTE);
    const cookie = await browser.jar.getCookieString(stack.url);
    const req = request(`${stack.url}/t/echo`, { headers: { cookie, [CSRF_HEADER.name]: CSRF_HEADER.value }, agent: false });
    req.on('error', () => undefined);
    req.end();
    // The refresh is under way (the token endpoint takes 600 ms): the client gives up.
    await expect.poll(() => refreshInFlight(stack), { timeout: 5_000 }).toBe(true);
    req.destroy();
    await expect.poll(() => refreshInFlight(stack), { timeout: 5_000 }).toBe(false);
    // Long enough for a forwarded request to arrive at the upstream, had one been sent.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(upstream.seen.filter((seen) => seen.url === '/echo')).toHaveLength(0);
    expect(stack.op.stats.refreshGrants).toBe(1);
  });
});
