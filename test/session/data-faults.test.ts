import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Keyring } from '../../src/crypto/keyring.ts';
import { SEAL_FIELDS } from '../../src/tokens/token-set.ts';
import { startGatewayStack, type GatewayStack } from '../support/gateway.ts';
import type { LoginResult } from '../support/login.ts';
import { skipRedisSuite } from '../support/redis-server.ts';
import { sidOf, storedTokens } from '../proxy/session-tokens.ts';

/**
 * Data faults end the session instead of failing every request forever: a token set that cannot
 * be opened (sealed under a key no longer in the keyring) and a session record that cannot be
 * read both answer 401, remove the session and log a `session_data_corrupt` security event,
 * with no token in any log line. On the memory store and on a real redis-server.
 */

const skipRedis = skipRedisSuite('data faults on Redis', 'redis-server');

for (const kind of ['memory', 'redis'] as const) {
  describe.skipIf(kind === 'redis' && skipRedis)(`data faults (${kind} store)`, () => {
    let stack: GatewayStack;
    let raw: Redis | undefined;

    beforeAll(async () => {
      // The faults are written into Redis behind the gateway's back (no invalidation is
      // published), so no near cache: a replica holding the session would see them only at its
      // next read-through (DESIGN.md, Scale).
      stack = await startGatewayStack({ store: kind, nearCache: false });
      if (kind === 'redis') raw = new Redis(stack.redis!.url, { maxRetriesPerRequest: 1 });
    });

    afterAll(async () => {
      raw?.disconnect();
      await stack?.close();
    });

    beforeEach(() => {
      stack.logLines.length = 0;
    });

    const store = () => stack.instances[0]!.gateway.store;
    const corruptEvents = () => stack.logLines.filter((line) => line.includes('"event":"session_data_corrupt"'));

    async function loggedIn(): Promise<{ browser: LoginResult; sid: string; secrets: string[] }> {
      const browser = await stack.login();
      expect((await browser.request(`${stack.url}/api/me`)).status).toBe(200);
      const tokens = await storedTokens(stack, browser);
      const sid = await sidOf(browser, stack);
      return { browser, sid, secrets: [tokens!.accessToken, tokens!.refreshToken!, sid] };
    }

    /**
     * Makes the session record unreadable. Redis: garbage in place of the JSON. The memory store
     * keeps what it is given: the session created again over itself, with the same tokens, from a
     * record whose absoluteExpiresAt is text.
     */
    async function corruptSessionRecord(sid: string): Promise<void> {
      if (raw !== undefined) {
        expect(await raw.set(`tg:sess:{${sid}}`, '{"sid": garbage', 'KEEPTTL')).toBe('OK');
        return;
      }
      const session = (await store().getSession(sid))!;
      const { ver: _ver, ...tokens } = (await store().getTokens(sid))!;
      await store().createSession({ ...session, absoluteExpiresAt: String(session.absoluteExpiresAt) } as never, tokens, 60_000);
      await expect(store().getSession(sid)).rejects.toMatchObject({ code: 'STORED_DATA_CORRUPT' });
    }

    function expectNoSecretInLogs(secrets: string[]): void {
      const text = stack.logLines.join('\n');
      for (const secret of secrets) expect(text.includes(secret)).toBe(false);
    }

    it('a token set sealed under a key not in the keyring: 401, the session is gone, a security event, no token logged', async () => {
      const { browser, sid, secrets } = await loggedIn();
      const stored = (await store().getTokens(sid))!;
      const foreign = new Keyring([{ kid: 'gone', key: randomBytes(32).toString('base64url') }]);
      const { ver, ...rest } = stored;
      const resealed = {
        ...rest,
        accessToken: foreign.seal('an-access-token-under-a-removed-key', sid, SEAL_FIELDS.access),
        refreshToken: foreign.seal('a-refresh-token-under-a-removed-key', sid, SEAL_FIELDS.refresh),
      };
      expect((await store().compareAndSetTokens(sid, ver, resealed)).ok).toBe(true);

      const res = await browser.request(`${stack.url}/api/me`);
      expect(res.status).toBe(401);
      expect(res.json()).toMatchObject({ code: 'REAUTHENTICATION_REQUIRED' });
      expect(await store().getSession(sid)).toBeNull();
      expect(await store().getTokens(sid)).toBeNull();
      const events = corruptEvents();
      expect(events).toHaveLength(1);
      expect(JSON.parse(events[0]!)).toMatchObject({ security: true, provider: 'op', session: expect.stringMatching(/^[0-9a-f]{12}$/) });
      // The next request finds no session: 401 again, never 500.
      expect((await browser.request(`${stack.url}/api/me`)).status).toBe(401);
      expect((await browser.request(`${stack.url}/auth/session`)).status).toBe(401);
      expectNoSecretInLogs([...secrets, 'an-access-token-under-a-removed-key', 'a-refresh-token-under-a-removed-key']);
    });

    it('a session record that cannot be read: 401, the session is gone, the cookie cleared, a security event, no token logged', async () => {
      const { browser, sid, secrets } = await loggedIn();
      await corruptSessionRecord(sid);

      const res = await browser.request(`${stack.url}/api/me`);
      expect(res.status).toBe(401);
      expect(res.json()).toMatchObject({ code: 'SESSION_EXPIRED' });
      expect(res.setCookies.some((line) => /^tg_session=;/.test(line))).toBe(true);
      expect(await store().getTokens(sid)).toBeNull();
      if (raw !== undefined) expect(await raw.exists(`tg:sess:{${sid}}`, `tg:tok:{${sid}}`)).toBe(0);
      else await expect(store().getSession(sid)).resolves.toBeNull();
      expect(corruptEvents()).toHaveLength(1);
      expect((await browser.request(`${stack.url}/auth/session`)).status).toBe(401);
      expectNoSecretInLogs(secrets);
    });

    it('a WebSocket handshake of a session whose record cannot be read: refused, the session ended, the event names the session by its tag only', async () => {
      const { browser, sid, secrets } = await loggedIn();
      await corruptSessionRecord(sid);
      const cookie = await browser.jar.getCookieString(stack.url);
      const status = await new Promise<number>((resolve, reject) => {
        const req = request(`${stack.url}/api/socket`, {
          agent: false,
          headers: { cookie, origin: stack.config.publicOrigin, connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': randomBytes(16).toString('base64') },
        });
        req.on('upgrade', (res, socket) => {
          socket.destroy();
          resolve(res.statusCode ?? 0);
        });
        req.on('response', (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
      expect(status).toBe(401);
      expect(await store().getTokens(sid)).toBeNull();
      const events = corruptEvents();
      expect(events).toHaveLength(1);
      expect(JSON.parse(events[0]!)).toMatchObject({ security: true, session: expect.stringMatching(/^[0-9a-f]{12}$/) });
      expectNoSecretInLogs(secrets);
    });

    it('a token set that is not readable JSON: 401 and the session is gone', async () => {
      const { browser, sid, secrets } = await loggedIn();
      if (raw !== undefined) {
        expect(await raw.set(`tg:tok:{${sid}}`, 'not json at all', 'KEEPTTL')).toBe('OK');
      } else {
        const stored = (await store().getTokens(sid))!;
        const { ver, ...rest } = stored;
        expect((await store().compareAndSetTokens(sid, ver, { ...rest, accessToken: 42 } as never)).ok).toBe(true);
      }
      const res = await browser.request(`${stack.url}/api/me`);
      expect(res.status).toBe(401);
      expect(await store().getSession(sid)).toBeNull();
      expect(corruptEvents()).toHaveLength(1);
      expectNoSecretInLogs(secrets);
    });
  });
}
