import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../tokens/fixture.ts';
import { startGatewayStack, type GatewayStack } from '../support/gateway.ts';
import { startProviderProcess, type ProviderProcess } from '../support/provider-process.ts';
import { skipRedisSuite } from '../support/redis-server.ts';
import { storedTokens } from './session-tokens.ts';
import { startTestUpstream, type TestUpstream } from './upstream.ts';

/**
 * A hung provider must not destroy sessions. The real oidc-provider (rotation and reuse
 * detection on) runs in a child process and is stopped with SIGSTOP inside the refresh window
 * for 3 s, three times the gateway's provider timeout (1 s), while requests keep coming to two
 * gateway instances sharing Redis; then it is resumed and answers whatever it had queued. The
 * provider counts how often each refresh token value was presented: a refresh token whose
 * outcome is unknown must never be sent again, or the provider sees a reuse and revokes the grant.
 */

const MINUTE = 60_000;
const HANG_MS = 3_000;
const skip = skipRedisSuite('hung provider across two gateways', 'redis-server');

describe.skipIf(skip)('a provider hung (SIGSTOP) across the refresh window', () => {
  const clock = manualClock();
  let upstream: TestUpstream;
  let stack: GatewayStack<ProviderProcess>;

  beforeAll(async () => {
    upstream = await startTestUpstream({ sessionCookie: 'tg_session' });
    stack = await startGatewayStack({
      startProvider: startProviderProcess,
      accessTokenTtl: 600,
      store: 'redis',
      instances: 2,
      now: clock.now,
      providerTimeout: '1s',
      routes: () => [{ prefix: '/t', upstream: upstream.url, stripPrefix: true }],
    });
  });

  afterAll(async () => {
    if (stack?.op.paused) stack.op.resume();
    await stack?.close();
    await upstream?.close();
  });

  it('the session survives, requests succeed during and after the hang, and no refresh token is presented twice', async () => {
    clock.set(Date.now());
    const browser = await stack.login();
    const login = await storedTokens(stack, browser);
    await stack.op.resetStats();
    clock.advance(6 * MINUTE);

    stack.op.pause();
    const during: Array<{ status: number; ms: number }> = [];
    try {
      const until = performance.now() + HANG_MS;
      for (let i = 0; performance.now() < until && i < 200; i++) {
        const started = performance.now();
        const res = await browser.request(`${stack.instances[i % 2]!.url}/t/echo`);
        during.push({ status: res.status, ms: performance.now() - started });
        await sleep(50);
      }
    } finally {
      stack.op.resume();
    }

    // After the resume, requests keep coming until a new token set is in the store.
    const after: number[] = [];
    const settled = performance.now() + 15_000;
    for (let i = 0; performance.now() < settled; i++) {
      after.push((await browser.request(`${stack.instances[i % 2]!.url}/t/echo`)).status);
      const now = await storedTokens(stack, browser);
      if (now === null || (now.ver > 1 && after.length >= 10)) break;
      await sleep(100);
    }

    const stats = await stack.op.stats();
    console.log(
      `hung provider: ${during.length} requests during the ${HANG_MS} ms hang (slowest ${Math.max(...during.map((d) => d.ms)).toFixed(0)} ms), ` +
        `${after.length} after; refresh grants=${stats.refreshGrants}, reuse=${stats.refreshReuse}, errors=${stats.refreshErrors}, ` +
        `most presentations of one refresh token=${stats.presentedMax}`,
    );
    expect(during.map((d) => d.status)).toEqual(Array(during.length).fill(200));
    expect(after.every((status) => status === 200)).toBe(true);
    expect(stats.refreshReuse).toBe(0);
    expect(stats.refreshErrors).toBe(0);
    expect(stats.presentedMax).toBe(1);
    expect(stats.refreshGrants).toBe(1);
    const now = await storedTokens(stack, browser);
    expect(now).not.toBeNull();
    expect(now!.ver).toBe(2);
    expect(now!.refreshToken).not.toBe(login!.refreshToken);
    expect((await stack.op.introspect(now!.accessToken)).active).toBe(true);
    const text = stack.logLines.join('\n');
    for (const token of [login!.accessToken, login!.refreshToken!, now!.accessToken, now!.refreshToken!]) expect(text.includes(token)).toBe(false);
  }, 60_000);
});
