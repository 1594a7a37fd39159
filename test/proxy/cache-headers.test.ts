import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheHeaders } from '../../src/proxy/cache-headers.ts';
import { startGatewayStack, type GatewayStack } from '../support/gateway.ts';
import type { LoginResult } from '../support/login.ts';
import { startTestUpstream, type TestUpstream } from './upstream.ts';

/** Authenticated responses stay out of shared caches (security audit item 5). */

describe('cacheHeaders', () => {
  it.each([
    [undefined, 'private'],
    ['public, max-age=600', 'private, max-age=600'],
    ['max-age=60, s-maxage=600, public, must-revalidate', 'private, max-age=60, must-revalidate'],
    ['private, max-age=5', 'private, max-age=5'],
    ['no-store', 'no-store'],
    ['no-cache="Set-Cookie, X-A", max-age=1', 'private, no-cache="Set-Cookie, X-A", max-age=1'],
  ])('Cache-Control %s becomes %s', (upstream, expected) => {
    expect(cacheHeaders(upstream === undefined ? {} : { 'cache-control': upstream }, 'private')['cache-control']).toBe(expected);
  });

  it.each([
    [undefined, 'Cookie'],
    ['Accept-Encoding', 'Accept-Encoding, Cookie'],
    ['cookie', 'cookie'],
    ['*', '*'],
  ])('Vary %s becomes %s', (upstream, expected) => {
    expect(cacheHeaders(upstream === undefined ? {} : { vary: upstream }, 'private').vary).toBe(expected);
  });

  it('leaves everything as it is in upstream mode', () => {
    expect(cacheHeaders({ 'cache-control': 'public, max-age=600' }, 'upstream')).toEqual({ 'cache-control': 'public, max-age=600' });
  });
});

describe('what the browser receives', () => {
  let stack: GatewayStack;
  let upstream: TestUpstream;
  let browser: LoginResult;

  beforeAll(async () => {
    upstream = await startTestUpstream({ sessionCookie: 'tg_session' });
    stack = await startGatewayStack({
      routes: () => [
        { prefix: '/api', upstream: upstream.url },
        { prefix: '/maybe', upstream: upstream.url, auth: 'optional' },
        { prefix: '/own', upstream: upstream.url, cache: 'upstream' },
        { prefix: '/static', upstream: upstream.url, auth: 'public' },
      ],
    });
    browser = await stack.login();
  });

  afterAll(async () => {
    await stack?.close();
    await upstream?.close();
  });

  const PUBLIC = `/cache?cc=${encodeURIComponent('public, max-age=600')}&vary=Accept-Encoding`;

  it('a bearer-authenticated response with Cache-Control: public arrives private, max-age kept, Vary: Cookie merged', async () => {
    const res = await browser.request(`${stack.url}/api${PUBLIC}`);
    expect(res.status).toBe(200);
    expect(String(upstream.seen.at(-1)!.headers.authorization)).toMatch(/^Bearer /);
    expect(res.headers['cache-control']).toBe('private, max-age=600');
    expect(res.headers.vary).toBe('Accept-Encoding, Cookie');
  });

  it('a response without Cache-Control gets private and Vary: Cookie, on an optional route too', async () => {
    const res = await browser.request(`${stack.url}/maybe/cache`);
    expect(res.headers['cache-control']).toBe('private');
    expect(res.headers.vary).toBe('Cookie');
  });

  it('a route with cache: upstream, and a public route, pass the upstream headers unchanged', async () => {
    for (const prefix of ['/own', '/static']) {
      const res = await browser.request(`${stack.url}${prefix}${PUBLIC}`);
      expect(res.headers['cache-control']).toBe('public, max-age=600');
      expect(res.headers.vary).toBe('Accept-Encoding');
    }
  });
});
