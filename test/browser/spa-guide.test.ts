import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DemoStack } from '../../demo/main.ts';
import { DEMO_USER } from '../../demo/op.ts';
import { type ChromiumHandle, signInAtProvider } from '../support/chromium.ts';
import { startDemoBrowser, type DemoBrowser } from '../support/demo-browser.ts';

/**
 * docs/guides/protect-your-spa.md's SPA snippet, taken from the guide as written, running in a
 * real Chromium on a page served through the demo gateway: the session check, the CSRF header on
 * every API call (a POST passes only with it), 401 -> login that comes back to the same page,
 * and logout at the provider through endSessionUrl.
 */

const GUIDE = new URL('../../docs/guides/protect-your-spa.md', import.meta.url);

/**
 * The guide's `// tokengate.js` block as an expression that puts its exports on
 * `window.tokengate` (evaluated through the DevTools protocol: the gateway's CSP rightly refuses
 * inline scripts).
 */
function snippet(): string {
  const markdown = readFileSync(GUIDE, 'utf8');
  const block = /```js\n(\/\/ tokengate\.js[\s\S]*?)```/.exec(markdown);
  if (!block) throw new Error('no tokengate.js block in the guide');
  const code = block[1]!;
  const exported = [...code.matchAll(/^export (?:async )?function (\w+)/gm)].map((match) => match[1]!);
  expect(exported).toEqual(['currentUser', 'login', 'api', 'logout']);
  return `(() => {\n${code.replace(/^export /gm, '')}\nwindow.tokengate = { ${exported.join(', ')} };\n})()`;
}

interface Tokengate {
  currentUser(): Promise<{ sub: string } | null>;
  api(path: string, init?: RequestInit): Promise<Response>;
  logout(options?: { atProvider?: boolean }): Promise<void>;
}
declare const window: { tokengate: Tokengate };

let browser: DemoBrowser;
let demo: DemoStack;
let chromium: ChromiumHandle;
let page: Page;

beforeAll(async () => {
  browser = await startDemoBrowser();
  ({ demo, chromium, page } = browser);
});

afterAll(async () => {
  await browser?.close();
});

async function openWithSnippet(path: string): Promise<void> {
  await page.goto(new URL(path, demo.url).href);
  await page.evaluate(snippet());
}

describe('the "Protect your SPA" snippet in a real browser', () => {
  it('currentUser() is null before login', async () => {
    await openWithSnippet('/?view=orders');
    expect(await page.evaluate(() => window.tokengate.currentUser())).toBeNull();
  });

  it('a 401 from api() goes to the login and comes back to the same page', async () => {
    const loginRequest = page.waitForRequest((request) => new URL(request.url()).pathname === '/auth/login');
    await page.evaluate(() => {
      void window.tokengate.api('/api/hello');
    });
    expect(new URL((await loginRequest).url()).searchParams.get('returnTo')).toBe('/?view=orders');
    await page.waitForURL((url) => url.origin === demo.op.issuer);
    await signInAtProvider(page, DEMO_USER);
    await page.click('button:has-text("Allow")');
    await page.waitForURL(`${demo.url}?view=orders`);
  });

  it('api() sends the CSRF header on every method: a POST passes, the same POST without it is refused', async () => {
    await openWithSnippet('/?view=orders');
    expect(await page.evaluate(async () => (await window.tokengate.currentUser())?.sub)).toBe(DEMO_USER.sub);
    const before = demo.api.requests.length;
    const answers = await page.evaluate(async () => {
      const get = await window.tokengate.api('/api/hello');
      const post = await window.tokengate.api('/api/orders', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      const bare = await fetch('/api/orders', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      return { get: get.status, post: post.status, bare: bare.status, bareCode: ((await bare.json()) as { code: string }).code };
    });
    expect(answers).toEqual({ get: 200, post: 200, bare: 403, bareCode: 'CSRF_REJECTED' });
    const seen = demo.api.requests.slice(before);
    expect(seen.map((request) => [request.method, request.sub])).toEqual([
      ['GET', DEMO_USER.sub],
      ['POST', DEMO_USER.sub],
    ]);
  });

  it('logout({ atProvider: true }) ends the session and goes to the provider\'s end-session page', async () => {
    await page.evaluate(() => {
      void window.tokengate.logout({ atProvider: true });
    });
    await page.waitForURL((url) => url.origin === demo.op.issuer);
    expect(new URL(page.url()).searchParams.get('client_id')).toBe(demo.config!.providers[0]!.clientId);
    const session = await fetch(new URL('/auth/session', demo.url));
    expect(session.status).toBe(401);
    const cookies = await chromium.context.cookies(demo.url);
    expect(cookies.find((cookie) => cookie.name === demo.config!.session.cookieName)).toBeUndefined();
  });
});
