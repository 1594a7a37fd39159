import { afterAll, beforeAll, describe } from 'vitest';
import type { CachedStore } from '../../src/store/cached-store.ts';
import { createStore } from '../../src/store/index.ts';
import { RedisStore } from '../../src/store/redis.ts';
import { skipRedisSuite, startRedisServer, type RedisServer } from '../support/redis-server.ts';
import { runStoreContract } from './contract.ts';
import { deleteKeys, redisConfig, sleep, uniquePrefix } from './redis-config.ts';
import { redisBehaviour } from './redis-behaviour.ts';

/**
 * The Store contract and Redis-specific behaviour against a real standalone redis-server
 * (spawned here, or REDIS_URL when no redis-server binary is available).
 */

const skip = skipRedisSuite('RedisStore (standalone) tests', 'any-redis');

describe.skipIf(skip)('RedisStore on standalone Redis', () => {
  let server: RedisServer | undefined;
  let url = '';
  let keyPrefix = 'tg:';

  beforeAll(async () => {
    if (process.env.REDIS_URL) {
      url = process.env.REDIS_URL;
      keyPrefix = uniquePrefix();
    } else {
      server = await startRedisServer();
      url = server.url;
    }
  });

  afterAll(async () => {
    if (server) await server.stop();
    else if (url) await deleteKeys(url, keyPrefix);
  });

  runStoreContract('redis (standalone)', () => new RedisStore(redisConfig({ url, keyPrefix })), { now: Date.now, fastForward: sleep, timeScale: 3 });
  runStoreContract(
    'redis (standalone, near cache)',
    async () => {
      const store = createStore({ type: 'redis', redis: redisConfig({ url, keyPrefix }) }) as CachedStore;
      await store.listener.whenLive(5000);
      return store;
    },
    { now: Date.now, fastForward: sleep, timeScale: 3 },
  );
  redisBehaviour(() => ({ url, keyPrefix }));
});
