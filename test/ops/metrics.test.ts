import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTokenSet } from '../../src/tokens/index.ts';
import { manualClock } from '../tokens/fixture.ts';
import { startGatewayStack, type GatewayStack } from '../support/gateway.ts';
import type { LoginResult } from '../support/login.ts';
import { skipRedisSuite } from '../support/redis-server.ts';
import { serveOps } from './support/ops-listener.ts';
import { delta, scrape, valueOf, type Samples } from './support/prometheus.ts';

/**
 * Issue "Operations", test 2: a scrape of /metrics after a known workload shows exactly the
 * expected counter deltas, on a real gateway in front of the real demo provider.
 */

const MINUTE = 60_000;
const API = { route: '/api', method: 'GET' };

async function currentTokens(stack: GatewayStack, browser: LoginResult) {
  const { gateway } = stack.instances[0]!;
  const sid = (await browser.jar.getCookies(stack.url)).find((cookie) => cookie.key === gateway.cookies.session.name)!.value;
  return openTokenSet(gateway.keyring, sid, (await gateway.store.getTokens(sid))!);
}

describe('metric values after a known workload', () => {
  const clock = manualClock();
  let stack: GatewayStack;
  let ops: Awaited<ReturnType<typeof serveOps>>;
  let browser: LoginResult;
  let before: Samples;
  const csrf = () => ({ 'x-csrf': '1', origin: stack.config.publicOrigin });

  beforeAll(async () => {
    stack = await startGatewayStack({ accessTokenTtl: 600, now: clock.now });
    ops = await serveOps(stack.instances[0]!.gateway);
  });

  afterAll(async () => {
    await ops?.close();
    await stack?.close();
  });

  it('a login counts one request on each auth route', async () => {
    clock.set(Date.now());
    before = await scrape(ops.url);
    browser = await stack.login();
    const after = await scrape(ops.url);
    expect(delta(before, after, 'tokengate_http_requests_total', { route: 'auth.login', method: 'GET', status: '302' })).toBe(1);
    const callbacks = [...after].filter(([key]) => key.startsWith('tokengate_http_requests_total{') && key.includes('route="auth.callback"'));
    expect(callbacks.reduce((sum, [key, value]) => sum + value - (before.get(key) ?? 0), 0)).toBe(1);
    expect(valueOf(after, 'tokengate_refresh_total', { outcome: 'success' })).toBe(0);
  });

  it('N proxied requests count N requests and N upstream latencies on their route, and no refresh', async () => {
    before = await scrape(ops.url);
    for (let i = 0; i < 5; i += 1) expect((await browser.request(`${stack.url}/api/item/${i}`)).status).toBe(200);
    const after = await scrape(ops.url);
    expect(delta(before, after, 'tokengate_http_requests_total', { ...API, status: '200' })).toBe(5);
    expect(delta(before, after, 'tokengate_upstream_duration_seconds_count', { route: '/api', status: '200' })).toBe(5);
    expect(delta(before, after, 'tokengate_upstream_duration_seconds_bucket', { route: '/api', status: '200', le: '+Inf' })).toBe(5);
    expect(delta(before, after, 'tokengate_store_duration_seconds_count', { op: 'loadSession' })).toBe(5);
    for (const outcome of ['success', 'coalesced', 'transient', 'invalid_grant']) expect(delta(before, after, 'tokengate_refresh_total', { outcome })).toBe(0);
    expect(delta(before, after, 'tokengate_store_errors_total', { op: 'loadSession' })).toBe(0);
  });

  it('one forced refresh after an upstream 401: exactly one refresh success, one replay, one lock wait', async () => {
    expect(await stack.op.revokeAccessToken((await currentTokens(stack, browser)).accessToken)).toBe(true);
    before = await scrape(ops.url);
    expect((await browser.request(`${stack.url}/api/forced`)).status).toBe(200);
    const after = await scrape(ops.url);
    expect(delta(before, after, 'tokengate_refresh_total', { outcome: 'success' })).toBe(1);
    expect(delta(before, after, 'tokengate_replay_total', { route: '/api', outcome: 'replayed' })).toBe(1);
    expect(delta(before, after, 'tokengate_lock_wait_seconds_count')).toBe(1);
    expect(delta(before, after, 'tokengate_upstream_duration_seconds_count', { route: '/api', status: '401' })).toBe(0);
    expect(delta(before, after, 'tokengate_upstream_duration_seconds_count', { route: '/api', status: '200' })).toBe(1);
    expect(delta(before, after, 'tokengate_http_requests_total', { ...API, status: '200' })).toBe(1);
  });

  it('a proactive refresh (inside the 5-minute buffer, in the background) counts one success and no replay', async () => {
    clock.advance(6 * MINUTE);
    before = await scrape(ops.url);
    expect((await browser.request(`${stack.url}/api/due`)).status).toBe(200);
    await expect.poll(async () => delta(before, await scrape(ops.url), 'tokengate_refresh_total', { outcome: 'success' }), { timeout: 5_000 }).toBe(1);
    const after = await scrape(ops.url);
    expect(delta(before, after, 'tokengate_replay_total', { route: '/api', outcome: 'replayed' })).toBe(0);
  });

  it('a provider outage during a due refresh counts one transient, and the still-valid token is used', async () => {
    clock.advance(6 * MINUTE);
    stack.op.failTokenRequests(1, 503);
    before = await scrape(ops.url);
    expect((await browser.request(`${stack.url}/api/outage`)).status).toBe(200);
    await expect.poll(async () => delta(before, await scrape(ops.url), 'tokengate_refresh_total', { outcome: 'transient' }), { timeout: 5_000 }).toBe(1);
    const after = await scrape(ops.url);
    expect(delta(before, after, 'tokengate_refresh_total', { outcome: 'success' })).toBe(0);
  });

  it('a revoked grant counts one invalid_grant and a 401', async () => {
    // Past the backoff the outage left (the memory store's lock TTLs follow the gateway's clock).
    clock.advance(2_000);
    expect(await stack.op.revokeGrantOf((await currentTokens(stack, browser)).refreshToken!)).toBe(true);
    before = await scrape(ops.url);
    expect((await browser.request(`${stack.url}/api/revoked`)).status).toBe(401);
    const after = await scrape(ops.url);
    expect(delta(before, after, 'tokengate_refresh_total', { outcome: 'invalid_grant' })).toBe(1);
    expect(delta(before, after, 'tokengate_http_requests_total', { ...API, status: '401' })).toBe(1);
  });

  it('a logout counts one successful revocation at the provider', async () => {
    clock.set(Date.now());
    const again = await stack.login();
    before = await scrape(ops.url);
    expect((await again.request(`${stack.url}/auth/logout`, { method: 'POST', headers: csrf() })).status).toBeLessThan(400);
    await stack.instances[0]!.gateway.revoker.idle();
    const after = await scrape(ops.url);
    expect(delta(before, after, 'tokengate_revocations_total', { provider: 'op', outcome: 'success' })).toBe(1);
    expect(delta(before, after, 'tokengate_revocations_total', { provider: 'op', outcome: 'failed' })).toBe(0);
  });

  it('the default process metrics are there', async () => {
    const samples = await scrape(ops.url);
    expect(valueOf(samples, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(valueOf(samples, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
  });
});

const skipRedis = skipRedisSuite('refresh coalescing metrics on Redis', 'redis-server');

describe.skipIf(skipRedis)('two replicas refreshing one session', () => {
  const clock = manualClock();
  let stack: GatewayStack;
  const scrapes: Array<Awaited<ReturnType<typeof serveOps>>> = [];

  beforeAll(async () => {
    stack = await startGatewayStack({ accessTokenTtl: 600, now: clock.now, store: 'redis', instances: 2 });
    for (const instance of stack.instances) scrapes.push(await serveOps(instance.gateway));
  });

  afterAll(async () => {
    for (const ops of scrapes) await ops.close();
    await stack?.close();
  });

  it('count one success on one replica and one coalesced on the other, and a lock wait on each', async () => {
    clock.set(Date.now());
    const browser = await stack.login();
    clock.advance(10 * MINUTE - 5_000);
    stack.op.setTokenEndpointDelay(300);
    const sum = async (name: string, labels: Record<string, string> = {}) => {
      let total = 0;
      for (const ops of scrapes) total += valueOf(await scrape(ops.url), name, labels);
      return total;
    };
    const before = { success: await sum('tokengate_refresh_total', { outcome: 'success' }), coalesced: await sum('tokengate_refresh_total', { outcome: 'coalesced' }), lockWaits: await sum('tokengate_lock_wait_seconds_count') };
    const responses = await Promise.all(stack.instances.map((instance) => browser.request(`${instance.url}/api/both`)));
    expect(responses.map((response) => response.status)).toEqual([200, 200]);
    expect(stack.op.stats.refreshGrants).toBe(1);
    expect((await sum('tokengate_refresh_total', { outcome: 'success' })) - before.success).toBe(1);
    expect((await sum('tokengate_refresh_total', { outcome: 'coalesced' })) - before.coalesced).toBe(1);
    expect((await sum('tokengate_lock_wait_seconds_count')) - before.lockWaits).toBe(2);
  });
});
