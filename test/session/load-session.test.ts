import type { Server } from 'node:http';
import Keygrip from 'keygrip';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from '../../src/app.ts';
import { sealTokenSet } from '../../src/tokens/token-set.ts';
import { generateKey } from '../../src/crypto/keyring.ts';
import { ProviderTokens } from '../../src/providers/types.ts';
import { newSessionId } from '../../src/session/session-id.ts';
import { MemoryStore } from '../../src/store/memory.ts';
import { createStore } from '../../src/store/index.ts';
import type { SessionRecord, Store } from '../../src/store/types.ts';
import { BrowserClient } from '../support/http.ts';
import { skipRedisSuite, startRedisServer, type RedisServer } from '../support/redis-server.ts';
import { closeServer, gatewayConfig, reserveServer } from '../auth/helpers/config.ts';
import { LeakWatch } from '../auth/helpers/leak-watch.ts';
import { testLogger } from '../auth/helpers/logger.ts';
import { countingStore } from '../auth/helpers/store.ts';

/**
 * Session loading through the real gateway (composition root, middleware chain, /auth/session)
 * on a real memory store with a controllable clock, and on a real Redis that the test kills.
 */

const MINUTE = 60_000;
const cookieKey = generateKey();
const oldCookieKey = generateKey();
const provider = { id: 'corp', type: 'oidc' as const, issuer: 'http://127.0.0.1:9/unused', clientId: 'tg', clientSecret: 'secret' };

interface Harness {
  gateway: Gateway;
  server: Server;
  origin: string;
  store: Store;
  calls: string[];
  watch: LeakWatch;
  clock: { now: number };
}

async function startHarness(store: Store, clock: { now: number }): Promise<Harness> {
  const { server, origin } = await reserveServer();
  const watch = new LeakWatch();
  const counted = countingStore(store);
  const config = gatewayConfig({
    publicOrigin: origin,
    providers: [provider],
    keys: { encryption: [{ kid: 'k1', key: generateKey() }], cookie: [cookieKey, oldCookieKey] },
    session: { idleTimeout: '30m', absoluteTimeout: '1h' },
  });
  const gateway = createGateway(config, { store: counted.store, now: () => clock.now, logger: testLogger(watch) });
  server.on('request', watch.tap(gateway.callback()));
  return { gateway, server, origin, store, calls: counted.calls, watch, clock };
}

/** The cookie pair a browser would hold for `sid`, signed with `key` in Koa's format. */
function signedCookie(sid: string, key = cookieKey): string {
  const signature = new Keygrip([key], 'sha256').sign(`tg_session=${sid}`);
  return `tg_session=${sid}; tg_session.sig=${signature}`;
}

async function createSession(h: Harness, sub = 'alice'): Promise<string> {
  const sid = newSessionId();
  const now = h.clock.now;
  const session: SessionRecord = { sid, provider: 'corp', sub, claims: { name: 'Alice' }, createdAt: now, absoluteExpiresAt: now + 60 * MINUTE };
  const tokens = new ProviderTokens({ accessToken: `at-${sid}`, refreshToken: `rt-${sid}`, expiresIn: 3600 });
  h.watch.addSecret(tokens.accessToken, tokens.refreshToken);
  await h.store.createSession(session, sealTokenSet(h.gateway.keyring, sid, tokens, now), 30 * MINUTE);
  h.calls.length = 0;
  return sid;
}

async function sessionStatus(h: Harness, cookie?: string): Promise<{ status: number; body: Record<string, unknown>; setCookies: string[]; retryAfter: string | undefined }> {
  const response = await new BrowserClient().request(`${h.origin}/auth/session`, cookie === undefined ? {} : { headers: { cookie } });
  const retryAfter = response.headers['retry-after'];
  return { status: response.status, body: response.json(), setCookies: response.setCookies, retryAfter: typeof retryAfter === 'string' ? retryAfter : undefined };
}

describe('loading the session from the cookie (memory store)', () => {
  const clock = { now: Date.UTC(2026, 0, 1) };
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness(new MemoryStore({ now: () => clock.now }), clock);
  });

  afterAll(async () => {
    await h.gateway.close();
    await h.store.close();
    await closeServer(h.server);
  });

  afterEach(() => {
    h.calls.length = 0;
  });

  it('a valid cookie loads session and tokens in one store call, and nothing is written back', async () => {
    const sid = await createSession(h);
    for (let i = 0; i < 3; i++) {
      const answer = await sessionStatus(h, signedCookie(sid));
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ authenticated: true, user: { sub: 'alice', name: 'Alice', provider: 'corp' } });
      expect(answer.setCookies).toEqual([]);
    }
    expect(h.calls).toEqual(['loadSession', 'loadSession', 'loadSession']);
  });

  it('no cookie at all is NO_SESSION (not logged in yet), without asking the store', async () => {
    const answer = await sessionStatus(h);
    expect(answer.status).toBe(401);
    expect(answer.body).toEqual({ error: 'Not logged in', code: 'NO_SESSION' });
    expect(answer.setCookies).toEqual([]);
    expect(h.calls).toEqual([]);
  });

  it('an unsigned cookie is no session, never reaches the store, is cleared and logged as tampered_cookie', async () => {
    const sid = await createSession(h);
    const before = h.watch.logLines.length;
    const answer = await sessionStatus(h, `tg_session=${sid}`);
    expect(answer.status).toBe(401);
    expect(h.calls).toEqual([]);
    expect(answer.setCookies.some((line) => /^tg_session=;/.test(line))).toBe(true);
    expect(h.watch.logLines.slice(before).some((line) => line.includes('tampered_cookie'))).toBe(true);
  });

  it('a cookie whose value was changed after signing is no session and never reaches the store', async () => {
    const sid = await createSession(h);
    const other = await createSession(h, 'mallory');
    const forged = signedCookie(sid).replace(`tg_session=${sid}`, `tg_session=${other}`);
    const before = h.watch.logLines.length;
    const answer = await sessionStatus(h, forged);
    expect(answer.status).toBe(401);
    expect(h.calls).toEqual([]);
    expect(h.watch.logLines.slice(before).some((line) => line.includes('tampered_cookie'))).toBe(true);
  });

  it('a cookie signed with a key no longer configured is no session', async () => {
    const sid = await createSession(h);
    const answer = await sessionStatus(h, signedCookie(sid, generateKey()));
    expect(answer.status).toBe(401);
    expect(h.calls).toEqual([]);
  });

  it('a cookie signed with an older configured key still works and is signed again with the current key', async () => {
    const sid = await createSession(h);
    const answer = await sessionStatus(h, signedCookie(sid, oldCookieKey));
    expect(answer.status).toBe(200);
    const resigned = answer.setCookies.find((line) => line.startsWith('tg_session.sig='));
    expect(resigned?.split(';')[0]).toBe(signedCookie(sid).split('; ')[1]);
  });

  it('a signed cookie naming an unknown sid is no session, and the stale cookie is cleared', async () => {
    const answer = await sessionStatus(h, signedCookie(newSessionId()));
    expect(answer.status).toBe(401);
    expect(answer.body).toMatchObject({ code: 'SESSION_EXPIRED' });
    expect(h.calls).toEqual(['loadSession']);
    expect(answer.setCookies.some((line) => /^tg_session=;/.test(line))).toBe(true);
  });

  it('a signed value that is not a session id never reaches the store', async () => {
    const answer = await sessionStatus(h, signedCookie('not-a-session-id'));
    expect(answer.status).toBe(401);
    expect(h.calls).toEqual([]);
  });

  it('the idle timeout slides with every request', async () => {
    const sid = await createSession(h);
    for (let step = 0; step < 2; step++) {
      clock.now += 20 * MINUTE;
      expect((await sessionStatus(h, signedCookie(sid))).status).toBe(200);
    }
    clock.now += 31 * MINUTE;
    expect((await sessionStatus(h, signedCookie(sid))).status).toBe(401);
  });

  it('the absolute timeout ends a session however active it is', async () => {
    const sid = await createSession(h);
    for (let step = 0; step < 2; step++) {
      clock.now += 25 * MINUTE;
      expect((await sessionStatus(h, signedCookie(sid))).status).toBe(200);
    }
    clock.now += 11 * MINUTE;
    expect((await sessionStatus(h, signedCookie(sid))).status).toBe(401);
  });

  it('reports when the session ends if left idle, never past its absolute expiry', async () => {
    const sid = await createSession(h);
    const first = await sessionStatus(h, signedCookie(sid));
    expect(Date.parse(first.body['expiresAt'] as string)).toBe(clock.now + 30 * MINUTE);
    clock.now += 20 * MINUTE;
    expect((await sessionStatus(h, signedCookie(sid))).status).toBe(200);
    clock.now += 20 * MINUTE;
    const later = await sessionStatus(h, signedCookie(sid));
    expect(Date.parse(later.body['expiresAt'] as string)).toBe(clock.now + 20 * MINUTE);
  });

  it('leaks no token into responses or logs', () => {
    expect(h.watch.secretCount).toBeGreaterThan(0);
    expect(h.watch.responses.length).toBeGreaterThan(0);
    expect(h.watch.leaks()).toEqual([]);
  });
});

describe.skipIf(skipRedisSuite('session loading on Redis', 'redis-server'))('loading the session when Redis fails', () => {
  const clock = { now: Date.now() };
  let redis: RedisServer;
  let h: Harness;

  beforeAll(async () => {
    redis = await startRedisServer({ persist: true });
    const store = createStore(gatewayConfig({ publicOrigin: 'http://127.0.0.1', providers: [provider], store: { type: 'redis', redis: { url: redis.url, commandTimeout: '300ms', connectTimeout: '300ms' } } }).store);
    h = await startHarness(store, clock);
  });

  afterAll(async () => {
    await h.gateway.close();
    await h.store.close();
    await closeServer(h.server);
    await redis.stop();
  });

  it('answers 503 STORE_UNAVAILABLE while Redis is down, never "logged out", and the session is back with Redis', async () => {
    clock.now = Date.now();
    const sid = await createSession(h);
    expect((await sessionStatus(h, signedCookie(sid))).status).toBe(200);

    await redis.kill();
    const down = await sessionStatus(h, signedCookie(sid));
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect(down.retryAfter).toBeDefined();
    expect(down.setCookies).toEqual([]);

    await redis.restart();
    let back = 0;
    for (let attempt = 0; attempt < 50 && back !== 200; attempt++) {
      back = (await sessionStatus(h, signedCookie(sid))).status;
      if (back !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(back).toBe(200);
  });
});
