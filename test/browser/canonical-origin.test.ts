import { randomBytes } from 'node:crypto';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSampleApi, type SampleApiEcho, type SampleApiHandle } from '../../demo/api.ts';
import { DEMO_USER, startOpenIdProvider, type OpenIdProviderHandle } from '../../demo/op.ts';
import { createGateway, type Gateway } from '../../src/app.ts';
import { configSchema } from '../../src/config/schema.ts';
import { createLogger, createMetrics } from '../../src/observability/index.ts';
import { launchChromium, type ChromiumHandle, signInAtProvider } from '../support/chromium.ts';
import { freePort } from '../support/ports.ts';

/**
 * Issue 12, items 2 and 3, in a real browser: publicOrigin says http://localhost:<port>, the
 * person opens http://127.0.0.1:<port>/reports (the same listener). The navigation moves to
 * localhost, the page route (onUnauthenticated: login) sends it to the login, and after the
 * provider it ends on the page, logged in: not on "No login in progress in this browser".
 */

let op: OpenIdProviderHandle;
let api: SampleApiHandle;
let gateway: Gateway;
let chromium: ChromiumHandle;
let page: Page;
let port: number;

beforeAll(async () => {
  port = await freePort();
  const clientSecret = randomBytes(24).toString('base64url');
  op = await startOpenIdProvider({ clients: [{ clientId: 'tg', clientSecret, redirectUris: [`http://localhost:${port}/auth/callback/op`] }] });
  api = await startSampleApi({ introspect: (token) => op.introspect(token) });
  const config = configSchema.parse({
    publicOrigin: `http://localhost:${port}`,
    keys: { encryption: [{ kid: 'k1', key: randomBytes(32).toString('base64url') }], cookie: [randomBytes(32).toString('base64url')] },
    providers: [{ id: 'op', type: 'oidc', issuer: op.issuer, clientId: 'tg', clientSecret }],
    // A page route: navigations carry no CSRF header (page: true), and without a session go to the login.
    routes: [{ prefix: '/', upstream: api.url, onUnauthenticated: 'login', page: true }],
  });
  gateway = createGateway(config, { logger: createLogger({ level: 'silent' }), metrics: createMetrics({ defaultMetrics: false }) });
  await gateway.start();
  await gateway.listen({ host: '127.0.0.1', port });
  chromium = await launchChromium();
  page = await chromium.context.newPage();
  page.setDefaultTimeout(15_000);
});

afterAll(async () => {
  await chromium?.close();
  await gateway?.close({ graceMs: 0 });
  await api?.close();
  await op?.close();
});

describe('opening the gateway on 127.0.0.1 when publicOrigin says localhost', () => {
  it('moves to localhost, logs in, and ends on the page that was opened', async () => {
    await page.goto(`http://127.0.0.1:${port}/reports?tab=1`);
    // Redirected to localhost, then to the login, then to the provider.
    expect(new URL(page.url()).origin).toBe(op.issuer);
    await signInAtProvider(page, DEMO_USER);
    await page.click('button:has-text("Allow")');

    await page.waitForURL((url) => url.origin === `http://localhost:${port}` && url.pathname === '/reports');
    const echo = JSON.parse((await page.textContent('body'))!) as SampleApiEcho;
    expect(echo).toMatchObject({ sub: DEMO_USER.sub, path: '/reports', query: { tab: '1' } });
  });
});
