import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RefreshOutcome } from '../../src/tokens/types.ts';
import { startGatewayStack, type GatewayStack } from '../support/gateway.ts';
import type { LoginResult } from '../support/login.ts';
import { manualClock } from '../tokens/fixture.ts';
import { sidOf, storedTokens } from './session-tokens.ts';

/**
 * Each way a request's token can fail has its own outcome, in the request's access line and, when
 * a refresh ran, in `tokengate_refresh_total{outcome}`. Real provider, real sample API, the
 * gateway's clock moved by hand (access tokens live 10 minutes).
 */

const MINUTE = 60_000;
const INGRESS_SECRET = 'ingress-secret-0123456789abcdef0123';
const clock = manualClock();
let stack: GatewayStack;

beforeAll(async () => {
  stack = await startGatewayStack({
    accessTokenTtl: 600,
    now: clock.now,
    extraProviders: [{ id: 'github', type: 'github', clientId: 'gh-client', clientSecret: 'gh-secret-value' }],
    forwardAuth: { enabled: true, sharedSecret: INGRESS_SECRET },
    routes: ({ api }) => [
      { prefix: '/api', upstream: api },
      { prefix: '/gh', upstream: api, provider: 'github' },
    ],
  });
});

afterAll(async () => {
  await stack?.close();
});

beforeEach(() => {
  clock.set(Date.now());
  stack.op.resetStats();
  stack.op.setTokenEndpointDelay(0);
  stack.logLines.length = 0;
});

const gateway = () => stack.instances[0]!.gateway;

/** The refresh outcomes in the access lines of proxied routes (or of another route label), in order. */
function accessOutcomes(route: (label: string) => boolean = (label) => label.startsWith('/')): Array<RefreshOutcome | undefined> {
  return stack.logLines
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((record) => record['msg'] === 'request' && route(String(record['route'])))
    .map((record) => record['refreshOutcome'] as RefreshOutcome | undefined);
}

/** `tokengate_refresh_total` by outcome, as /metrics shows it. */
async function refreshCounts(): Promise<Record<string, number>> {
  const { body } = await gateway().metrics.render();
  const counts: Record<string, number> = {};
  for (const match of body.matchAll(/^tokengate_refresh_total\{outcome="([a-z_]+)"\} (\d+)$/gm)) counts[match[1]!] = Number(match[2]);
  return counts;
}

/** Counts added since `before`. */
async function refreshesSince(before: Record<string, number>): Promise<Record<string, number>> {
  const after = await refreshCounts();
  return Object.fromEntries(Object.entries(after).filter(([outcome, count]) => count !== (before[outcome] ?? 0)).map(([outcome, count]) => [outcome, count - (before[outcome] ?? 0)]));
}

async function request(browser: LoginResult, path = '/api/me') {
  return browser.request(`${stack.url}${path}`);
}

describe('refresh outcomes of a proxied request', () => {
  it('a route bound to another provider, with none linked, is provider_mismatch: 403 PROVIDER_NOT_LINKED, no refresh counted', async () => {
    const browser = await stack.login();
    const before = await refreshCounts();
    const answer = await request(browser, '/gh/user');
    expect(answer.status).toBe(403);
    expect(answer.json()).toMatchObject({ code: 'PROVIDER_NOT_LINKED' });
    expect(accessOutcomes()).toEqual(['provider_mismatch']);
    expect(await refreshesSince(before)).toEqual({});
  });

  it('a session whose token set is gone is no_token_set: 401, nothing sent to the provider', async () => {
    const browser = await stack.login();
    await gateway().store.deleteTokens(await sidOf(browser, stack));
    const before = await refreshCounts();
    stack.logLines.length = 0;
    expect((await request(browser)).status).toBe(401);
    expect(accessOutcomes()).toEqual(['no_token_set']);
    expect(await refreshesSince(before)).toEqual({});
    expect(stack.op.stats.refreshGrants + stack.op.stats.refreshErrors).toBe(0);
  });

  it('an expired token without a refresh token is no_refresh_token: 401, nothing sent to the provider', async () => {
    const browser = await stack.login();
    const sid = await sidOf(browser, stack);
    const { ver, refreshToken: _dropped, ...rest } = (await gateway().store.getTokens(sid))!;
    expect((await gateway().store.compareAndSetTokens(sid, ver, rest)).ok).toBe(true);
    clock.advance(11 * MINUTE);
    const before = await refreshCounts();
    stack.logLines.length = 0;
    expect((await request(browser)).status).toBe(401);
    expect(accessOutcomes()).toEqual(['no_refresh_token']);
    expect(await refreshesSince(before)).toEqual({});
    expect(stack.op.stats.refreshGrants + stack.op.stats.refreshErrors).toBe(0);
  });

  it('a grant the provider revoked is invalid_grant: 401, counted once', async () => {
    const browser = await stack.login();
    expect(await stack.op.revokeGrantOf((await storedTokens(stack, browser))!.refreshToken!)).toBe(true);
    clock.advance(11 * MINUTE);
    const before = await refreshCounts();
    stack.logLines.length = 0;
    expect((await request(browser)).status).toBe(401);
    expect(accessOutcomes()).toEqual(['invalid_grant']);
    expect(await refreshesSince(before)).toEqual({ invalid_grant: 1 });
  });

  it('a refresh token written elsewhere during the refresh is reuse_detected: 401, counted once', async () => {
    const browser = await stack.login();
    const sid = await sidOf(browser, stack);
    const { store, keyring } = gateway();
    clock.advance(11 * MINUTE);
    stack.op.setTokenEndpointDelay(300);
    const before = await refreshCounts();
    stack.logLines.length = 0;
    const answer = request(browser);
    // Once the refresh holds the lock it has read the token set and sent the refresh token.
    await expect
      .poll(
        async () => {
          const free = await store.acquireLock(sid, 'probe', 50);
          if (free) await store.releaseLock(sid, 'probe');
          return free;
        },
        { timeout: 5_000, interval: 5 },
      )
      .toBe(false);
    const { ver, ...rest } = (await store.getTokens(sid))!;
    rest.refreshToken = keyring.seal('refresh-token-from-elsewhere', sid, 'refresh');
    expect((await store.compareAndSetTokens(sid, ver, rest)).ok).toBe(true);
    expect((await answer).status).toBe(401);
    expect(accessOutcomes()).toEqual(['reuse_detected']);
    expect(await refreshesSince(before)).toEqual({ reuse_detected: 1 });
  });

  it('a provider failing with 503 is transient: 503 for an expired token, counted once, the session stays', async () => {
    const browser = await stack.login();
    clock.advance(11 * MINUTE);
    stack.op.failTokenRequests(1, 503);
    const before = await refreshCounts();
    stack.logLines.length = 0;
    expect((await request(browser)).status).toBe(503);
    expect(accessOutcomes()).toEqual(['transient']);
    expect(await refreshesSince(before)).toEqual({ transient: 1 });
    expect(await storedTokens(stack, browser)).not.toBeNull();
  });
});

describe('refresh outcomes of a forward-auth verify', () => {
  const verify = (browser: LoginResult) =>
    browser.request(`${stack.url}/auth/verify`, { headers: { 'x-csrf': '1', 'x-tokengate-forward-auth': INGRESS_SECRET, 'x-forwarded-method': 'GET', 'x-forwarded-uri': '/inbox' } });
  const verifyOutcomes = () => accessOutcomes((label) => label === 'forward_auth.verify');

  it('a session whose token set is gone is no_token_set', async () => {
    const browser = await stack.login();
    await gateway().store.deleteTokens(await sidOf(browser, stack));
    stack.logLines.length = 0;
    expect((await verify(browser)).status).toBe(401);
    expect(verifyOutcomes()).toEqual(['no_token_set']);
  });

  it('a grant the provider revoked is invalid_grant, counted once', async () => {
    const browser = await stack.login();
    expect(await stack.op.revokeGrantOf((await storedTokens(stack, browser))!.refreshToken!)).toBe(true);
    clock.advance(11 * MINUTE);
    const before = await refreshCounts();
    stack.logLines.length = 0;
    expect((await verify(browser)).status).toBe(401);
    expect(verifyOutcomes()).toEqual(['invalid_grant']);
    expect(await refreshesSince(before)).toEqual({ invalid_grant: 1 });
  });
});
