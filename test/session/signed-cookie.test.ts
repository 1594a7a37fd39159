import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CookieKeys } from '../../src/session/cookie-keys.ts';
import { cookieKeys, cookiePolicy, createCookies } from '../../src/session/cookies.ts';
import { SignedCookie, type CookieRead } from '../../src/session/signed-cookie.ts';

/**
 * A real Koa server on port 0 whose routes write, read and clear one signed cookie, and a
 * client that sends whatever Cookie header the test wants.
 */

const oldKey = 'old-cookie-key-0123456789abcdefghijklmnop';
const newKey = 'new-cookie-key-0123456789abcdefghijklmnop';

function cookieApp(cookie: SignedCookie): Koa {
  const app = new Koa();
  app.use(async (ctx) => {
    if (ctx.path === '/write') cookie.write(ctx, 'the-value', 60_000);
    if (ctx.path === '/clear') cookie.clear(ctx);
    const read: CookieRead = cookie.read(ctx);
    ctx.body = read;
  });
  return app;
}

async function serve(app: Koa): Promise<{ url: string; server: Server }> {
  const server = createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

function setCookies(response: Response): string[] {
  return response.headers.getSetCookie();
}

/** `name=value` pairs of Set-Cookie headers, as a browser would send them back. */
function cookieHeader(setCookie: string[]): string {
  return setCookie.map((line) => line.split(';')[0]).join('; ');
}

describe('a signed cookie', () => {
  const secure = new SignedCookie({ name: '__Host-tg', keys: cookieKeys([newKey, oldKey]), secure: true, sameSite: 'strict' });
  const signedWithOldKeyOnly = new SignedCookie({ name: '__Host-tg', keys: cookieKeys([oldKey]), secure: true, sameSite: 'strict' });
  const servers: Server[] = [];
  let url = '';
  let oldUrl = '';

  beforeAll(async () => {
    const current = await serve(cookieApp(secure));
    const previous = await serve(cookieApp(signedWithOldKeyOnly));
    servers.push(current.server, previous.server);
    url = current.url;
    oldUrl = previous.url;
  });

  afterAll(async () => {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  });

  it('is written with __Host- prefix, Secure, HttpOnly, SameSite=Strict, Path=/ and no Domain, value and signature alike', async () => {
    const lines = setCookies(await fetch(`${url}/write`));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^__Host-tg=the-value;/);
    expect(lines[1]).toMatch(/^__Host-tg\.sig=[A-Za-z0-9_-]+;/);
    for (const line of lines) {
      const attributes = line.toLowerCase();
      expect(attributes).toContain('; path=/;');
      expect(attributes).toContain('; secure');
      expect(attributes).toContain('; httponly');
      expect(attributes).toContain('; samesite=strict');
      expect(attributes).not.toContain('domain=');
      const expires = Date.parse(/expires=([^;]+)/.exec(attributes)?.[1] ?? '');
      expect(expires - Date.now()).toBeGreaterThan(55_000);
      expect(expires - Date.now()).toBeLessThanOrEqual(60_000);
    }
  });

  it('reads back what it wrote', async () => {
    const cookie = cookieHeader(setCookies(await fetch(`${url}/write`)));
    const read = await (await fetch(`${url}/read`, { headers: { cookie } })).json();
    expect(read).toEqual({ status: 'valid', value: 'the-value', signedWithOldKey: false });
  });

  it('is absent without a cookie', async () => {
    expect(await (await fetch(`${url}/read`)).json()).toEqual({ status: 'absent' });
  });

  it('counts an unsigned value as forged, without giving the value out', async () => {
    const read = await (await fetch(`${url}/read`, { headers: { cookie: '__Host-tg=the-value' } })).json();
    expect(read).toEqual({ status: 'forged' });
  });

  it('counts a value changed after signing as forged', async () => {
    const cookie = cookieHeader(setCookies(await fetch(`${url}/write`))).replace('the-value', 'another-value');
    expect(await (await fetch(`${url}/read`, { headers: { cookie } })).json()).toEqual({ status: 'forged' });
  });

  it('counts a signature from an unknown key as forged', async () => {
    const stranger = new SignedCookie({ name: '__Host-tg', keys: cookieKeys(['stranger-key-0123456789abcdefghijklmnopq']), secure: true, sameSite: 'strict' });
    const { url: strangerUrl, server } = await serve(cookieApp(stranger));
    servers.push(server);
    const cookie = cookieHeader(setCookies(await fetch(`${strangerUrl}/write`)));
    expect(await (await fetch(`${url}/read`, { headers: { cookie } })).json()).toEqual({ status: 'forged' });
  });

  it('still verifies a value signed with an older key (rotation) and says so', async () => {
    const cookie = cookieHeader(setCookies(await fetch(`${oldUrl}/write`)));
    expect(await (await fetch(`${url}/read`, { headers: { cookie } })).json()).toEqual({ status: 'valid', value: 'the-value', signedWithOldKey: true });
  });

  it('is cleared with the same attributes and an expiry in the past', async () => {
    const lines = setCookies(await fetch(`${url}/clear`));
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      expect(line).toMatch(/^__Host-tg(\.sig)?=;/);
      expect(line.toLowerCase()).toContain('expires=thu, 01 jan 1970');
      expect(line.toLowerCase()).toContain('; secure');
    }
  });
});

describe('a signed cookie read from a raw Cookie header', () => {
  const cookie = new SignedCookie({ name: '__Host-tg', keys: cookieKeys([newKey, oldKey]), secure: true, sameSite: 'strict' });
  const signature = (value: string, key = newKey) => new CookieKeys([key]).sign(`__Host-tg=${value}`);
  let koa: { url: string; server: Server };

  beforeAll(async () => {
    koa = await serve(cookieApp(cookie));
  });

  afterAll(async () => {
    await new Promise((resolve) => koa?.server.close(resolve));
  });

  it('finds the pair among other cookies, with or without spaces, and not inside another name', () => {
    const sig = signature('v1');
    expect(cookie.readHeader(`a=1; __Host-tg=v1; __Host-tg.sig=${sig}`)).toEqual({ status: 'valid', value: 'v1', signedWithOldKey: false });
    expect(cookie.readHeader(`__Host-tg.sig=${sig};__Host-tg=v1`)).toEqual({ status: 'valid', value: 'v1', signedWithOldKey: false });
    expect(cookie.readHeader(`x__Host-tg=v1; x__Host-tg.sig=${sig}`)).toEqual({ status: 'absent' });
  });

  it('takes the first of two values, drops one pair of quotes, and says which key signed', () => {
    expect(cookie.readHeader(`__Host-tg=v1; __Host-tg=v2; __Host-tg.sig=${signature('v1')}`)).toMatchObject({ status: 'valid', value: 'v1' });
    expect(cookie.readHeader(`__Host-tg="v1"; __Host-tg.sig=${signature('v1')}`)).toMatchObject({ status: 'valid', value: 'v1' });
    expect(cookie.readHeader(`__Host-tg=v1; __Host-tg.sig=${signature('v1', oldKey)}`)).toEqual({ status: 'valid', value: 'v1', signedWithOldKey: true });
  });

  it('tells absent from forged', () => {
    expect(cookie.readHeader(undefined)).toEqual({ status: 'absent' });
    expect(cookie.readHeader('')).toEqual({ status: 'absent' });
    expect(cookie.readHeader('__Host-tg=; other=1')).toEqual({ status: 'absent' });
    expect(cookie.readHeader('__Host-tg=v1')).toEqual({ status: 'forged' });
    expect(cookie.readHeader(`__Host-tg=v2; __Host-tg.sig=${signature('v1')}`)).toEqual({ status: 'forged' });
  });

  it('reads a request through Koa exactly as the raw header', async () => {
    const header = `z=1; __Host-tg="v1"; __Host-tg.sig=${signature('v1', oldKey)}`;
    const viaKoa = await (await fetch(`${koa.url}/read`, { headers: { cookie: header } })).json();
    expect(viaKoa).toEqual(cookie.readHeader(header));
  });
});

describe('the cookie policy', () => {
  const config = (publicOrigin: string) => ({ publicOrigin, session: { cookieName: 'tg_session', idleTimeout: 1, absoluteTimeout: 1, loginTimeout: 1 } });

  it('uses __Host-Http- for the session and login cookies, __Host- for the consent hint, and Secure on an https public origin', () => {
    const cookies = createCookies(config('https://app.example.com'), cookieKeys([newKey]));
    expect(cookies.policy).toEqual({ secure: true, prefix: '__Host-', sessionPrefix: '__Host-Http-', plainHttp: false });
    expect([cookies.session.name, cookies.login.name, cookies.consent.name]).toEqual(['__Host-Http-tg_session', '__Host-Http-tg_session_login', '__Host-tg_session_consent']);
    expect(cookies.session.legacyName).toBe('__Host-tg_session');
  });

  it('drops the prefix and Secure on a plain-http loopback origin (development)', async () => {
    expect(cookiePolicy('http://127.0.0.1:8080')).toEqual({ secure: false, prefix: '', sessionPrefix: '', plainHttp: true });
    const cookies = createCookies(config('http://localhost:8080'), cookieKeys([newKey]));
    expect(cookies.session.name).toBe('tg_session');
    expect(cookies.session.legacyName).toBeUndefined();
    const { url: devUrl, server } = await serve(cookieApp(cookies.session));
    try {
      const lines = setCookies(await fetch(`${devUrl}/write`));
      for (const line of lines) {
        expect(line.toLowerCase()).not.toContain('secure');
        expect(line.toLowerCase()).toContain('samesite=strict');
        expect(line.toLowerCase()).toContain('httponly');
      }
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('gives the login cookie SameSite=Lax so that it survives the provider redirect', async () => {
    const cookies = createCookies(config('https://app.example.com'), cookieKeys([newKey]));
    const { url: loginUrl, server } = await serve(cookieApp(cookies.login));
    try {
      for (const line of setCookies(await fetch(`${loginUrl}/write`))) expect(line.toLowerCase()).toContain('samesite=lax');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('several cookies of one name', () => {
  const keys = cookieKeys([newKey]);
  const cookie = new SignedCookie({ name: 'tg', keys, secure: false, sameSite: 'strict' });
  const signed = (value: string) => `tg=${value}; tg.sig=${keys.sign(`tg=${value}`)}`;

  it('reads the first one whose signature verifies, whatever was planted before it', () => {
    expect(cookie.readHeader(`tg=planted; tg.sig=forged-signature; ${signed('the-real-sid')}`)).toEqual({ status: 'valid', value: 'the-real-sid', signedWithOldKey: false });
    expect(cookie.readHeader(`tg=planted; ${signed('the-real-sid')}`)).toEqual({ status: 'valid', value: 'the-real-sid', signedWithOldKey: false });
    expect(cookie.readHeader(`${signed('first')}; ${signed('second')}`)).toMatchObject({ status: 'valid', value: 'first' });
  });

  it('is forged only when none verifies', () => {
    expect(cookie.readHeader('tg=planted; tg.sig=forged; tg=other; tg.sig=also-forged')).toEqual({ status: 'forged' });
  });
});

describe('a renamed cookie (legacyName)', () => {
  const keys = cookieKeys([newKey]);
  const cookie = new SignedCookie({ name: '__Host-Http-tg', legacyName: '__Host-tg', keys, secure: true, sameSite: 'strict' });
  const legacy = `__Host-tg=the-sid; __Host-tg.sig=${keys.sign('__Host-tg=the-sid')}`;
  const current = `__Host-Http-tg=new-sid; __Host-Http-tg.sig=${keys.sign('__Host-Http-tg=new-sid')}`;

  it('is read under the old name when the new one is absent, and asks to be written again', () => {
    expect(cookie.readHeader(legacy)).toEqual({ status: 'valid', value: 'the-sid', signedWithOldKey: true });
  });

  it('prefers the new name', () => {
    expect(cookie.readHeader(`${legacy}; ${current}`)).toEqual({ status: 'valid', value: 'new-sid', signedWithOldKey: false });
  });

  it('a write sets the new name and clears the old one the request carried', async () => {
    const { url, server } = await serve(cookieApp(cookie));
    try {
      const lines = setCookies(await fetch(`${url}/write`, { headers: { cookie: legacy } }));
      expect(lines.map((line) => line.split('=')[0])).toEqual(['__Host-Http-tg', '__Host-Http-tg.sig', '__Host-tg', '__Host-tg.sig']);
      expect(lines[2]).toMatch(/^__Host-tg=;.*expires=Thu, 01 Jan 1970/i);
      const withoutLegacy = setCookies(await fetch(`${url}/write`));
      expect(withoutLegacy.map((line) => line.split('=')[0])).toEqual(['__Host-Http-tg', '__Host-Http-tg.sig']);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
