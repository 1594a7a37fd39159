import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from '../../src/app.ts';
import { ProviderTokens } from '../../src/providers/types.ts';
import { CookieKeys } from '../../src/session/cookie-keys.ts';
import { newSessionId } from '../../src/session/session-id.ts';
import { sealTokenSet } from '../../src/tokens/token-set.ts';
import { BrowserClient } from '../support/http.ts';
import { closeServer, gatewayConfig, reserveServer } from './helpers/config.ts';
import { LeakWatch } from './helpers/leak-watch.ts';
import { testLogger } from './helpers/logger.ts';

/**
 * The gateway's cookies as the browser receives them. Behind a TLS terminator the gateway
 * itself speaks plain http, yet an https public origin makes every cookie `__Host-` and Secure.
 * A plain-http public origin (loopback development) drops both and says so at startup.
 */

const provider = { id: 'corp', type: 'github' as const, clientId: 'c', clientSecret: 's' };

describe('behind a TLS terminator (https public origin)', () => {
  let server: Server;
  let upstream: Server;
  const received: IncomingHttpHeaders[] = [];
  let url = '';
  let gateway: Gateway;
  let signer: CookieKeys;
  let close: () => Promise<void>;

  beforeAll(async () => {
    upstream = createServer((req, res) => {
      received.push(req.headers);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const reserved = await reserveServer();
    server = reserved.server;
    url = reserved.origin;
    const config = gatewayConfig({
      publicOrigin: 'https://app.example.com',
      providers: [provider],
      routes: [{ prefix: '/pub', upstream: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`, auth: 'optional' }],
    });
    signer = new CookieKeys(config.keys.cookie);
    gateway = createGateway(config, { logger: testLogger(new LeakWatch()) });
    await gateway.start();
    server.on('request', gateway.callback());
    close = () => gateway.close();
  });

  afterAll(async () => {
    await close();
    await closeServer(server);
    await closeServer(upstream);
  });

  /** A session in the store, and its sid cookie pair under `name`, signed as the gateway signs. */
  async function sessionCookie(name: string): Promise<{ sid: string; header: string }> {
    const sid = newSessionId();
    const now = Date.now();
    await gateway.store.createSession(
      { sid, provider: 'corp', sub: 'u-1', claims: {}, createdAt: now, absoluteExpiresAt: now + 3_600_000 },
      sealTokenSet(gateway.keyring, sid, new ProviderTokens({ accessToken: 'gho_cookie_policy_token_0001' }), now),
      3_600_000,
    );
    return { sid, header: `${name}=${sid}; ${name}.sig=${signer.sign(`${name}=${sid}`)}` };
  }

  it('names the session cookie __Host-Http- (RFC 10017 6.1.3.2)', () => {
    expect(gateway.cookies.session.name).toBe('__Host-Http-tg_session');
  });

  it('accepts a session cookie under the old __Host- name, sets it again under the new name and clears the old one', async () => {
    const { sid, header } = await sessionCookie('__Host-tg_session');
    const response = await new BrowserClient().request(`${url}/auth/session`, { headers: { cookie: header } });
    expect(response.status).toBe(200);
    const names = response.setCookies.map((line) => line.split('=')[0]);
    expect(names).toEqual(['__Host-Http-tg_session', '__Host-Http-tg_session.sig', '__Host-tg_session', '__Host-tg_session.sig']);
    const renewed = response.setCookies[0]!;
    expect(renewed.startsWith(`__Host-Http-tg_session=${sid};`)).toBe(true);
    for (const attribute of ['; secure', '; httponly', '; path=/', '; samesite=strict']) expect(renewed.toLowerCase()).toContain(attribute);
    expect(renewed.toLowerCase()).not.toContain('domain=');
    expect(response.setCookies[2]).toMatch(/^__Host-tg_session=;.*expires=Thu, 01 Jan 1970/i);

    const next = await new BrowserClient().request(`${url}/auth/session`, { headers: { cookie: response.setCookies.slice(0, 2).map((line) => line.split(';')[0]).join('; ') } });
    expect(next.status).toBe(200);
    expect(next.setCookies).toEqual([]);
  });

  it('forwards neither the new nor the old session cookie name upstream, and keeps other cookies', async () => {
    const current = await sessionCookie('__Host-Http-tg_session');
    const old = await sessionCookie('__Host-tg_session');
    const response = await new BrowserClient().request(`${url}/pub/x`, { headers: { cookie: `theme=dark; ${current.header}; ${old.header}; lang=en` } });
    expect(response.status).toBe(200);
    expect(received.at(-1)?.cookie).toBe('theme=dark; lang=en');
  });

  it('sets the login cookie as __Host-Http- (no script can plant a transaction, e.g. to link a provider account to another session), Secure, HttpOnly, Path=/, SameSite=Lax, no Domain', async () => {
    const response = await new BrowserClient().request(`${url}/auth/login?provider=corp`);
    expect(response.status).toBe(302);
    expect(response.setCookies).toHaveLength(2);
    for (const line of response.setCookies) {
      expect(line).toMatch(/^__Host-Http-tg_session_login(\.sig)?=/);
      const attributes = line.toLowerCase();
      for (const attribute of ['; secure', '; httponly', '; path=/', '; samesite=lax']) expect(attributes).toContain(attribute);
      expect(attributes).not.toContain('domain=');
    }
    expect(new URL(response.location!).searchParams.get('redirect_uri')).toBe('https://app.example.com/auth/callback/corp');
  });

  it('clears a stale session cookie under its __Host-Http- name with Secure', async () => {
    const response = await new BrowserClient().request(`${url}/auth/session`, { headers: { cookie: '__Host-Http-tg_session=unsigned' } });
    expect(response.status).toBe(401);
    expect(response.setCookies.some((line) => /^__Host-Http-tg_session=;.*secure/i.test(line))).toBe(true);
  });

  it('clears a forged cookie under the old name too', async () => {
    const response = await new BrowserClient().request(`${url}/auth/session`, { headers: { cookie: '__Host-tg_session=unsigned' } });
    expect(response.status).toBe(401);
    expect(response.setCookies.some((line) => /^__Host-tg_session=;.*secure/i.test(line))).toBe(true);
  });
});

describe('plain http on loopback (development)', () => {
  it('a cookie of the session name planted before the real one does not log the user out', async () => {
    const { server, origin } = await reserveServer();
    const config = gatewayConfig({ publicOrigin: origin, providers: [provider] });
    const gateway = createGateway(config, { logger: testLogger(new LeakWatch()) });
    try {
      await gateway.start();
      server.on('request', gateway.callback());
      const signer = new CookieKeys(config.keys.cookie);
      const sid = newSessionId();
      const now = Date.now();
      await gateway.store.createSession(
        { sid, provider: 'corp', sub: 'u-2', claims: {}, createdAt: now, absoluteExpiresAt: now + 3_600_000 },
        sealTokenSet(gateway.keyring, sid, new ProviderTokens({ accessToken: 'gho_planted_cookie_token_0002' }), now),
        3_600_000,
      );
      const real = `tg_session=${sid}; tg_session.sig=${signer.sign(`tg_session=${sid}`)}`;
      const planted = `tg_session=${'A'.repeat(43)}; tg_session.sig=not-our-signature`;
      const response = await new BrowserClient().request(`${origin}/auth/session`, { headers: { cookie: `${planted}; ${real}` } });
      expect(response.status).toBe(200);
      expect(response.json()).toMatchObject({ user: { sub: 'u-2' } });
      expect(response.setCookies).toEqual([]);
      const onlyPlanted = await new BrowserClient().request(`${origin}/auth/session`, { headers: { cookie: planted } });
      expect(onlyPlanted.status).toBe(401);
    } finally {
      await gateway.close();
      await closeServer(server);
    }
  });

  it('warns at startup that cookies are not Secure and have no __Host- prefix', async () => {
    const watch = new LeakWatch();
    const gateway = createGateway(gatewayConfig({ publicOrigin: 'http://127.0.0.1:8080', providers: [provider] }), { logger: testLogger(watch) });
    try {
      const warning = watch.logLines.map((line) => JSON.parse(line) as { level: string; msg: string; event?: string }).find((line) => line.event === 'insecure_cookies');
      expect(warning?.level).toBe('warn');
      expect(warning?.msg).toContain('not Secure');
    } finally {
      await gateway.close();
    }
  });

  it('does not warn for an https public origin', async () => {
    const watch = new LeakWatch();
    const gateway = createGateway(gatewayConfig({ publicOrigin: 'https://app.example.com', providers: [provider] }), { logger: testLogger(watch) });
    await gateway.close();
    expect(watch.logLines.some((line) => line.includes('plain-http'))).toBe(false);
  });
});
