import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatewayStack, type GatewayStack } from '../support/gateway.ts';
import { BrowserClient, type BrowserResponse } from '../support/http.ts';

/**
 * Clickjacking and Referer leaks, pinned on a running gateway: every page the gateway itself
 * serves under /auth/* (the login redirect, the callback's continue page, the HTML error page,
 * JSON answers) cannot be framed (`X-Frame-Options: DENY` and CSP `frame-ancestors 'none'`) and
 * sends no Referer onward (`Referrer-Policy: no-referrer`), so the callback's `code` and `state`
 * never leave in a Referer header.
 */

let stack: GatewayStack;

beforeAll(async () => {
  stack = await startGatewayStack();
});

afterAll(async () => {
  await stack?.close();
});

function expectUnframeableAndNoReferrer(response: BrowserResponse): void {
  expect(response.headers['x-frame-options']).toBe('DENY');
  expect(String(response.headers['content-security-policy'])).toMatch(/frame-ancestors 'none'/);
  expect(response.headers['referrer-policy']).toBe('no-referrer');
}

describe('pages the gateway serves cannot be framed and leak no Referer', () => {
  it('the login redirect, the callback and its continue page, through a real login', async () => {
    const login = await stack.login();
    const gatewayPages = login.chain.filter((response) => new URL(response.url).origin === stack.url);
    const paths = gatewayPages.map((response) => new URL(response.url).pathname);
    expect(paths).toEqual(expect.arrayContaining(['/auth/login', '/auth/callback/op']));
    for (const response of gatewayPages.filter((page) => new URL(page.url).pathname.startsWith('/auth/'))) {
      expectUnframeableAndNoReferrer(response);
    }
  });

  it('the HTML error page of a navigation and a JSON error', async () => {
    const browser = new BrowserClient();
    const { response: page } = await browser.navigate(`${stack.url}/auth/callback/op?state=stale&code=x`);
    expect(page.status).toBe(400);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expectUnframeableAndNoReferrer(page);
    const json = await browser.request(`${stack.url}/auth/session`);
    expect(json.status).toBe(401);
    expectUnframeableAndNoReferrer(json);
  });
});
