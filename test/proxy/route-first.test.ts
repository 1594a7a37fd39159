import { request } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startGatewayStack, type GatewayStack } from '../support/gateway.ts';
import { CSRF_HEADER } from '../support/http.ts';
import type { LoginResult } from '../support/login.ts';
import { rawRequest } from './raw-request.ts';
import { startTestUpstream, type TestUpstream } from './upstream.ts';

/**
 * Route first, Koa second: proxied routes are answered by the proxy's own handler, everything
 * else by the Koa app. Through a real gateway (memory store) with a catch-all `/` route to a
 * transport-test upstream, logged in through the real OpenID Provider.
 */

let stack: GatewayStack;
let upstream: TestUpstream;
let browser: LoginResult;

beforeAll(async () => {
  upstream = await startTestUpstream({ sessionCookie: 'tg_session' });
  stack = await startGatewayStack({
    routes: ({ api }) => [
      { prefix: '/api', upstream: api },
      { prefix: '/', upstream: upstream.url, auth: 'optional' },
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

describe('the gateway’s own paths', () => {
  it('a path under /auth is never forwarded, even when a route’s prefix covers it: 404 JSON', async () => {
    const res = await browser.request(`${stack.url}/auth/not-an-endpoint`);
    expect(res.status).toBe(404);
    expect(res.json()).toEqual({ error: expect.any(String), code: 'NOT_FOUND' });
    expect(upstream.seen).toHaveLength(0);
  });

  it('a WebSocket handshake under /auth is not forwarded either, even when a route’s prefix covers it: 404', async () => {
    const cookie = await browser.jar.getCookieString(stack.url);
    for (const target of ['/auth/not-an-endpoint', '/auth/callback/op', '/auth?x=1']) {
      const res = await rawRequest(stack.url, target, { cookie }, { upgrade: true });
      expect(res.status).toBe(404);
      expect(JSON.parse(res.body)).toMatchObject({ code: 'NOT_FOUND' });
    }
    expect(upstream.seen).toHaveLength(0);
  });

  it('a path with `#` is 400 BAD_REQUEST: /api#x would take the / route to an upstream that reads it as /api', async () => {
    const res = await rawGet(stack.url, '/api#x');
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({ code: 'BAD_REQUEST' });
    expect(upstream.seen).toHaveLength(0);
  });

  it('a `;parameter` that would change the route is 400: /api;x/y takes the / route, a servlet upstream reads /api/y', async () => {
    for (const target of ['/api;x/y', '/api;/y', '/api%3bx/y', '/api;jsessionid=1']) {
      const res = await rawGet(stack.url, target);
      expect(res.status).toBe(400);
      expect(JSON.parse(res.body)).toMatchObject({ code: 'BAD_REQUEST' });
    }
    expect(upstream.seen).toHaveLength(0);
    // Parameters that keep the route are forwarded as sent.
    expect((await rawGet(stack.url, '/x;v=1/y')).status).toBe(200);
    expect(upstream.seen.map((seen) => seen.url)).toEqual(['/x;v=1/y']);
  });

  it('a path with a dot segment is 400 BAD_REQUEST and is not forwarded', async () => {
    // Sent as is: a WHATWG URL would resolve the dot segment before sending.
    const res = await rawGet(stack.url, '/x/%2e%2e/y');
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({ code: 'BAD_REQUEST' });
    expect(upstream.seen).toHaveLength(0);
  });
});

describe('the connection to the upstream', () => {
  it('a client that asks for Connection: close does not pass it on: the upstream sees keep-alive', async () => {
    // node:http without an agent sends `Connection: close`.
    const res = await rawGet(stack.url, '/echo');
    expect(res.status).toBe(200);
    const [seen] = upstream.seen;
    expect(seen!.headers.connection).toBe('keep-alive');
    expect(seen!.headers.host).toBe(new URL(upstream.url).host);
  });
});

describe('cookies the gateway sets on a proxied response', () => {
  it('a forged session cookie is cleared even when the upstream sets cookies of its own', async () => {
    const res = await fetch(`${stack.url}/set-cookie`, { headers: { cookie: 'tg_session=forged-value', [CSRF_HEADER.name]: CSRF_HEADER.value } });
    expect(res.status).toBe(200);
    const lines = res.headers.getSetCookie();
    expect(lines).toContain('upstream_pref=1; Path=/');
    expect(lines.filter((line) => line.startsWith('tg_session=;'))).toHaveLength(1);
    expect(lines.filter((line) => line.startsWith('tg_session.sig=;'))).toHaveLength(1);
    expect(lines.some((line) => line.startsWith('tg_session=planted'))).toBe(false);
  });
});

describe('what a proxied request records', () => {
  it('one access line with the request id it answered, route, upstream, session and refresh outcome, and one count', async () => {
    const before = await requestsCounted(stack, '/');
    const res = await browser.request(`${stack.url}/echo`, { headers: { 'x-request-id': 'route-first-1' } });
    expect(res.status).toBe(200);
    expect(res.headers['x-request-id']).toBe('route-first-1');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    await expect.poll(() => stack.logLines.filter((line) => line.includes('"route-first-1"')).length).toBe(1);
    const line = JSON.parse(stack.logLines.find((candidate) => candidate.includes('"route-first-1"'))!) as Record<string, unknown>;
    expect(line).toMatchObject({
      msg: 'request',
      requestId: 'route-first-1',
      method: 'GET',
      route: '/',
      status: 200,
      upstream: new URL(upstream.url).origin,
      session: expect.stringMatching(/^[0-9a-f]{12}$/),
      refreshOutcome: 'none',
    });
    expect(await requestsCounted(stack, '/')).toBe(before + 1);
  });
});

function rawGet(base: string, path: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, agent: false, headers: { [CSRF_HEADER.name]: CSRF_HEADER.value } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function requestsCounted(target: GatewayStack, route: string): Promise<number> {
  const { body } = await target.instances[0]!.gateway.metrics.render();
  const series = body.split('\n').find((line) => line.startsWith(`tokengate_http_requests_total{route="${route}",method="GET",status="200"}`));
  return series === undefined ? 0 : Number(series.split(' ').at(-1));
}
