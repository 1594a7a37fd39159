import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SampleApiEcho } from '../../demo/api.ts';
import { DEMO_USER } from '../../demo/op.ts';
import { launchChromium, type ChromiumHandle, signInAtProvider } from '../support/chromium.ts';
import { protectWithNginx, startForwardAuthStack, type ForwardAuthStack } from '../support/forward-auth-stack.ts';
import type { NginxHandle } from '../support/nginx.ts';

/**
 * Regression: no login loop on pages protected by forward-auth. The site (nginx with
 * `auth_request`, deploy/nginx's files) is http://localhost:<port> and the provider is
 * http://127.0.0.1:<port>: two sites, as in production. The session cookie is SameSite=Strict
 * and is set by the callback, at the end of a navigation that started on the provider's site.
 * Had the callback answered a redirect, the request for the protected page would belong to
 * that cross-site navigation, go without the cookie, get sent to log in again, and loop.
 */

let stack: ForwardAuthStack;
let nginx: NginxHandle;
let chromium: ChromiumHandle;
let page: Page;

beforeAll(async () => {
  stack = await startForwardAuthStack({ publicHost: 'localhost' });
  nginx = await protectWithNginx(stack);
  chromium = await launchChromium();
  page = await chromium.context.newPage();
  page.setDefaultTimeout(15_000);
});

afterAll(async () => {
  await chromium?.close();
  await nginx?.stop();
  await stack?.close();
});

describe('a page protected by forward-auth, in a real browser, with the provider on another site', () => {
  const protectedPage = () => `${stack.publicOrigin}/reports/q3?tab=1&view=it's`;

  it('sends an anonymous visit to the provider\'s login form', async () => {
    await page.goto(protectedPage());
    expect(new URL(page.url()).origin).toBe(stack.op.issuer);
    expect(new URL(page.url()).hostname).toBe('127.0.0.1');
    expect(new URL(stack.publicOrigin).hostname).toBe('localhost');
  });

  it('after login and consent, shows the protected page with the session, once, without a loop', async () => {
    await signInAtProvider(page, DEMO_USER);
    await page.click('button:has-text("Allow")');

    await page.waitForURL((url) => url.origin === stack.publicOrigin && url.pathname === '/reports/q3');
    const echo = JSON.parse((await page.textContent('body'))!) as SampleApiEcho;
    // The sample API accepted the bearer only after introspecting it at the provider.
    expect(echo).toMatchObject({ sub: DEMO_USER.sub, path: '/reports/q3', query: { tab: '1', view: "it's" } });
    expect(new URL(page.url()).href).toBe(new URL(protectedPage()).href);
    // One login, one session: the browser did not go round again.
    expect(await stack.gateway.store.listUserSessions('op', DEMO_USER.sub)).toHaveLength(1);
  });

  it('keeps the session cookie SameSite=Strict and httpOnly', async () => {
    const cookies = await chromium.context.cookies(stack.publicOrigin);
    const session = cookies.find((cookie) => cookie.name === stack.config.session.cookieName);
    expect(session).toMatchObject({ sameSite: 'Strict', httpOnly: true, path: '/' });
  });

  it('reaches another protected page directly, with the same session', async () => {
    await page.goto(`${stack.publicOrigin}/inbox`);
    const echo = JSON.parse((await page.textContent('body'))!) as SampleApiEcho;
    expect(echo).toMatchObject({ sub: DEMO_USER.sub, path: '/inbox' });
    expect(await stack.gateway.store.listUserSessions('op', DEMO_USER.sub)).toHaveLength(1);
  });
});
