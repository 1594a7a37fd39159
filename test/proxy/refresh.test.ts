import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { manualClock } from '../tokens/fixture.ts';
import { startGatewayStack, type GatewayStack } from '../support/gateway.ts';
import { storedTokens } from './session-tokens.ts';

/**
 * Proactive refresh through the gateway, counted at the real provider. Access tokens live 10
 * minutes, the buffer is the default 5 minutes, so the refresh window opens at 5 minutes (half
 * the lifetime). The gateway's clock is moved by hand; the provider keeps real time.
 */

const MINUTE = 60_000;
const clock = manualClock();
let stack: GatewayStack;

beforeAll(async () => {
  stack = await startGatewayStack({
    accessTokenTtl: 600,
    now: clock.now,
    routes: ({ api }) => [
      { prefix: '/api', upstream: api },
      { prefix: '/s', upstream: api, stripPrefix: true },
    ],
  });
});

afterAll(async () => {
  await stack?.close();
});

beforeEach(() => {
  clock.set(Date.now());
  stack.op.resetStats();
  stack.api.requests.length = 0;
  stack.logLines.length = 0;
});

describe('proactive refresh', () => {
  it('before the window no refresh happens', async () => {
    const browser = await stack.login();
    const login = await storedTokens(stack, browser);
    clock.advance(5 * MINUTE - 2_000);
    const responses = await Promise.all(Array.from({ length: 10 }, () => browser.request(`${stack.url}/api/me`)));
    expect(responses.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(stack.op.stats.refreshGrants).toBe(0);
    expect((await storedTokens(stack, browser))?.accessToken).toBe(login?.accessToken);
  });

  it('inside the window with time left, concurrent requests use the current token and one background refresh replaces it', async () => {
    const browser = await stack.login();
    const login = await storedTokens(stack, browser);
    clock.advance(5 * MINUTE + 1_000);
    const responses = await Promise.all(Array.from({ length: 25 }, () => browser.request(`${stack.url}/api/me`)));
    expect(responses.map((r) => r.status)).toEqual(Array(25).fill(200));
    await expect.poll(async () => (await storedTokens(stack, browser))?.ver, { timeout: 5_000 }).toBe(2);
    expect(stack.op.stats.refreshGrants).toBe(1);
    expect(stack.op.stats.refreshReuse).toBe(0);
    expect((await storedTokens(stack, browser))?.refreshToken).not.toBe(login?.refreshToken);
    // No request waited for the refresh: each used the stored token (the ones that came after the
    // background refresh had landed used the new one).
    const outcomes = stack.logLines.map((line) => JSON.parse(line) as { refreshOutcome?: string }).filter((r) => r.refreshOutcome !== undefined);
    expect(outcomes).toHaveLength(25);
    expect(outcomes.every((r) => r.refreshOutcome === 'background' || r.refreshOutcome === 'none')).toBe(true);
    expect(outcomes.some((r) => r.refreshOutcome === 'background')).toBe(true);
  });

  it('within the expiry margin exactly one refresh happens for concurrent requests, and the upstream accepts the new token', async () => {
    const browser = await stack.login();
    const login = await storedTokens(stack, browser);
    clock.advance(10 * MINUTE - 5_000);
    const responses = await Promise.all(Array.from({ length: 25 }, () => browser.request(`${stack.url}/api/me`)));
    expect(responses.map((r) => r.status)).toEqual(Array(25).fill(200));
    expect(stack.op.stats.refreshGrants).toBe(1);
    expect(stack.op.stats.refreshReuse).toBe(0);
    const now = await storedTokens(stack, browser);
    expect(now?.ver).toBe(2);
    expect(now?.accessToken).not.toBe(login?.accessToken);
    expect(now?.refreshToken).not.toBe(login?.refreshToken);
    const outcomes = stack.logLines.map((line) => JSON.parse(line) as { refreshOutcome?: string }).filter((r) => r.refreshOutcome !== undefined);
    expect(outcomes.filter((r) => r.refreshOutcome === 'success')).toHaveLength(1);
  });

  it('after the refresh, requests inside the new token’s lifetime do not refresh again', async () => {
    const browser = await stack.login();
    clock.advance(10 * MINUTE - 5_000);
    expect((await browser.request(`${stack.url}/api/me`)).status).toBe(200);
    clock.advance(2 * MINUTE);
    expect((await browser.request(`${stack.url}/api/me`)).status).toBe(200);
    expect(stack.op.stats.refreshGrants).toBe(1);
  });
});

describe('stale write-back', () => {
  it('a slow request that began before a refresh does not bring back the old refresh token', async () => {
    const browser = await stack.login();
    const login = await storedTokens(stack, browser);
    const slow = browser.request(`${stack.url}/s/slow?ms=600`);
    await expect.poll(() => stack.api.requests.some((r) => r.path === '/slow'), { timeout: 2_000 }).toBe(true);

    // Within the expiry margin, so this request waits for the refresh.
    clock.advance(10 * MINUTE - 5_000);
    expect((await browser.request(`${stack.url}/api/me`)).status).toBe(200);
    const refreshed = await storedTokens(stack, browser);
    expect(refreshed?.ver).toBe(2);
    expect(refreshed?.refreshToken).not.toBe(login?.refreshToken);

    expect((await slow).status).toBe(200);
    expect(await storedTokens(stack, browser)).toEqual(refreshed);

    // The next refresh presents the rotated token: the provider sees no reuse.
    clock.advance(10 * MINUTE - 5_000);
    expect((await browser.request(`${stack.url}/api/me`)).status).toBe(200);
    expect(stack.op.stats.refreshGrants).toBe(2);
    expect(stack.op.stats.refreshReuse).toBe(0);
    expect(stack.op.stats.refreshErrors).toBe(0);
    expect((await storedTokens(stack, browser))?.ver).toBe(3);
  });
});
