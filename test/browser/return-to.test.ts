import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO, PROVIDER_ID, startOidcFixture, type OidcFixture } from '../auth/helpers/oidc-fixture.ts';
import { launchChromium, type ChromiumHandle } from '../support/chromium.ts';

/**
 * Open redirect after login, in a real browser: whatever `returnTo` the login starts with, the
 * browser ends on the gateway's own origin, never on a host named by a path that resolves to
 * `//host` (dot segments, encoded dots, backslashes, encoded slashes, tabs and newlines).
 */

let f: OidcFixture;
/** Stands for the attacker's site: a server on another origin that counts its visitors. */
let evil: Server;
let evilHost: string;
let evilVisits = 0;
let chromium: ChromiumHandle;
let current: Page | undefined;

beforeAll(async () => {
  f = await startOidcFixture({ store: 'memory' });
  evil = createServer((_req, res) => {
    evilVisits += 1;
    res.writeHead(200, { 'content-type': 'text/html' }).end('<p>evil</p>');
  });
  await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
  evilHost = `127.0.0.1:${(evil.address() as AddressInfo).port}`;
  chromium = await launchChromium();
});

afterAll(async () => {
  await chromium?.close();
  await f?.close();
  await new Promise<void>((resolve) => (evil ? evil.close(() => resolve()) : resolve()));
});

/** Goes through the provider's forms (login, consent) if it shows them, until the browser leaves it. */
async function passProvider(page: Page): Promise<void> {
  for (let step = 0; step < 4 && new URL(page.url()).origin === f.op.issuer; step += 1) {
    const before = page.url();
    if (await page.locator('input[name="login"]').count()) {
      await page.fill('input[name="login"]', DEMO.username);
      await page.fill('input[name="password"]', DEMO.password);
      await page.click('button[type="submit"]');
    } else if (await page.locator('button:has-text("Allow")').count()) {
      await page.click('button:has-text("Allow")');
    } else {
      return;
    }
    await page.waitForURL((url) => url.href !== before, { waitUntil: 'commit' });
  }
}

/** Off the provider and past the callback's continue page (which moves on by meta refresh). */
function settled(url: URL): boolean {
  return url.origin !== f.op.issuer && !url.pathname.startsWith('/auth/callback');
}

async function loginWith(returnTo: string): Promise<URL> {
  // A fresh page per login: nothing left over from the previous one can navigate it.
  await current?.close();
  const page = await chromium.context.newPage();
  current = page;
  page.setDefaultTimeout(15_000);
  // The navigation may be cut short by the continue page's own navigation: where it ends is what counts.
  await page.goto(`${f.origin}/auth/login?provider=${PROVIDER_ID}&returnTo=${encodeURIComponent(returnTo)}`).catch(() => undefined);
  await passProvider(page);
  await page.waitForURL(settled, { waitUntil: 'load', timeout: 10_000 }).catch(() => undefined);
  return new URL(page.url());
}

describe('after login, the browser ends on the gateway origin whatever returnTo says', () => {
  it('a plain returnTo (with dot segments) lands on its path on the gateway', async () => {
    const landed = await loginWith('/a/../dashboard?tab=1');
    expect(landed.origin).toBe(f.origin);
    expect(`${landed.pathname}${landed.search}`).toBe('/dashboard?tab=1');
  });

  it.each([
    '/a/..//EVIL/',
    '/.//EVIL/',
    '/%2e%2e//EVIL/',
    '/a/%2E%2E//EVIL/',
    '/\\EVIL/',
    '/%5cEVIL/',
    '/%2f%2fEVIL/',
    '/\t/EVIL/',
    '/\n/EVIL/',
  ])('returnTo %j (EVIL: another origin) never leaves the gateway origin', async (template) => {
    const landed = await loginWith(template.replace('EVIL', evilHost));
    expect(landed.origin).toBe(f.origin);
    expect(settled(landed)).toBe(true);
    expect(evilVisits).toBe(0);
  });
});
