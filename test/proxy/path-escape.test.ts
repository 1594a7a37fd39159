import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startGatewayStack, type GatewayStack } from '../support/gateway.ts';
import type { LoginResult } from '../support/login.ts';
import { rawRequest } from './raw-request.ts';
import { startTestUpstream, type TestUpstream } from './upstream.ts';

/**
 * A request cannot leave its route (security audit item 1). Every attack target goes to a
 * running gateway byte for byte over TCP; the upstream records the raw `req.url` it got. Each
 * case either answers 400 with nothing received upstream, or the upstream received exactly the
 * expected path under the route's base, with the query as sent. Plain HTTP and WebSocket
 * handshakes, an authenticated and a public route.
 */

let stack: GatewayStack;
let upstream: TestUpstream;
let browser: LoginResult;
let cookie: string;

beforeAll(async () => {
  upstream = await startTestUpstream({ sessionCookie: 'tg_session' });
  stack = await startGatewayStack({
    routes: () => [
      { prefix: '/api', upstream: `${upstream.url}/base`, stripPrefix: true },
      { prefix: '/pub', upstream: `${upstream.url}/base`, stripPrefix: true, auth: 'public' },
      { prefix: '/keep', upstream: `${upstream.url}/base/` },
    ],
  });
  browser = await stack.login();
  cookie = await browser.jar.getCookieString(stack.url);
});

afterAll(async () => {
  await stack?.close();
  await upstream?.close();
});

beforeEach(() => {
  upstream.seen.length = 0;
});

const REFUSED = [
  '/api/..\\admin',
  '/api/..\\..\\..\\etc\\passwd',
  '/api/x\\..\\..\\admin',
  '/api\\..\\admin',
  '/api/.\\./admin',
  '/api/%2e%2e/admin',
  '/api/%2E%2E/admin',
  '/api/.%2e/admin',
  '/api/%2E./admin',
  '/api/%2e/admin',
  '/api/x/..',
  '/api/x/%2e%2e%2fadmin',
  '/api/x%2F..%2F..%2Fadmin',
  '/api/x%5c..%5cadmin',
  '/api/x%5C..%5Cadmin',
  '/api/a%2fb',
  '/api/..%5c..%5cadmin',
  '/api/%2e%2e%5cadmin',
  '/api/.%2E/%2e./admin',
  '/api/x/%2e%2e/%2e%2e/admin',
  // Servlet containers drop `;params` from each segment before resolving dot segments.
  '/api/..;/admin',
  '/api/.;/admin',
  '/api/..;x=1/admin',
  '/api/%2e%2e;x/admin',
  '/api/..%3b/admin',
  '/api/x/..;',
  // A request target has no fragment: upstreams drop `#…` from the path, the route table does not.
  '/api/x#frag',
  '/api#/admin',
];

const FORWARDED: Array<[target: string, received: string]> = [
  ['/api/users/7', '/base/users/7'],
  ['/api', '/base'],
  ['/api/', '/base/'],
  ['/api//admin', '/base//admin'],
  ['/api/a%20b/c', '/base/a%20b/c'],
  ['/api/%252e%252e/admin', '/base/%252e%252e/admin'],
  ['/api/a;v=1/b', '/base/a;v=1/b'],
  ['/api/...;/x', '/base/...;/x'],
  ['/api/x.y/...', '/base/x.y/...'],
  ['/api/q?next=..\\admin&r=%2e%2e%2f&s=a/../b', '/base/q?next=..\\admin&r=%2e%2e%2f&s=a/../b'],
  ['/api/q?a=1&a=2&&b', '/base/q?a=1&a=2&&b'],
  ['/keep/x', '/base/keep/x'],
];

for (const [label, prefix, authed] of [
  ['an authenticated route', '/api', true],
  ['a public route', '/pub', false],
] as const) {
  describe(`the path the upstream receives, on ${label}`, () => {
    const headers = () => ({ 'x-csrf': '1', ...(authed ? { cookie } : {}) });
    const refused = REFUSED.map((target) => target.replace(/^\/api/, prefix));
    const forwarded = FORWARDED.filter(([target]) => target.startsWith('/api')).map(([target, received]) => [target.replace(/^\/api/, prefix), received] as const);

    it.each(refused)('HTTP %s answers 400 BAD_REQUEST and reaches nothing', async (target) => {
      const res = await rawRequest(stack.url, target, headers());
      expect(res.status).toBe(400);
      expect(res.body).toContain('BAD_REQUEST');
      expect(upstream.seen).toEqual([]);
    });

    it.each(forwarded)('HTTP %s reaches the upstream as exactly %s', async (target, received) => {
      const res = await rawRequest(stack.url, target, headers());
      expect(res.status).toBe(200);
      expect(upstream.seen.map((seen) => seen.url)).toEqual([received]);
      if (authed) expect(String(upstream.seen[0]!.headers.authorization)).toMatch(/^Bearer /);
    });

    it.each(refused)('WebSocket %s answers 400 and reaches nothing', async (target) => {
      const res = await rawRequest(stack.url, target, headers(), { upgrade: true });
      expect(res.status).toBe(400);
      expect(upstream.seen).toEqual([]);
    });

    it.each(forwarded)('WebSocket %s reaches the upstream as exactly %s', async (target, received) => {
      const res = await rawRequest(stack.url, target, headers(), { upgrade: true });
      expect(res.status).toBe(101);
      expect(upstream.seen.map((seen) => seen.url)).toEqual([received]);
    });
  });
}

describe('a route without stripPrefix', () => {
  it('keeps its whole path under the base, and refuses a backslash the same way', async () => {
    expect((await rawRequest(stack.url, '/keep/a/b?x=1', { 'x-csrf': '1', cookie })).status).toBe(200);
    expect((await rawRequest(stack.url, '/keep/..\\..\\admin', { 'x-csrf': '1', cookie })).status).toBe(400);
    expect(upstream.seen.map((seen) => seen.url)).toEqual(['/base/keep/a/b?x=1']);
  });
});
