import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startGatewayStack, type GatewayStack } from '../support/gateway.ts';
import type { LoginResult } from '../support/login.ts';
import { startTestUpstream, type TestUpstream } from './upstream.ts';

/**
 * Client headers that upstreams trust as if an edge had set them (security audit item 4,
 * RFC 9700 §4.13) never reach an upstream as the client sent them; the configured extra strip
 * lists (global and per route) apply too. Asserted on the headers the upstream received.
 */

const FORWARD_AUTH_SECRET = 'shared-secret-of-the-ingress-0123456789';
let stack: GatewayStack;
let upstream: TestUpstream;
let browser: LoginResult;

beforeAll(async () => {
  upstream = await startTestUpstream({ sessionCookie: 'tg_session' });
  stack = await startGatewayStack({
    proxy: { stripHeaders: ['X-Tenant', 'x-internal-*'] },
    forwardAuth: { enabled: true, sharedSecret: FORWARD_AUTH_SECRET, secretHeader: 'X-Verify-Secret' },
    routes: () => [
      { prefix: '/api', upstream: upstream.url },
      { prefix: '/strict', upstream: upstream.url, stripHeaders: ['x-debug'] },
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

const SPOOFED: Record<string, string> = {
  'x-real-ip': '6.6.6.6',
  'true-client-ip': '6.6.6.6',
  'x-original-url': '/admin',
  'x-rewrite-url': '/admin',
  'x-original-uri': '/admin',
  'x-original-method': 'DELETE',
  'x-http-method-override': 'DELETE',
  'x-http-method': 'DELETE',
  'x-method-override': 'DELETE',
  'x-client-cert': 'forged',
  'client-cert': ':Zm9yZ2Vk:',
  'client-cert-chain': ':Zm9yZ2Vk:',
  'x-forwarded-client-cert': 'By=spiffe://forged',
  'x-auth-request-user': 'admin',
  'x-auth-request-email': 'admin@example.com',
  'x-auth-request-groups': 'admins',
  'x-remote-user': 'admin',
  'x-ssl-client-verify': 'SUCCESS',
};

describe('client headers an upstream might trust', () => {
  it('none of them reach the upstream; X-Real-IP is the socket address the gateway saw', async () => {
    const res = await browser.request(`${stack.url}/api/echo`, { headers: { ...SPOOFED, 'x-app': 'kept' } });
    expect(res.status).toBe(200);
    const [seen] = upstream.seen;
    for (const name of Object.keys(SPOOFED).filter((name) => name !== 'x-real-ip')) expect(seen!.headers[name], name).toBeUndefined();
    expect(seen!.headers['x-real-ip']).toBe('127.0.0.1');
    expect(seen!.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen!.headers['x-app']).toBe('kept');
  });

  it('the same on a WebSocket handshake', async () => {
    const { rawRequest } = await import('./raw-request.ts');
    const cookie = await browser.jar.getCookieString(stack.url);
    expect((await rawRequest(stack.url, '/api/ws', { cookie, ...SPOOFED }, { upgrade: true })).status).toBe(101);
    const [seen] = upstream.seen;
    for (const name of Object.keys(SPOOFED).filter((name) => name !== 'x-real-ip')) expect(seen!.headers[name], name).toBeUndefined();
    expect(seen!.headers['x-real-ip']).toBe('127.0.0.1');
  });

  it('the configured lists strip more: proxy.stripHeaders everywhere (names and prefixes), a route\'s own on that route', async () => {
    const extra = { 'x-tenant': 'other', 'x-internal-role': 'root', 'x-debug': '1' };
    expect((await browser.request(`${stack.url}/api/echo`, { headers: extra })).status).toBe(200);
    expect((await browser.request(`${stack.url}/strict/echo`, { headers: extra })).status).toBe(200);
    const [api, strict] = upstream.seen;
    expect(api!.headers).toMatchObject({ 'x-debug': '1' });
    expect(api!.headers['x-tenant']).toBeUndefined();
    expect(api!.headers['x-internal-role']).toBeUndefined();
    expect(strict!.headers['x-debug']).toBeUndefined();
    expect(strict!.headers['x-tenant']).toBeUndefined();
  });
});

describe('the forward-auth shared secret', () => {
  it('never reaches an upstream, even when an ingress adds it to every request', async () => {
    const res = await browser.request(`${stack.url}/api/echo`, { headers: { 'x-verify-secret': FORWARD_AUTH_SECRET } });
    expect(res.status).toBe(200);
    expect(upstream.seen).toHaveLength(1);
    expect(upstream.seen[0]!.headers).not.toHaveProperty('x-verify-secret');
    expect(JSON.stringify(upstream.seen[0]!.headers)).not.toContain(FORWARD_AUTH_SECRET);
  });
});
