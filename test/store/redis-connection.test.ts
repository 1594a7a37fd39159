import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../src/errors.ts';
import { RedisStore } from '../../src/store/redis.ts';
import { skipRedisSuite, startRedisServer, type RedisServer } from '../support/redis-server.ts';
import { makeSession, makeTokens } from './contract-fixtures.ts';
import { redisConfig } from './redis-config.ts';

/**
 * The connection modes of RedisConfig beyond a plain URL: ACL username and password (in config
 * or in the URL), a wrong password, and Sentinel resolving the master.
 */

const skip = skipRedisSuite('RedisStore connection tests', 'redis-server');
const PASSWORD = 's3cret-redis-pass';

async function roundTrip(store: RedisStore): Promise<void> {
  const session = makeSession(Date.now());
  await store.createSession(session, makeTokens('conn', Date.now()), 30_000);
  expect(await store.loadSession(session.sid, 30_000)).toMatchObject({ session, tokens: { ver: 1 } });
}

describe.skipIf(skip)('RedisStore connection settings', () => {
  const stores: RedisStore[] = [];
  const open = (...args: ConstructorParameters<typeof RedisStore>) => {
    const store = new RedisStore(...args);
    stores.push(store);
    return store;
  };
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
  });

  describe('ACL authentication', () => {
    let server: RedisServer;
    beforeAll(async () => {
      server = await startRedisServer({ args: ['--user', 'default', 'off', '--user', 'tokengate', 'on', `>${PASSWORD}`, '~*', '&*', '+@all'] });
    });
    afterAll(async () => {
      await server?.stop();
    });

    it('authenticates with username and password from config', async () => {
      await roundTrip(open(redisConfig({ url: server.url, username: 'tokengate', password: PASSWORD })));
    });

    it('authenticates with credentials in the URL', async () => {
      await roundTrip(open(redisConfig({ url: `redis://tokengate:${PASSWORD}@127.0.0.1:${server.port}` })));
    });

    it('a wrong password is STORE_UNAVAILABLE within the timeout, and no error repeats the password', async () => {
      const reported: Error[] = [];
      const store = open(redisConfig({ url: server.url, username: 'tokengate', password: 'wrong-pass-value', commandTimeout: 500 }), {
        onConnectionError: (err) => reported.push(err),
      });
      const started = performance.now();
      const error = await store.getSession('sid-1').catch((err: unknown) => err);
      expect(performance.now() - started).toBeLessThan(1000);
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect(reported.map((err) => err.message).join('\n')).toMatch(/WRONGPASS/);
      const text = [error, (error as Error).cause, ...reported].map((err) => `${(err as Error).message} ${JSON.stringify(err)}`).join('\n');
      expect(text).not.toContain('wrong-pass-value');
    });
  });

  describe('Sentinel', () => {
    let master: RedisServer;
    let sentinel: RedisServer;
    beforeAll(async () => {
      master = await startRedisServer();
      sentinel = await startRedisServer({ sentinelFor: { name: 'tgmaster', masterPort: master.port } });
    });
    afterAll(async () => {
      await sentinel?.stop();
      await master?.stop();
    });

    it('finds the master through Sentinel and stores there', async () => {
      const store = open(redisConfig({ sentinel: { sentinels: [{ host: '127.0.0.1', port: sentinel.port }], name: 'tgmaster' } }));
      await roundTrip(store);
      const direct = new Redis(master.url);
      try {
        expect((await direct.keys('tg:sess:*')).length).toBe(1);
      } finally {
        await direct.quit();
      }
    });
  });
});
