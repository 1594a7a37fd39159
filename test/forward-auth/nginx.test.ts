import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SampleApiEcho } from '../../demo/api.ts';
import { DEMO_USER } from '../../demo/op.ts';
import { BrowserClient } from '../support/http.ts';
import { loginThroughGateway, type LoginResult } from '../support/login.ts';
import { protectWithNginx, startForwardAuthStack, type ForwardAuthStack } from '../support/forward-auth-stack.ts';
import type { NginxHandle } from '../support/nginx.ts';

/**
 * A real nginx with `auth_request`, configured with the very files shipped in deploy/nginx/,
 * in front of the real sample API; Tokengate's verify endpoint on its own loopback listener.
 * The site is http://localhost:<port>, another site than the provider's 127.0.0.1, so the
 * cookie jar applies SameSite as a browser does on the way back from the provider.
 */

const JSON_ACCEPT = { accept: 'application/json' };
const PAGE_ACCEPT = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };

let stack: ForwardAuthStack;
let nginx: NginxHandle;
let user: LoginResult;
/** The public origin: nginx, as browsers reach it. */
let site: string;

beforeAll(async () => {
  stack = await startForwardAuthStack({ publicHost: 'localhost' });
  nginx = await protectWithNginx(stack);
  site = stack.publicOrigin;
  user = await loginThroughGateway(`${site}/auth/login?returnTo=%2Fwelcome`, { username: DEMO_USER.username, password: DEMO_USER.password });
});

afterAll(async () => {
  await nginx?.stop();
  await stack?.close();
});

describe('a logged-in request through nginx', () => {
  it('logs in through nginx and lands on the protected page it asked for', () => {
    expect(user.finalUrl).toBe(`${site}/welcome`);
    expect(user.status).toBe(200);
    expect(user.response.json<SampleApiEcho>().sub).toBe(DEMO_USER.sub);
  });

  it('reaches the upstream with the bearer token and the user headers, without the session cookie', async () => {
    const response = await user.request(`${site}/api/orders?page=2`, { headers: JSON_ACCEPT });
    expect(response.status).toBe(200);
    const echo = response.json<SampleApiEcho>();
    // The sample API accepted the token only after introspecting it at the provider.
    expect(echo.sub).toBe(DEMO_USER.sub);
    expect(echo.path).toBe('/api/orders');
    expect(echo.headers['authorization']).toBe('[redacted]');
    expect(echo.headers['x-auth-request-user']).toBe(DEMO_USER.sub);
    expect(echo.headers['x-auth-request-email']).toBe(DEMO_USER.email);
    const seen = stack.api.requests.at(-1)!;
    expect(seen.hadAuthorization).toBe(true);
    expect(seen.hadCookie).toBe(false);
    expect(JSON.stringify(response.headers)).not.toMatch(/bearer/i);
  });

  it('replaces an Authorization header the browser sends with the session\'s token', async () => {
    const response = await user.request(`${site}/api/me`, { headers: { ...JSON_ACCEPT, authorization: 'Bearer forged-by-the-client' } });
    expect(response.status).toBe(200);
    expect(response.json<SampleApiEcho>().sub).toBe(DEMO_USER.sub);
  });

  it('refreshes the access token when it is due, then forwards the new one', async () => {
    const before = stack.op.stats.refreshGrants;
    stack.advance(3_400_000); // the provider's tokens live 3600 s; due at 3300 s (5-minute buffer)
    const response = await user.request(`${site}/api/after-refresh`, { headers: JSON_ACCEPT });
    expect(response.status).toBe(200);
    expect(response.json<SampleApiEcho>().sub).toBe(DEMO_USER.sub);
    expect(stack.op.stats.refreshGrants).toBe(before + 1);
    const again = await user.request(`${site}/api/after-refresh`, { headers: JSON_ACCEPT });
    expect(again.status).toBe(200);
    expect(stack.op.stats.refreshGrants).toBe(before + 1);
  });
});

describe('an anonymous request through nginx', () => {
  it('gets 401 JSON on an API call, and the upstream is never asked', async () => {
    const seen = stack.api.requests.length;
    const response = await new BrowserClient().request(`${site}/api/orders`, { headers: JSON_ACCEPT });
    expect(response.status).toBe(401);
    expect(response.location).toBeUndefined();
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(response.json()).toEqual({ error: 'Please log in', code: 'SESSION_EXPIRED' });
    expect(stack.api.requests.length).toBe(seen);
  });

  it('is sent to login on a page navigation, with the page to come back to', async () => {
    const response = await new BrowserClient().request(`${site}/reports/2024?tab=q3&x=a%20b`, { headers: PAGE_ACCEPT });
    expect(response.status).toBe(302);
    const location = new URL(response.location!);
    expect(location.origin).toBe(site);
    expect(location.pathname).toBe('/auth/login');
    expect(location.searchParams.get('returnTo')).toBe('/reports/2024?tab=q3&x=a%20b');
  });

  it('ends up at the provider\'s login form when it follows that redirect', async () => {
    const { response } = await new BrowserClient().navigate(`${site}/reports`, { headers: PAGE_ACCEPT });
    expect(response.url.startsWith(stack.op.issuer)).toBe(true);
    expect(response.text).toMatch(/<form/i);
  });

  it('gets 401 with a forged or unknown session cookie', async () => {
    const client = new BrowserClient();
    await client.jar.setCookie('tg_session=not-a-session; Path=/', site);
    await client.jar.setCookie('tg_session.sig=forged; Path=/', site);
    const response = await client.request(`${site}/api/orders`, { headers: JSON_ACCEPT });
    expect(response.status).toBe(401);
  });
});

describe('requests that do not come through the ingress', () => {
  it('the main listener answers 404 on the verify path, even with a valid session', async () => {
    const cookie = await user.jar.getCookieString(site);
    const response = await fetch(`${stack.main.url}/auth/verify`, { headers: { cookie, ...JSON_ACCEPT } });
    expect(response.status).toBe(404);
    expect(response.headers.get('authorization')).toBeNull();
    expect(await response.json()).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('nginx answers 404 to a browser asking for the verify path', async () => {
    const response = await user.request(`${site}/auth/verify`, { headers: JSON_ACCEPT });
    expect(response.status).toBe(404);
    expect(response.headers['authorization']).toBeUndefined();
  });

  it('the forward-auth listener is bound to loopback and answers nothing else', async () => {
    expect(new URL(stack.verify.url).hostname).toBe('127.0.0.1');
    const address = stack.verify.server.address();
    expect(typeof address === 'object' && address?.address).toBe('127.0.0.1');
    const other = await fetch(`${stack.verify.url}/auth/session`);
    expect(other.status).toBe(404);
  });

  it('the verify answer is never cacheable', async () => {
    const cookie = await user.jar.getCookieString(site);
    const ok = await fetch(`${stack.verify.url}/auth/verify`, { headers: { cookie, 'x-csrf': '1' } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('cache-control')).toBe('no-store');
    expect(ok.headers.get('authorization')).toMatch(/^Bearer \S+$/);
    const denied = await fetch(`${stack.verify.url}/auth/verify`, { headers: { 'x-csrf': '1' } });
    expect(denied.status).toBe(401);
    expect(denied.headers.get('cache-control')).toBe('no-store');
  });
});
