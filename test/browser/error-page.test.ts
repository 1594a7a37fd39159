import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_USER } from '../../demo/op.ts';
import { launchChromium, type ChromiumHandle, signInAtProvider } from '../support/chromium.ts';
import { startGatewayStack, type GatewayStack } from '../support/gateway.ts';

/**
 * Issue 12, item 2, in a real browser: a person who clicks "Deny" at the provider, or comes back
 * to a stale callback, ends on a page that says what happened, shows the code and offers "Try
 * again" and "Back to the app". Not raw JSON, and no script runs on it.
 */

let stack: GatewayStack;
let chromium: ChromiumHandle;
let page: Page;
const consoleMessages: string[] = [];

beforeAll(async () => {
  stack = await startGatewayStack();
  chromium = await launchChromium();
  page = await chromium.context.newPage();
  page.setDefaultTimeout(15_000);
  page.on('console', (message) => consoleMessages.push(message.text()));
});

afterAll(async () => {
  await chromium?.close();
  await stack?.close();
});

async function expectErrorPage(code: string, message: string): Promise<void> {
  expect(await page.textContent('h1')).toBe('Sign-in could not be completed');
  expect(await page.textContent('main')).toContain(message);
  expect(await page.textContent('code')).toBe(code);
  expect(await page.getAttribute('a:has-text("Try again")', 'href')).toBe('/auth/login?provider=op');
  expect(await page.getAttribute('a:has-text("Back to the app")', 'href')).toBe('/');
  // Rendered as a page (not JSON text in a <pre>), with no script on it.
  expect(await page.evaluate<string>('document.contentType')).toBe('text/html');
  expect(await page.evaluate<number>('document.scripts.length')).toBe(0);
}

describe('sign-in errors in a real browser', () => {
  let callbackUrl: string;

  it('"Deny" at the provider ends on a page with the code and links', async () => {
    await page.goto(`${stack.url}/auth/login?provider=op&returnTo=/api/me`);
    expect(new URL(page.url()).origin).toBe(stack.op.issuer);
    await signInAtProvider(page, DEMO_USER);
    const response = page.waitForResponse((res) => new URL(res.url()).pathname === '/auth/callback/op');
    await page.click('button:has-text("Deny")');
    const callback = await response;
    callbackUrl = callback.url();
    expect(callback.status()).toBe(400);
    expect(callback.headers()['content-security-policy']).toMatch(/^default-src 'none'; style-src 'sha256-/);
    await page.waitForLoadState();
    expect(new URL(page.url()).pathname).toBe('/auth/callback/op');
    await expectErrorPage('BAD_REQUEST', 'Login was not completed at the provider (access_denied)');
  });

  it('the same callback again (a stale state) ends on the page too', async () => {
    const answer = await page.goto(callbackUrl);
    expect(answer?.status()).toBe(400);
    await expectErrorPage('BAD_REQUEST', 'No login in progress in this browser');
  });

  it('an injected script in the address does not run, and "Try again" leads back to the provider', async () => {
    // The OAuth error is never echoed unless it is a known code; the page allows no script anyway.
    await page.goto(`${stack.url}/auth/callback/op?error=%3Cscript%3Econsole.log(%22ran%22)%3C%2Fscript%3E&state=x`);
    await expectErrorPage('BAD_REQUEST', 'No login in progress in this browser');
    expect(consoleMessages.filter((text) => text === 'ran')).toEqual([]);

    await page.click('a:has-text("Try again")');
    await page.waitForURL((url) => url.origin === stack.op.issuer);
    // Signed in at the provider already (before "Deny"): it asks for consent again.
    await page.waitForSelector('button:has-text("Allow")');
  });
});
