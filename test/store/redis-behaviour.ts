import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { Redis, type CommandTraceContext } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../src/errors.ts';
import { RedisStore } from '../../src/store/redis.ts';
import { makeSession, makeTokens } from './contract-fixtures.ts';
import { redisConfig } from './redis-config.ts';

/**
 * What the Store contract cannot see: the key layout and encoding in Redis, one round trip
 * per request, the TTLs actually set, and that a Redis error is never read as "no session".
 * Inspects Redis through a second, plain ioredis connection.
 */

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64url');

export function redisBehaviour(target: () => { url: string; keyPrefix: string }): void {
  describe('RedisStore in Redis', () => {
    let redis: Redis;
    let store: RedisStore;
    let prefix: string;

    beforeAll(() => {
      redis = new Redis(target().url, { lazyConnect: false });
      prefix = `${target().keyPrefix}layout:`;
    });

    afterAll(async () => {
      await redis.quit();
    });

    afterEach(async () => {
      await store?.close();
    });

    const open = () => {
      store = new RedisStore(redisConfig({ url: target().url, keyPrefix: prefix }));
      return store;
    };

    it('keeps the documented key layout, with one hash tag per session and compact JSON values', async () => {
      open();
      const now = Date.now();
      const session = makeSession(now, { sub: 'user:{1}', providerSid: 'op/sid' });
      const tokens = makeTokens('layout', now);
      await store.createSession(session, tokens, 60_000);
      await store.acquireLock(session.sid, 'replica-a', 60_000);
      await store.putEphemeral('login', 'state-x', 'tx', 60_000);
      await store.markOnce('bcl', 'jti-x', 60_000);
      const keys = (await redis.keys(`${prefix}*`)).sort();
      expect(keys).toEqual(
        [
          `${prefix}sess:{${session.sid}}`,
          `${prefix}tok:{${session.sid}}`,
          `${prefix}lock:{${session.sid}}`,
          `${prefix}user:{op:${b64('user:{1}')}}`,
          `${prefix}psid:{op:${b64('op/sid')}}`,
          `${prefix}eph:login:{${b64('state-x')}}`,
          `${prefix}once:bcl:{${b64('jti-x')}}`,
        ].sort(),
      );
      const sess = await redis.get(`${prefix}sess:{${session.sid}}`);
      expect(sess).toBe(JSON.stringify(session));
      const tok = await redis.get(`${prefix}tok:{${session.sid}}`);
      expect(tok).toBe(JSON.stringify({ ver: 1, ...tokens }));
      expect(await redis.get(`${prefix}lock:{${session.sid}}`)).toBe('replica-a');
      expect(await redis.smembers(`${prefix}user:{op:${b64('user:{1}')}}`)).toEqual([session.sid]);
    });

    it('loads a session and its tokens with exactly one command on the wire', async () => {
      open();
      const session = makeSession(Date.now());
      await store.createSession(session, makeTokens('rt', Date.now()), 60_000);
      await store.loadSession(session.sid, 60_000); // loads the script into the server's cache
      const sent: string[] = [];
      const onStart = (message: unknown) => {
        sent.push((message as CommandTraceContext).command);
      };
      subscribe('tracing:ioredis:command:start', onStart);
      try {
        expect(await store.loadSession(session.sid, 60_000)).not.toBeNull();
      } finally {
        unsubscribe('tracing:ioredis:command:start', onStart);
      }
      expect(sent).toEqual(['evalsha']);
    });

    it('slides both TTLs to the idle timeout, capped by the absolute expiry', async () => {
      open();
      const now = Date.now();
      const session = makeSession(now, { absoluteExpiresAt: now + 20_000 });
      await store.createSession(session, makeTokens('ttl', now), 5_000);
      await store.loadSession(session.sid, 10_000);
      for (const key of [`${prefix}sess:{${session.sid}}`, `${prefix}tok:{${session.sid}}`]) {
        expect(await redis.pttl(key)).toBeGreaterThan(9_000);
        expect(await redis.pttl(key)).toBeLessThanOrEqual(10_000);
      }
      await store.loadSession(session.sid, 60_000);
      for (const key of [`${prefix}sess:{${session.sid}}`, `${prefix}tok:{${session.sid}}`]) {
        expect(await redis.pttl(key)).toBeGreaterThan(19_000);
        expect(await redis.pttl(key)).toBeLessThanOrEqual(20_000);
      }
    });

    it('gives index sets a TTL covering the longest session they hold', async () => {
      open();
      const now = Date.now();
      const shortLived = makeSession(now, { absoluteExpiresAt: now + 30_000 });
      const longLived = makeSession(now, { sub: shortLived.sub, absoluteExpiresAt: now + 90_000 });
      await store.createSession(longLived, makeTokens('l', now), 5_000);
      await store.createSession(shortLived, makeTokens('s', now), 5_000);
      const ttl = await redis.pttl(`${prefix}user:{op:${b64(shortLived.sub)}}`);
      expect(ttl).toBeGreaterThan(89_000);
      expect(ttl).toBeLessThanOrEqual(90_000);
    });

    it('compare-and-set keeps the TTL of the token set', async () => {
      open();
      const session = makeSession(Date.now());
      await store.createSession(session, makeTokens('v1', Date.now()), 30_000);
      await redis.pexpire(`${prefix}tok:{${session.sid}}`, 12_345);
      await store.compareAndSetTokens(session.sid, 1, makeTokens('v2', Date.now()));
      const ttl = await redis.pttl(`${prefix}tok:{${session.sid}}`);
      expect(ttl).toBeGreaterThan(12_000);
      expect(ttl).toBeLessThanOrEqual(12_345);
    });

    it('removes stale sids from an index when it reads it', async () => {
      open();
      const session = makeSession(Date.now());
      await store.createSession(session, makeTokens('i', Date.now()), 30_000);
      const indexKey = `${prefix}user:{op:${b64(session.sub)}}`;
      await redis.sadd(indexKey, 'gone-session-id');
      expect(await store.listUserSessions('op', session.sub)).toEqual([session.sid]);
      expect(await redis.smembers(indexKey)).toEqual([session.sid]);
    });

    it('runs its scripts again after the server forgot them (SCRIPT FLUSH, restart, failover)', async () => {
      open();
      const session = makeSession(Date.now());
      await store.createSession(session, makeTokens('f', Date.now()), 30_000);
      await redis.script('FLUSH');
      expect(await store.loadSession(session.sid, 30_000)).not.toBeNull();
      expect(await store.compareAndSetTokens(session.sid, 1, makeTokens('g', Date.now()))).toEqual({ ok: true, ver: 2 });
    });

    it('reports a Redis error as STORE_UNAVAILABLE, never as "no session", without the command arguments', async () => {
      open();
      const session = makeSession(Date.now());
      await store.createSession(session, makeTokens('e', Date.now()), 30_000);
      await redis.del(`${prefix}sess:{${session.sid}}`);
      await redis.sadd(`${prefix}sess:{${session.sid}}`, 'not-a-string');
      const failure = await store.loadSession(session.sid, 30_000).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(failure).toBeInstanceOf(StoreUnavailableError);
      expect(failure).toMatchObject({ code: 'STORE_UNAVAILABLE', status: 503 });
      const cause = (failure as Error).cause as Record<string, unknown>;
      expect(cause).toBeInstanceOf(Error);
      expect(cause.command).toBeUndefined();
      expect(String(cause.message)).toMatch(/WRONGTYPE/);

    });

    it('reports a stored value that is not JSON as a corrupt record, not as an outage, and does not overwrite it', async () => {
      open();
      const session = makeSession(Date.now());
      await store.createSession(session, makeTokens('f', Date.now()), 30_000);
      await redis.set(`${prefix}tok:{${session.sid}}`, 'not json');
      await expect(store.getTokens(session.sid)).rejects.toMatchObject({ code: 'STORED_DATA_CORRUPT' });
      await expect(store.loadSession(session.sid, 30_000)).rejects.toMatchObject({ code: 'STORED_DATA_CORRUPT' });
      await expect(store.compareAndSetTokens(session.sid, 1, makeTokens('x', Date.now()))).rejects.toMatchObject({ code: 'STORED_DATA_CORRUPT' });
      expect(await redis.get(`${prefix}tok:{${session.sid}}`)).toBe('not json');
      await redis.set(`${prefix}sess:{${session.sid}}`, '{"sid": garbage', 'KEEPTTL');
      const ttl = await redis.pttl(`${prefix}sess:{${session.sid}}`);
      await expect(store.loadSession(session.sid, 60_000)).rejects.toMatchObject({ code: 'STORED_DATA_CORRUPT' });
      // Not slid: a corrupt session does not extend its own life.
      expect(await redis.pttl(`${prefix}sess:{${session.sid}}`)).toBeLessThanOrEqual(ttl);
      expect(await store.destroySession(session.sid)).toBeNull();
      expect(await redis.exists(`${prefix}sess:{${session.sid}}`, `${prefix}tok:{${session.sid}}`)).toBe(0);
    });
  });
}
