import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_USER } from '../../demo/op.ts';
import { BrowserClient } from '../support/http.ts';
import { loginThroughGateway, type LoginResult } from '../support/login.ts';
import { SHARED_SECRET, startForwardAuthStack, type ForwardAuthStack } from '../support/forward-auth-stack.ts';

/**
 * The verify endpoint on the gateway's main listener (createGateway's own chain, as start and
 * dev serve it), behind the shared secret header, with the real store, cookies and token
 * service of the running gateway.
 */

let stack: ForwardAuthStack;
let mainUrl: string;
let user: LoginResult;

beforeAll(async () => {
  stack = await startForwardAuthStack({ sharedSecret: true, mainIsPublic: true });
  mainUrl = stack.main.url;
  user = await loginThroughGateway(`${mainUrl}/auth/login`, { username: DEMO_USER.username, password: DEMO_USER.password });
});

afterAll(async () => {
  await stack?.close();
});

/**
 * A verify request over node:http (fetch would replace Sec-Fetch-Mode with its own `cors`), with a
 * fetch-like answer. Like the SPA's own calls, it carries the CSRF header unless `csrf: false`.
 */
async function verify(url: string, headers: Record<string, string>, options: { csrf?: boolean } = {}) {
  return send(`${url}/auth/verify`, options.csrf === false ? headers : { 'x-csrf': '1', ...headers });
}

async function send(url: string, headers: Record<string, string>, method = 'GET') {
  const res = await new BrowserClient().request(url, { method, headers, csrf: false });
  return { status: res.status, headers: { get: (name: string) => (res.headers[name] as string | undefined) ?? null }, json: async () => res.json() };
}

describe('the verify endpoint behind a shared secret', () => {
  it('answers 200 with the bearer to a request that carries the secret', async () => {
    const cookie = await user.jar.getCookieString(mainUrl);
    const response = await verify(mainUrl, { cookie, 'x-tokengate-forward-auth': SHARED_SECRET });
    expect(response.status).toBe(200);
    expect(response.headers.get('authorization')).toMatch(/^Bearer \S+$/);
    expect(response.headers.get('x-auth-request-user')).toBe(DEMO_USER.sub);
    const token = response.headers.get('authorization')!.slice('Bearer '.length);
    expect((await stack.op.introspect(token)).active).toBe(true);
  });

  it.each([
    ['no secret header', {}],
    ['a wrong secret', { 'x-tokengate-forward-auth': 'guess' }],
    ['the secret with one character changed', { 'x-tokengate-forward-auth': `${SHARED_SECRET.slice(0, -1)}X` }],
    ['the secret with a suffix', { 'x-tokengate-forward-auth': `${SHARED_SECRET}x` }],
  ])('answers 404, as for any unknown path, with %s', async (_case, extra: Record<string, string>) => {
    const cookie = await user.jar.getCookieString(mainUrl);
    const response = await verify(mainUrl, { cookie, ...extra });
    const unknown = await fetch(`${mainUrl}/no-such-path`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual(await unknown.json());
    expect(response.headers.get('authorization')).toBeNull();
  });

  it('asks the forward-auth listener for the secret too', async () => {
    const cookie = await user.jar.getCookieString(mainUrl);
    expect((await verify(stack.verify.url, { cookie })).status).toBe(404);
    expect((await verify(stack.verify.url, { cookie, 'x-tokengate-forward-auth': SHARED_SECRET })).status).toBe(200);
  });

  it('answers 401 with the login hint when the secret is right but there is no session', async () => {
    const response = await verify(mainUrl, { 'x-tokengate-forward-auth': SHARED_SECRET, 'x-forwarded-uri': '/inbox?folder=2' });
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ error: 'No valid session', code: 'SESSION_EXPIRED' });
    expect(response.headers.get('x-tokengate-error-code')).toBe('SESSION_EXPIRED');
    expect(response.headers.get('x-tokengate-login')).toBe(`/auth/login?returnTo=${encodeURIComponent('/inbox?folder=2')}`);
  });
});

describe('what the ingress says about the original request', () => {
  const withSecret = async (extra: Record<string, string>) => {
    const cookie = await user.jar.getCookieString(mainUrl);
    return verify(mainUrl, { cookie, 'x-tokengate-forward-auth': SHARED_SECRET, ...extra }, { csrf: false });
  };

  it('rejects a state-changing original request without the CSRF header (403)', async () => {
    const response = await withSecret({ 'x-original-method': 'POST' });
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ code: 'CSRF_REJECTED' });
    expect(response.headers.get('authorization')).toBeNull();
  });

  it('accepts it with the CSRF header, and refuses a foreign Origin (Traefik names the method X-Forwarded-Method)', async () => {
    expect((await withSecret({ 'x-forwarded-method': 'DELETE', 'x-csrf': '1' })).status).toBe(200);
    expect((await withSecret({ 'x-forwarded-method': 'DELETE', 'x-csrf': '1', origin: 'https://evil.example' })).status).toBe(403);
  });

  it('needs the CSRF header on every original method, GET too; only a GET page navigation goes without', async () => {
    for (const method of ['GET', 'HEAD', 'OPTIONS', 'POST']) {
      const response = await withSecret({ 'x-original-method': method });
      expect(response.status).toBe(403);
      expect(response.headers.get('x-tokengate-error-code')).toBe('CSRF_REJECTED');
    }
    expect((await withSecret({ 'x-original-method': 'GET', 'x-csrf': '1' })).status).toBe(200);
    expect((await withSecret({ 'x-original-method': 'GET', 'sec-fetch-mode': 'navigate' })).status).toBe(200);
    expect((await withSecret({ 'x-original-method': 'POST', 'sec-fetch-mode': 'navigate' })).status).toBe(403);
    expect((await withSecret({ 'x-original-method': 'GET', 'sec-fetch-mode': 'cors' })).status).toBe(403);
    expect((await withSecret({ 'x-original-method': 'GET', 'sec-fetch-mode': 'navigate', origin: 'https://evil.example' })).status).toBe(403);
  });

  it('prefers X-Forwarded-Method over X-Original-Method (Traefik passes a client X-Original-Method through)', async () => {
    const response = await withSecret({ 'x-forwarded-method': 'POST', 'x-original-method': 'GET', 'sec-fetch-mode': 'navigate' });
    expect(response.status).toBe(403);
    expect(response.headers.get('x-tokengate-error-code')).toBe('CSRF_REJECTED');
    expect((await withSecret({ 'x-forwarded-method': 'GET', 'x-original-method': 'POST', 'sec-fetch-mode': 'navigate' })).status).toBe(200);
  });

  it('without an original method header, a navigation is refused with ORIGINAL_METHOD_UNKNOWN, never assumed to be a GET', async () => {
    const response = await withSecret({ 'sec-fetch-mode': 'navigate' });
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ code: 'ORIGINAL_METHOD_UNKNOWN' });
    expect(response.headers.get('authorization')).toBeNull();
    const noHeader = await withSecret({});
    expect(noHeader.status).toBe(403);
    expect(noHeader.headers.get('x-tokengate-error-code')).toBe('CSRF_REJECTED');
    // The CSRF header passes whatever the method was.
    expect((await withSecret({ 'x-csrf': '1' })).status).toBe(200);
  });

  it('serves Envoy ext_authz, which appends the original path and keeps the method', async () => {
    const cookie = await user.jar.getCookieString(mainUrl);
    const get = await send(`${mainUrl}/auth/verify/api/items?id=3`, { cookie, 'x-tokengate-forward-auth': SHARED_SECRET, 'x-csrf': '1' });
    expect(get.status).toBe(200);
    const post = await send(`${mainUrl}/auth/verify/api/items`, { cookie, 'x-tokengate-forward-auth': SHARED_SECRET, 'sec-fetch-mode': 'navigate' }, 'POST');
    expect(post.status).toBe(403);
    const navigation = await send(`${mainUrl}/auth/verify/app/page`, { cookie, 'x-tokengate-forward-auth': SHARED_SECRET, 'sec-fetch-mode': 'navigate' });
    expect(navigation.status).toBe(200);
    const anonymous = await send(`${mainUrl}/auth/verify/api/items?id=3`, { 'x-tokengate-forward-auth': SHARED_SECRET, 'x-csrf': '1' });
    expect(anonymous.headers.get('x-tokengate-login')).toBe(`/auth/login?returnTo=${encodeURIComponent('/api/items?id=3')}`);
  });

  it('never turns an unsafe original URI into a login target', async () => {
    const response = await verify(mainUrl, { 'x-tokengate-forward-auth': SHARED_SECRET, 'x-original-uri': '//evil.example/x' });
    expect(response.status).toBe(401);
    expect(response.headers.get('x-tokengate-login')).toBe('/auth/login');
  });

  it('refuses a session whose tokens are DPoP-bound (a key from when its provider had dpop: true): 401, log in again', async () => {
    const dpopUser = await loginThroughGateway(`${mainUrl}/auth/login`, { username: DEMO_USER.username, password: DEMO_USER.password });
    const cookie = await dpopUser.jar.getCookieString(mainUrl);
    const sid = (await dpopUser.jar.getCookies(mainUrl)).find((c) => c.key === stack.gateway.cookies.session.name)!.value;
    const { store, keyring } = stack.gateway;
    const stored = (await store.getTokens(sid))!;
    const { ver: _ver, ...fields } = stored;
    expect((await store.compareAndSetTokens(sid, stored.ver, { ...fields, dpopKey: keyring.seal('{}', sid, 'dpop') })).ok).toBe(true);
    const response = await verify(mainUrl, { cookie, 'x-tokengate-forward-auth': SHARED_SECRET });
    expect(response.status).toBe(401);
    expect(response.headers.get('authorization')).toBeNull();
    expect(response.headers.get('x-tokengate-error-code')).toBe('REAUTHENTICATION_REQUIRED');
  });
});
