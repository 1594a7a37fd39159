import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startGatewayStack, type GatewayStack } from '../support/gateway.ts';
import type { LoginResult } from '../support/login.ts';
import { rawRequest } from './raw-request.ts';
import { startTestUpstream, type TestUpstream } from './upstream.ts';

/**
 * CSRF on proxied routes (security audit item 2, RFC 10017 §6.1.3.3.2): the CSRF header on every
 * method by default, a foreign Origin refused on every method, page navigations exempt only on
 * routes marked `page`. What the upstream receives is what is asserted.
 */

let stack: GatewayStack;
let upstream: TestUpstream;
let browser: LoginResult;
const EVIL = 'https://evil.example';

beforeAll(async () => {
  upstream = await startTestUpstream({ sessionCookie: 'tg_session' });
  stack = await startGatewayStack({
    routes: () => [
      { prefix: '/api', upstream: upstream.url },
      { prefix: '/legacy', upstream: upstream.url, csrf: 'unsafe' },
      { prefix: '/app', upstream: upstream.url, page: true },
    ],
  });
  browser = await stack.login();
});

afterAll(async () => {
  await stack?.close();
  await upstream?.close();
});

beforeEach(() => {
  upstream.seen.length = 0;
});

describe('an API route (csrf: all, the default)', () => {
  it.each(['GET', 'HEAD', 'OPTIONS', 'POST', 'DELETE'])('%s without the CSRF header is 403 CSRF_REJECTED and reaches nothing', async (method) => {
    const res = await browser.request(`${stack.url}/api/me`, { method, csrf: false });
    expect(res.status).toBe(403);
    if (method !== 'HEAD') expect(res.json()).toMatchObject({ code: 'CSRF_REJECTED' });
    expect(upstream.seen).toEqual([]);
  });

  it('a cross-site GET (foreign Origin, no header) never reaches the upstream with the bearer', async () => {
    const res = await browser.request(`${stack.url}/api/me`, { csrf: false, headers: { origin: EVIL } });
    expect(res.status).toBe(403);
    expect(upstream.seen).toEqual([]);
  });

  it('a foreign Origin is refused even with the header, on GET as on POST', async () => {
    for (const method of ['GET', 'POST']) {
      expect((await browser.request(`${stack.url}/api/me`, { method, headers: { origin: EVIL } })).status).toBe(403);
    }
    expect(upstream.seen).toEqual([]);
  });

  it('a GET with the header (and the public origin) reaches the upstream with the bearer', async () => {
    const res = await browser.request(`${stack.url}/api/me`, { headers: { origin: stack.config.publicOrigin } });
    expect(res.status).toBe(200);
    expect(upstream.seen).toHaveLength(1);
    expect(String(upstream.seen[0]!.headers.authorization)).toMatch(/^Bearer /);
  });

  it('a page navigation is no exemption on a route that is not a page', async () => {
    expect((await browser.request(`${stack.url}/api/me`, { csrf: false, headers: { 'sec-fetch-mode': 'navigate' } })).status).toBe(403);
    expect(upstream.seen).toEqual([]);
  });
});

describe('a route with csrf: unsafe', () => {
  it('lets a safe method through without the header, but never from a foreign Origin', async () => {
    expect((await browser.request(`${stack.url}/legacy/x`, { csrf: false })).status).toBe(200);
    expect((await browser.request(`${stack.url}/legacy/x`, { csrf: false, headers: { origin: EVIL } })).status).toBe(403);
    expect((await browser.request(`${stack.url}/legacy/x`, { method: 'POST', csrf: false })).status).toBe(403);
    expect(upstream.seen.map((seen) => seen.method)).toEqual(['GET']);
  });
});

describe('a page route (page: true)', () => {
  it('a GET or HEAD navigation needs no header; a fetch, a POST navigation or a foreign Origin does not pass', async () => {
    expect((await browser.request(`${stack.url}/app/inbox`, { csrf: false, headers: { 'sec-fetch-mode': 'navigate' } })).status).toBe(200);
    expect((await browser.request(`${stack.url}/app/inbox`, { method: 'HEAD', csrf: false, headers: { 'sec-fetch-mode': 'navigate' } })).status).toBe(200);
    expect((await browser.request(`${stack.url}/app/inbox`, { csrf: false, headers: { 'sec-fetch-mode': 'cors' } })).status).toBe(403);
    expect((await browser.request(`${stack.url}/app/inbox`, { method: 'POST', csrf: false, headers: { 'sec-fetch-mode': 'navigate' } })).status).toBe(403);
    expect((await browser.request(`${stack.url}/app/inbox`, { method: 'POST', csrf: false, headers: { 'sec-fetch-mode': 'navigate', origin: EVIL } })).status).toBe(403);
    expect(upstream.seen.map((seen) => seen.method)).toEqual(['GET', 'HEAD']);
  });
});

describe('WebSocket handshakes', () => {
  it('need no CSRF header (browsers cannot set one) but keep the Origin check', async () => {
    const cookie = await browser.jar.getCookieString(stack.url);
    expect((await rawRequest(stack.url, '/api/ws', { cookie, origin: stack.config.publicOrigin }, { upgrade: true })).status).toBe(101);
    expect((await rawRequest(stack.url, '/api/ws', { cookie, origin: EVIL }, { upgrade: true })).status).toBe(403);
    expect(upstream.seen.map((seen) => seen.url)).toEqual(['/api/ws']);
  });
});
