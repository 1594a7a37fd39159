import { request } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { freePort } from '../support/ports.ts';
import { startGatewayStack, type GatewayStack } from '../support/gateway.ts';
import type { LoginResult } from '../support/login.ts';
import { startTestUpstream, type TestUpstream } from './upstream.ts';

/**
 * Forwarding through a real gateway (createGateway, memory store) to real upstreams: the sample
 * API, which accepts only bearer tokens the real OpenID Provider introspects as active, and a
 * small transport-test upstream. The browser is a cookie-jar client logged in through the
 * provider's own forms.
 */

let stack: GatewayStack;
let upstream: TestUpstream;
let browser: LoginResult;

beforeAll(async () => {
  upstream = await startTestUpstream({ sessionCookie: 'tg_session' });
  const deadPort = await freePort();
  stack = await startGatewayStack({
    routes: ({ api }) => [
      { prefix: '/api', upstream: api },
      { prefix: '/public', upstream: api, auth: 'public', stripPrefix: true },
      { prefix: '/optional', upstream: api, auth: 'optional', stripPrefix: true },
      { prefix: '/slow', upstream: api, stripPrefix: true, timeout: '300ms' },
      { prefix: '/t', upstream: `${upstream.url}/base`, stripPrefix: true, timeout: '5s' },
      { prefix: '/down', upstream: `http://127.0.0.1:${deadPort}` },
    ],
  });
  browser = await stack.login();
  await browser.jar.setCookie('theme=dark; Path=/', stack.url);
});

afterAll(async () => {
  await stack?.close();
  await upstream?.close();
});

beforeEach(() => {
  stack.api.requests.length = 0;
  upstream.seen.length = 0;
});

describe('what reaches the upstream', () => {
  it('the bearer token, never the session cookie, the CSRF header or a client-supplied Authorization', async () => {
    const res = await browser.request(`${stack.url}/api/things?q=1`, {
      method: 'POST',
      json: { hello: 'world' },
      headers: { 'x-csrf': '1', origin: stack.config.publicOrigin, authorization: 'Bearer client-made-this-up' },
    });
    expect(res.status).toBe(200);
    expect(res.json<{ sub: string; path: string }>()).toMatchObject({ sub: 'demo-user', path: '/api/things' });
    const [seen] = stack.api.requests;
    expect(seen).toMatchObject({ hadAuthorization: true, hadCsrf: false, sub: 'demo-user', status: 200 });
    expect(seen!.cookieNames).toContain('theme');
    expect(seen!.cookieNames.some((name) => name.startsWith('tg_session'))).toBe(false);
  });

  it('other cookies are kept, forwarding headers are set, hop-by-hop headers are not passed on', async () => {
    const res = await browser.request(`${stack.url}/t/echo`, {
      headers: { 'x-forwarded-for': '6.6.6.6', connection: 'keep-alive, x-hop', 'x-hop': 'secret', 'x-app': 'kept' },
    });
    expect(res.status).toBe(200);
    const [seen] = upstream.seen;
    expect(seen!.url).toBe('/base/echo');
    expect(String(seen!.headers.cookie)).toContain('theme=dark');
    expect(String(seen!.headers.cookie)).not.toMatch(/tg_session/);
    expect(seen!.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen!.headers['x-forwarded-proto']).toBe('http');
    expect(seen!.headers['x-forwarded-host']).toBe(new URL(stack.config.publicOrigin).host);
    expect(seen!.headers['x-hop']).toBeUndefined();
    expect(seen!.headers['x-app']).toBe('kept');
    expect(String(seen!.headers.authorization)).toMatch(/^Bearer \S+$/);
  });

  it('the upstream cannot overwrite the gateway session cookie', async () => {
    const res = await browser.request(`${stack.url}/t/set-cookie`);
    expect(res.status).toBe(200);
    expect(res.setCookies).toEqual(['upstream_pref=1; Path=/']);
  });
});

describe('routes and auth policies', () => {
  it('a path no route matches is 404 JSON and nothing is forwarded', async () => {
    for (const path of ['/nowhere', '/apiary', '/']) {
      const res = await browser.request(`${stack.url}${path}`);
      expect(res.status).toBe(404);
      expect(res.json()).toMatchObject({ code: 'NOT_FOUND' });
    }
    expect(stack.api.requests).toHaveLength(0);
    expect(upstream.seen).toHaveLength(0);
  });

  it('a public route never attaches a token (the API sees an anonymous request)', async () => {
    const res = await browser.request(`${stack.url}/public/hello`);
    expect(res.status).toBe(401);
    expect(stack.api.requests[0]).toMatchObject({ path: '/hello', hadAuthorization: false });
    expect(stack.api.requests[0]!.cookieNames.some((name) => name.startsWith('tg_session'))).toBe(false);
  });

  it('an optional route attaches the token when logged in, and forwards anonymously otherwise', async () => {
    expect((await browser.request(`${stack.url}/optional/me`)).status).toBe(200);
    const anonymous = await fetch(`${stack.url}/optional/me`, { headers: { 'x-csrf': '1' } });
    expect(anonymous.status).toBe(401);
    expect(stack.api.requests.map((r) => r.hadAuthorization)).toEqual([true, false]);
  });

  it('a required route without a session is 401 SESSION_EXPIRED and is not forwarded', async () => {
    const res = await fetch(`${stack.url}/api/me`, { headers: { 'x-csrf': '1' } });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ code: 'SESSION_EXPIRED' });
    expect(stack.api.requests).toHaveLength(0);
  });
});

describe('CSRF on proxied routes', () => {
  it('a POST without the CSRF header is 403 CSRF_REJECTED and nothing is forwarded', async () => {
    const res = await browser.request(`${stack.url}/api/things`, { method: 'POST', json: { a: 1 }, csrf: false });
    expect(res.status).toBe(403);
    expect(res.json()).toMatchObject({ code: 'CSRF_REJECTED' });
    expect(stack.api.requests).toHaveLength(0);
  });

  it('a POST from a foreign Origin is 403 even with the header', async () => {
    const res = await browser.request(`${stack.url}/api/things`, { method: 'DELETE', headers: { 'x-csrf': '1', origin: 'https://evil.example' } });
    expect(res.status).toBe(403);
    expect(stack.api.requests).toHaveLength(0);
  });
});

describe('upstream failures', () => {
  it('an upstream that is down is 502 UPSTREAM_UNAVAILABLE JSON', async () => {
    const res = await browser.request(`${stack.url}/down/x`);
    expect(res.status).toBe(502);
    expect(res.json()).toEqual({ error: expect.any(String), code: 'UPSTREAM_UNAVAILABLE' });
  });

  it('an upstream slower than the route timeout is 504 JSON', async () => {
    const started = performance.now();
    const res = await browser.request(`${stack.url}/slow/slow?ms=3000`);
    expect(res.status).toBe(504);
    expect(res.json()).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('a client that disconnects closes the upstream request too', async () => {
    const cookie = await browser.jar.getCookieString(stack.url);
    await new Promise<void>((resolve) => {
      const req = request(`${stack.url}/t/hang`, { headers: { cookie, 'x-csrf': '1' }, agent: false });
      req.on('error', () => resolve());
      req.end();
      const poll = setInterval(() => {
        if (upstream.seen.length > 0) {
          clearInterval(poll);
          req.destroy();
        }
      }, 10);
    });
    await expect.poll(() => upstream.hangClosed, { timeout: 2_000 }).toBe(1);
  });
});

describe('streaming', () => {
  it('server-sent events reach the client as they are sent, not when the stream ends', async () => {
    const cookie = await browser.jar.getCookieString(stack.url);
    const res = await fetch(`${stack.url}/t/stream`, { headers: { cookie, 'x-csrf': '1' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(Buffer.from(first.value!).toString()).toBe('data: first\n\n');
    upstream.release();
    let rest = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += Buffer.from(value).toString();
    }
    expect(rest).toBe('data: second\n\n');
  });

  it('the sample API event stream arrives whole', async () => {
    const res = await browser.request(`${stack.url}/optional/events`);
    expect(res.status).toBe(200);
    expect(res.text.match(/^event: tick$/gm)).toHaveLength(3);
  });
});
