import { mkdirSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DemoStack } from '../../demo/main.ts';
import { DEMO_USER } from '../../demo/op.ts';
import { signInAtProvider } from '../support/chromium.ts';
import { startDemoBrowser, type DemoBrowser } from '../support/demo-browser.ts';
import { BrowserClient } from '../support/http.ts';
import { loginThroughGateway, type LoginResult } from '../support/login.ts';

/**
 * The demo SPA's session list in a real Chromium: the demo user is logged in there and on a
 * second device (a Firefox-on-Linux client with its own cookies); the page lists both, marks
 * its own, and its "Log out" button ends the other one.
 */

const ARTIFACTS = new URL('../../test-artifacts/browser/', import.meta.url).pathname;
const FIREFOX_LINUX = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';

let browser: DemoBrowser;
let demo: DemoStack;
let page: Page;
let otherDevice: LoginResult;

beforeAll(async () => {
  browser = await startDemoBrowser();
  ({ demo, page } = browser);
});

afterAll(async () => {
  await browser?.close();
});

describe('the demo SPA lists the user\'s sessions', () => {
  it('shows no session list before login', async () => {
    await page.goto(demo.url);
    await expect.poll(() => page.textContent('#session-status')).toMatch(/^Not logged in/);
    expect(await page.isVisible('#sessions-panel')).toBe(false);
  });

  it('after logging in here and on another device, lists both, this one marked', async () => {
    await page.click('#login');
    await page.waitForURL((url) => url.origin === demo.op.issuer);
    await signInAtProvider(page, DEMO_USER);
    await page.click('button:has-text("Allow")');
    await page.waitForURL(demo.url);
    await expect.poll(() => page.textContent('#session-status')).toBe(`Logged in as ${DEMO_USER.name}`);

    otherDevice = await loginThroughGateway(`${demo.url}auth/login`, DEMO_USER, { client: new BrowserClient({ userAgent: FIREFOX_LINUX }) });
    expect((await otherDevice.request(`${demo.url}auth/session`)).status).toBe(200);

    await page.reload();
    await expect.poll(() => page.locator('#sessions-list li').count()).toBe(2);
    expect(await page.textContent('#sessions-status')).toBe('Logged in on 2 devices.');
    const current = page.locator('#sessions-list li[data-current="true"]');
    expect(await current.locator('.device').textContent()).toBe('Chrome on Linux');
    expect(await current.locator('.this-device').textContent()).toBe('This device');
    expect(await current.locator('button').count()).toBe(0);
    const other = page.locator('#sessions-list li[data-current="false"]');
    expect(await other.locator('.device').textContent()).toBe('Firefox on Linux');
    expect(await other.locator('button.end-session').textContent()).toBe('Log out');
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: `${ARTIFACTS}sessions.png`, fullPage: true });
  });

  it('"Log out" on the other device ends that session only', async () => {
    await page.click('#sessions-list li[data-current="false"] button.end-session');
    await expect.poll(() => page.locator('#sessions-list li').count()).toBe(1);
    expect(await page.textContent('#sessions-status')).toBe('Logged in on this device only.');
    expect(await page.getAttribute('#sessions-list li', 'data-current')).toBe('true');

    const there = await otherDevice.request(`${demo.url}auth/session`);
    expect(there.status).toBe(401);
    expect(there.json()).toMatchObject({ code: 'SESSION_EXPIRED' });
    // This device is still logged in.
    await page.click('#call-api');
    await expect.poll(() => page.textContent('#api-status')).toBe(`200: the API saw subject ${DEMO_USER.sub}`);
  });
});
