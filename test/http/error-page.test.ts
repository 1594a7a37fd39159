import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorPageHtml, errorPagePolicy } from '../../src/http/error-page.ts';
import { isNavigation } from '../../src/http/navigation.ts';
import { unauthenticatedAnswer } from '../../src/proxy/unauthenticated-answer.ts';
import { startGatewayStack, type GatewayStack } from '../support/gateway.ts';
import { BrowserClient } from '../support/http.ts';

/**
 * Issue 12, item 2: people get HTML, programs get JSON. A browser navigation that ends in an
 * error on /auth/* gets a small page (no script, strict policy, the message, the code, "Try
 * again" and "Back to the app"); fetch and API clients keep the JSON. A page route with
 * `onUnauthenticated: login` sends an anonymous GET navigation to the login; API calls keep 401.
 */

const NAVIGATE = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' };
const FETCH = { accept: '*/*', 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty' };

describe('isNavigation', () => {
  it.each([
    ['Sec-Fetch-Mode navigate', { 'sec-fetch-mode': 'navigate', accept: '*/*' }, true],
    ['Sec-Fetch-Mode cors, even asking for HTML', { 'sec-fetch-mode': 'cors', accept: 'text/html' }, false],
    ['an old browser asking for HTML first', { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' }, true],
    ['Accept */* (fetch, curl)', { accept: '*/*' }, false],
    ['Accept application/json', { accept: 'application/json' }, false],
    ['JSON preferred over HTML', { accept: 'text/html;q=0.5, application/json' }, false],
    ['no headers', {}, false],
  ])('%s', (_name, headers, expected) => {
    expect(isNavigation(headers)).toBe(expected);
  });
});

describe('unauthenticatedAnswer', () => {
  const page = { auth: 'required', onUnauthenticated: 'login' } as const;
  const nav = (url: string, method = 'GET', headers: Record<string, string> = NAVIGATE) => ({ method, url, headers });

  it('sends a GET navigation on a login route to the login, with the path and query as returnTo', () => {
    expect(unauthenticatedAnswer(page, nav('/reports/q3?tab=1&x=a%20b'))).toEqual({
      kind: 'login',
      location: `/auth/login?returnTo=${encodeURIComponent('/reports/q3?tab=1&x=a%20b')}`,
    });
  });

  it('keeps the error for API calls, other methods, other routes and odd request targets', () => {
    expect(unauthenticatedAnswer(page, nav('/reports', 'GET', FETCH))).toEqual({ kind: 'error' });
    expect(unauthenticatedAnswer(page, nav('/reports', 'GET', { accept: 'application/json' }))).toEqual({ kind: 'error' });
    expect(unauthenticatedAnswer(page, nav('/reports', 'POST'))).toEqual({ kind: 'error' });
    expect(unauthenticatedAnswer(page, nav('/reports', 'HEAD'))).toEqual({ kind: 'error' });
    expect(unauthenticatedAnswer({ auth: 'required' }, nav('/reports'))).toEqual({ kind: 'error' });
    expect(unauthenticatedAnswer({ auth: 'required', onUnauthenticated: 'error' }, nav('/reports'))).toEqual({ kind: 'error' });
    expect(unauthenticatedAnswer({ auth: 'optional', onUnauthenticated: 'login' }, nav('/reports'))).toEqual({ kind: 'error' });
    // Absolute-form and protocol-relative targets never become a returnTo.
    expect(unauthenticatedAnswer(page, nav('http://evil.example/x'))).toEqual({ kind: 'error' });
    expect(unauthenticatedAnswer(page, nav('//evil.example/x'))).toEqual({ kind: 'error' });
    expect(unauthenticatedAnswer(page, nav('/\\evil.example'))).toEqual({ kind: 'error' });
  });
});

describe('the HTML error page', () => {
  it('escapes every text and carries no script', () => {
    const html = errorPageHtml(400, { error: '<script>alert(1)</script> & "quotes"', code: 'BAD_<b>', requestId: '"><img>' }, { retry: '/auth/login?provider=a"b', home: '/' });
    expect(html).not.toMatch(/<script|<img|<b>/i);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;');
    expect(html).toContain('href="/auth/login?provider=a&quot;b"');
    expect(errorPagePolicy()).toMatch(/^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/]+=*'; .*frame-ancestors 'none'$/);
  });
});

describe('errors on a running gateway', () => {
  let stack: GatewayStack;

  beforeAll(async () => {
    stack = await startGatewayStack({
      routes: ({ api }) => [
        { prefix: '/api', upstream: api },
        { prefix: '/app', upstream: api, onUnauthenticated: 'login' },
      ],
    });
  });

  afterAll(async () => {
    await stack?.close();
  });

  /** node:http, not fetch: fetch sets Sec-Fetch-Mode itself. */
  async function navigate(path: string, headers: Record<string, string> = NAVIGATE) {
    const answer = await new BrowserClient().request(`${stack.url}${path}`, { headers });
    const res = { status: answer.status, headers: { get: (name: string) => [answer.headers[name] ?? null].flat().join(', ') || null } };
    return { res, text: answer.text };
  }

  it.each([
    ['an unknown provider', '/auth/login?provider=nope', 400, 'BAD_REQUEST', 'Unknown provider', '/auth/login'],
    ['a bad returnTo', '/auth/login?provider=op&returnTo=//evil.example', 400, 'BAD_REQUEST', 'returnTo must be a path on this site', '/auth/login?provider=op'],
    ['a callback without a login in progress', '/auth/callback/op?state=s&code=c', 400, 'BAD_REQUEST', 'No login in progress in this browser', '/auth/login?provider=op'],
    ['Deny at the provider (no login cookie)', '/auth/callback/op?error=access_denied&state=s', 400, 'BAD_REQUEST', 'No login in progress in this browser', '/auth/login?provider=op'],
    ['an unknown /auth path', '/auth/nothing', 404, 'NOT_FOUND', 'No route matches this path', '/auth/login'],
  ])('%s: a navigation gets the HTML page with the code and links', async (_name, path, status, code, message, retry) => {
    const { res, text } = await navigate(path);
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toBe(errorPagePolicy());
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(text).toContain(`<code>${code}</code>`);
    expect(text).toContain(message);
    expect(text).toContain(`<a href="${retry}">Try again</a>`);
    expect(text).toContain('<a href="/">Back to the app</a>');
    expect(text).not.toMatch(/<script/i);
    expect(text).toContain(status === 404 ? '<h1>Page not found</h1>' : '<h1>Sign-in could not be completed</h1>');

    // The same request from a program: JSON, as before.
    const api = await navigate(path, FETCH);
    expect(api.res.status).toBe(status);
    expect(api.res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(JSON.parse(api.text)).toEqual({ error: message, code });
  });

  it('errors of proxied routes stay JSON, even for navigations', async () => {
    const { res, text } = await navigate('/api/anything');
    expect(res.status).toBe(401);
    expect(JSON.parse(text)).toMatchObject({ code: 'SESSION_EXPIRED' });
  });

  it('onUnauthenticated: login sends an anonymous page navigation to the login with returnTo; API calls keep 401', async () => {
    const { res } = await navigate('/app/reports?tab=1');
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe(`/auth/login?returnTo=${encodeURIComponent('/app/reports?tab=1')}`);

    const api = await navigate('/app/reports?tab=1', FETCH);
    expect(api.res.status).toBe(401);
    expect(JSON.parse(api.text)).toMatchObject({ code: 'SESSION_EXPIRED' });
    // The upstream never saw either request.
    expect(stack.api.requests.filter((request) => request.path.startsWith('/app'))).toEqual([]);
  });

  it('follows the login redirect to the provider and back to the page', async () => {
    const browser = await stack.login();
    const page = await browser.request(`${stack.url}/app/reports?tab=1`, { headers: NAVIGATE });
    expect(page.status).toBe(200);
    expect(page.json()).toMatchObject({ path: '/app/reports' });
  });
});
