import { mkdirSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_PROVIDER_ID, type DemoStack } from '../../demo/main.ts';
import { DEMO_USER } from '../../demo/op.ts';
import { ProviderError } from '../../src/errors.ts';
import { SEAL_FIELDS } from '../../src/tokens/index.ts';
import { type ChromiumHandle, signInAtProvider } from '../support/chromium.ts';
import { startDemoBrowser, type DemoBrowser } from '../support/demo-browser.ts';

/**
 * The demo stack (provider, sample API, SPA, gateway) started in-process on free ports, and a
 * real Chromium clicking through it the way a person would.
 */

const ARTIFACTS = new URL('../../test-artifacts/browser/', import.meta.url).pathname;
const SCREENSHOT = `${ARTIFACTS}logged-in.png`;

let browser: DemoBrowser;
let demo: DemoStack;
let chromium: ChromiumHandle;
let page: Page;
/** Collected from the store while logged in, to ask the provider about it after logout. */
let refreshToken: string;

beforeAll(async () => {
  browser = await startDemoBrowser();
  ({ demo, chromium, page } = browser);
});

afterAll(async () => {
  await browser?.close();
});

async function sessionCookie() {
  const cookies = await chromium.context.cookies(demo.url);
  return cookies.find((cookie) => cookie.name === demo.config!.session.cookieName);
}

describe('the demo in a real browser', () => {
  it('shows the SPA, not logged in', async () => {
    await page.goto(demo.url);
    await expect.poll(() => page.textContent('#session-status')).toMatch(/^Not logged in \(401 NO_SESSION\)/);
    expect(await page.isDisabled('#logout')).toBe(true);
    // The empty session details stay hidden (a `display: grid` rule must not undo `hidden`).
    expect(await page.isVisible('#session-details')).toBe(false);
    expect(await page.isVisible('#provider-logout')).toBe(false);
  });

  it('logs in through the provider\'s own form and comes back logged in', async () => {
    await page.click('#login');
    await page.waitForURL((url) => url.origin === demo.op.issuer);
    await signInAtProvider(page, DEMO_USER);
    // Consent, then back to the SPA.
    await page.click('button:has-text("Allow")');
    await page.waitForURL(demo.url);
    await expect.poll(() => page.textContent('#session-status')).toBe(`Logged in as ${DEMO_USER.name}`);
    expect(await page.textContent('#session-sub')).toBe(DEMO_USER.sub);
    expect(await page.textContent('#session-email')).toBe(DEMO_USER.email);
  });

  it('calls the API through the gateway: the API saw the user', async () => {
    await page.click('#call-api');
    await expect.poll(() => page.textContent('#api-status')).toBe(`200: the API saw subject ${DEMO_USER.sub}`);
    const shown = JSON.parse((await page.textContent('#api-result'))!) as Record<string, string>;
    expect(shown).toMatchObject({ sub: DEMO_USER.sub, path: '/hello', authorization: '[redacted]' });
    const seen = demo.api.requests.at(-1)!;
    expect(seen).toMatchObject({ sub: DEMO_USER.sub, hadAuthorization: true, hadCookie: false });
  });

  it('keeps the session cookie away from JavaScript', async () => {
    const cookie = await sessionCookie();
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' });
    const visible = await page.evaluate<string>('document.cookie');
    expect(visible).not.toContain(demo.config!.session.cookieName);
    expect(await page.textContent('#cookie-view')).toBe('(empty: the session cookie is httpOnly)');
  });

  it('saves a screenshot of the logged-in page', async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const png = await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
  });

  it('holds the tokens only sealed in the store; the provider knows the refresh token as active', async () => {
    const sid = (await sessionCookie())!.value;
    const stored = (await demo.gateway!.store.getTokens(sid))!;
    expect(stored.refreshToken).toMatch(/^v1\./);
    refreshToken = demo.gateway!.keyring.open(stored.refreshToken!, sid, SEAL_FIELDS.refresh);
    expect(stored.refreshToken).not.toContain(refreshToken);
    expect((await demo.op.introspect(refreshToken)).active).toBe(true);
    // Nothing the browser received holds it.
    expect(await page.content()).not.toContain(refreshToken);
  });

  it('logs out: the API call gets 401, and the provider no longer accepts the refresh token', async () => {
    await page.click('#logout');
    await expect.poll(() => page.textContent('#session-status')).toMatch(/^Not logged in/);
    expect(await sessionCookie()).toBeUndefined();
    expect(await page.isVisible('#session-details')).toBe(false);

    await page.click('#call-api');
    await expect.poll(() => page.textContent('#api-status')).toBe('401: SESSION_EXPIRED');

    // Revocation runs in the background after the logout answer.
    await expect.poll(async () => (await demo.op.introspect(refreshToken)).active, { timeout: 10_000 }).toBe(false);
    const provider = demo.gateway!.providers.get(DEMO_PROVIDER_ID)!;
    const refused = await provider.refresh(refreshToken).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(ProviderError);
    expect((refused as ProviderError).grantRevoked).toBe(true);
  });

  it('offers to sign out at the provider too; after that, logging in asks for the password again', async () => {
    await page.waitForSelector('#provider-logout', { state: 'visible' });
    const href = (await page.getAttribute('#provider-logout-link', 'href'))!;
    const endSession = new URL(href);
    expect(endSession.origin).toBe(demo.op.issuer);
    expect(endSession.searchParams.get('client_id')).toBe(demo.config!.providers[0]!.clientId);
    expect(endSession.searchParams.get('post_logout_redirect_uri')).toBe(demo.url);
    expect(endSession.searchParams.has('id_token_hint')).toBe(false);

    await page.click('#provider-logout-link');
    await page.waitForURL((url) => url.origin === demo.op.issuer);
    await page.click('button:has-text("Sign out")');
    await page.waitForURL(demo.url);
    await expect.poll(() => page.textContent('#session-status')).toMatch(/^Not logged in \(401 NO_SESSION\)/);
    expect(await page.isVisible('#provider-logout')).toBe(false);

    // The provider's session is gone: its login form comes back instead of a silent sign-in.
    await page.click('#login');
    // Whichever comes first: the provider's login form, its consent page, or straight back to the app.
    const landed = await Promise.race([
      page.waitForSelector('input[name="password"]').then(() => 'login form'),
      page.waitForSelector('button:has-text("Allow")').then(() => 'consent'),
      page.waitForURL(demo.url).then(() => 'back at the app'),
    ]);
    expect(landed).toBe('login form');
  });
});
