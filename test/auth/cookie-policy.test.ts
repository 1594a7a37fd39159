import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway } from '../../src/app.ts';
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
  let url = '';
  let close: () => Promise<void>;

  beforeAll(async () => {
    const reserved = await reserveServer();
    server = reserved.server;
    url = reserved.origin;
    const gateway = createGateway(gatewayConfig({ publicOrigin: 'https://app.example.com', providers: [provider] }), { logger: testLogger(new LeakWatch()) });
    server.on('request', gateway.callback());
    close = () => gateway.close();
  });

  afterAll(async () => {
    await close();
    await closeServer(server);
  });

  it('sets the login cookie as __Host-, Secure, HttpOnly, Path=/, SameSite=Lax, no Domain', async () => {
    const response = await new BrowserClient().request(`${url}/auth/login?provider=corp`);
    expect(response.status).toBe(302);
    expect(response.setCookies).toHaveLength(2);
    for (const line of response.setCookies) {
      expect(line).toMatch(/^__Host-tg_session_login(\.sig)?=/);
      const attributes = line.toLowerCase();
      for (const attribute of ['; secure', '; httponly', '; path=/', '; samesite=lax']) expect(attributes).toContain(attribute);
      expect(attributes).not.toContain('domain=');
    }
    expect(new URL(response.location!).searchParams.get('redirect_uri')).toBe('https://app.example.com/auth/callback/corp');
  });

  it('clears a stale session cookie under its __Host- name with Secure', async () => {
    const response = await new BrowserClient().request(`${url}/auth/session`, { headers: { cookie: '__Host-tg_session=unsigned' } });
    expect(response.status).toBe(401);
    expect(response.setCookies.some((line) => /^__Host-tg_session=;.*secure/i.test(line))).toBe(true);
  });
});

describe('plain http on loopback (development)', () => {
  it('warns at startup that cookies are not Secure and have no __Host- prefix', async () => {
    const watch = new LeakWatch();
    const gateway = createGateway(gatewayConfig({ publicOrigin: 'http://127.0.0.1:8080', providers: [provider] }), { logger: testLogger(watch) });
    try {
      const warning = watch.logLines.map((line) => JSON.parse(line) as { level: string; msg: string }).find((line) => line.msg.includes('plain-http'));
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
