import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../tokens/fixture.ts';
import { startGatewayStack, type GatewayStack } from '../support/gateway.ts';
import type { BrowserRequestInit, BrowserResponse } from '../support/http.ts';
import { skipRedisSuite } from '../support/redis-server.ts';
import { dumpRedis } from './redis-dump.ts';
import { storedTokens } from './session-tokens.ts';
import { startTestUpstream, type TestUpstream } from './upstream.ts';

/**
 * Invariants 1 and 2 end to end: across login, proxied requests, a proactive refresh, a replay
 * after a revoked access token, a revoked grant and the errors on the way, no token (access,
 * refresh or ID, old or new) appears in any response the browser got, in any log line, or in
 * plaintext anywhere in Redis.
 */

const MINUTE = 60_000;
const skip = skipRedisSuite('token leak checks on Redis', 'redis-server');

describe.skipIf(skip)('no token leaves the gateway except upstream-bound', () => {
  const clock = manualClock();
  let stack: GatewayStack;
  let upstream: TestUpstream;
  const responses: BrowserResponse[] = [];
  const tokens = new Set<string>();

  beforeAll(async () => {
    upstream = await startTestUpstream({ sessionCookie: 'tg_session' });
    stack = await startGatewayStack({
      accessTokenTtl: 600,
      store: 'redis',
      now: clock.now,
      routes: ({ api }) => [
        { prefix: '/api', upstream: api },
        { prefix: '/t', upstream: upstream.url, stripPrefix: true },
      ],
    });
  });

  afterAll(async () => {
    await stack?.close();
    await upstream?.close();
  });

  it('through a whole session lifetime', async () => {
    clock.set(Date.now());
    const login = await stack.login();
    responses.push(...login.chain.filter((r) => r.url.startsWith(stack.url)));
    const remember = async () => {
      const set = await storedTokens(stack, login);
      for (const token of [set?.accessToken, set?.refreshToken, set?.idToken]) if (token) tokens.add(token);
      return set;
    };
    const call = async (path: string, init?: BrowserRequestInit) => {
      const res = await login.request(`${stack.url}${path}`, init);
      responses.push(res);
      return res;
    };
    const csrf = { 'x-csrf': '1', origin: stack.config.publicOrigin };

    const first = await remember();
    expect(first?.idToken).toBeDefined();
    expect((await call('/api/me')).status).toBe(200);
    // (The sample API echoes what it got with credentials redacted, as a real API must.)
    expect((await call('/api/posted', { method: 'POST', json: { a: 1 }, headers: csrf })).status).toBe(200);
    expect((await call('/t/always-401')).status).toBe(401);
    await remember();

    // Within the expiry margin: the request waits for the refresh (earlier in the window it would
    // run in the background).
    clock.advance(10 * MINUTE - 5_000);
    expect((await call('/api/refreshed')).status).toBe(200);
    await remember();

    const current = await remember();
    await stack.op.revokeAccessToken(current!.accessToken);
    expect((await call('/api/replayed', { method: 'PUT', json: { b: 2 }, headers: csrf })).status).toBe(200);
    await remember();

    expect((await call('/nowhere')).status).toBe(404);
    expect((await call('/api/x', { method: 'POST', json: {}, csrf: false })).status).toBe(403);
    const latest = await remember();
    await stack.op.revokeGrantOf(latest!.refreshToken!);
    clock.advance(6 * MINUTE);
    expect((await call('/api/after-revocation')).status).toBe(401);

    expect(tokens.size).toBeGreaterThanOrEqual(8);
    expect(stack.op.stats.refreshGrants).toBe(3);

    // 1. Nothing the browser received.
    for (const response of responses) {
      const received = `${JSON.stringify(response.headers)}\n${response.text}`;
      for (const token of tokens) expect(received.includes(token), response.url).toBe(false);
    }
    // 2. No log line.
    const logged = stack.logLines.join('\n');
    expect(logged.length).toBeGreaterThan(0);
    for (const token of tokens) expect(logged.includes(token)).toBe(false);
    // 3. No plaintext in Redis: every key and every value.
    clock.set(Date.now());
    const again = await stack.login();
    const live = await storedTokens(stack, again);
    for (const token of [live?.accessToken, live?.refreshToken, live?.idToken]) if (token) tokens.add(token);
    const dump = await dumpRedis(stack.redis!.url);
    expect(dump.size).toBeGreaterThan(0);
    const stored = [...dump].map(([key, values]) => `${key}\n${values.join('\n')}`).join('\n');
    expect(stored).toContain('v1.k1.');
    for (const token of tokens) expect(stored.includes(token)).toBe(false);
  });
});
