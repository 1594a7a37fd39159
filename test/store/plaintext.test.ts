import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keyring, generateKey } from '../../src/crypto/keyring.ts';
import { RedisStore } from '../../src/store/redis.ts';
import type { StoredTokenSet } from '../../src/store/types.ts';
import { skipRedisSuite, startRedisServer, type RedisServer } from '../support/redis-server.ts';
import { makeSession } from './contract-fixtures.ts';
import { deleteKeys, redisConfig, uniquePrefix } from './redis-config.ts';

/**
 * Security invariant 2: no plaintext token is ever written to Redis. A realistic workload runs
 * through RedisStore with token sets sealed by the Keyring; then every key in Redis is read
 * (SCAN + TYPE + the matching read command) and searched for each token, raw and in the
 * encodings a careless write might use.
 */

const skip = skipRedisSuite('RedisStore plaintext test', 'any-redis');

/** Reads every key (name and contents) under `match`, whatever its type. */
async function dumpRedis(redis: Redis, match: string): Promise<Map<string, string>> {
  const dump = new Map<string, string>();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 200);
    cursor = next;
    for (const key of keys) {
      const type = await redis.type(key);
      let contents: unknown;
      if (type === 'string') contents = await redis.get(key);
      else if (type === 'set') contents = await redis.smembers(key);
      else if (type === 'hash') contents = await redis.hgetall(key);
      else if (type === 'list') contents = await redis.lrange(key, 0, -1);
      else if (type === 'zset') contents = await redis.zrange(key, 0, '-1', 'WITHSCORES');
      else if (type === 'stream') contents = await redis.xrange(key, '-', '+');
      else if (type === 'none') continue;
      else throw new Error(`unexpected key type ${type}`);
      dump.set(key, JSON.stringify(contents));
    }
  } while (cursor !== '0');
  return dump;
}

/** The token and the forms it could take if written carelessly. */
function encodings(token: string): string[] {
  const bytes = Buffer.from(token, 'utf8');
  return [token, bytes.toString('base64'), bytes.toString('base64url'), bytes.toString('hex'), JSON.stringify(token).slice(1, -1)];
}

function leaks(dump: Map<string, string>, secrets: readonly string[]): string[] {
  const found: string[] = [];
  for (const [key, contents] of dump) {
    for (const secret of secrets) {
      if (encodings(secret).some((form) => key.includes(form) || contents.includes(form))) {
        found.push(`${key} holds a form of secret #${secrets.indexOf(secret)}`);
      }
    }
  }
  return found;
}

describe.skipIf(skip)('no token plaintext in Redis', () => {
  let server: RedisServer | undefined;
  let redis: Redis;
  let store: RedisStore;
  let prefix = 'tg:';
  let url = '';
  const keyring = new Keyring([{ kid: 'k1', key: generateKey() }]);
  const secrets: string[] = [];
  const liveSids: string[] = [];

  const fresh = (kind: string) => {
    const token = `${kind}-${randomBytes(24).toString('base64url')}`;
    secrets.push(token);
    return token;
  };

  const sealedSet = (sid: string): Omit<StoredTokenSet, 'ver'> => ({
    accessToken: keyring.seal(fresh('at'), sid, 'access'),
    refreshToken: keyring.seal(fresh('rt'), sid, 'refresh'),
    idToken: keyring.seal(`eyJhbGciOiJSUzI1NiJ9.${fresh('idt')}.sig`, sid, 'id'),
    expiresAt: Date.now() + 3_600_000,
    obtainedAt: Date.now(),
    scope: 'openid offline_access',
    tokenType: 'Bearer',
  });

  beforeAll(async () => {
    if (process.env.REDIS_URL) {
      url = process.env.REDIS_URL;
      prefix = uniquePrefix();
    } else {
      server = await startRedisServer();
      url = server.url;
    }
    redis = new Redis(url);
    store = new RedisStore(redisConfig({ url, keyPrefix: prefix }));

    // The workload: logins, proxied requests, refreshes with rotation, a lost race, locks,
    // login transactions, a back-channel logout, a logout and a logout-everywhere.
    const now = Date.now();
    const users = ['alice', 'bob', 'carol'];
    for (const [index, user] of users.entries()) {
      for (let n = 0; n < 2; n += 1) {
        const session = makeSession(now, { sub: user, providerSid: `ps-${user}-${n}` });
        await store.createSession(session, sealedSet(session.sid), 60_000);
        await store.loadSession(session.sid, 60_000);
        await store.acquireLock(session.sid, `replica-${index}`, 10_000);
        const current = await store.getTokens(session.sid);
        await store.compareAndSetTokens(session.sid, current!.ver, sealedSet(session.sid));
        await store.compareAndSetTokens(session.sid, current!.ver, sealedSet(session.sid));
        await store.releaseLock(session.sid, `replica-${index}`);
        liveSids.push(session.sid);
      }
      await store.putEphemeral('login', `state-${user}`, JSON.stringify({ codeVerifier: randomBytes(32).toString('base64url'), returnTo: '/' }), 60_000);
      await store.markOnce('bcl-jti', `jti-${user}`, 60_000);
    }
    const [backChannel] = await store.findByProviderSid('op', 'ps-alice-0');
    await store.destroySession(backChannel!);
    await store.destroyUserSessions('op', 'bob');
    liveSids.splice(0, liveSids.length, ...(await store.listUserSessions('op', 'alice')), ...(await store.listUserSessions('op', 'carol')));
  });

  afterAll(async () => {
    await store?.close();
    if (redis) {
      await deleteKeys(url, prefix);
      await redis.quit();
    }
    await server?.stop();
  });

  it('no key name or value holds any token, raw or encoded', async () => {
    const dump = await dumpRedis(redis, `${prefix}*`);
    expect(dump.size).toBeGreaterThan(10);
    expect(leaks(dump, secrets)).toEqual([]);
  });

  it('the tokens are there, sealed: the stored values open to the live sessions’ latest tokens', async () => {
    expect(liveSids).toHaveLength(3);
    for (const sid of liveSids) {
      const stored = JSON.parse((await redis.get(`${prefix}tok:{${sid}}`))!) as StoredTokenSet;
      expect(stored.ver).toBe(2);
      expect(stored.accessToken).toMatch(/^v1\.k1\./);
      expect(secrets).toContain(keyring.open(stored.accessToken, sid, 'access'));
      expect(secrets).toContain(keyring.open(stored.refreshToken!, sid, 'refresh'));
    }
  });

  it('the scan would catch a plaintext token if one were written', async () => {
    const planted = `${prefix}planted:{x}`;
    await redis.hset(planted, 'token', Buffer.from(secrets[4]!, 'utf8').toString('base64'));
    try {
      expect(leaks(await dumpRedis(redis, `${prefix}*`), secrets)).toEqual([`${planted} holds a form of secret #4`]);
    } finally {
      await redis.del(planted);
    }
  });
});
