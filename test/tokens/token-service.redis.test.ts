import { afterAll, beforeAll, describe } from 'vitest';
import { RedisStore } from '../../src/store/redis.ts';
import { skipRedisSuite, startRedisServer, type RedisServer } from '../support/redis-server.ts';
import { redisConfig } from '../store/redis-config.ts';
import { tokenServiceContract } from './token-service-contract.ts';

const skip = skipRedisSuite('TokenService on Redis', 'redis-server');

describe.skipIf(skip)('on a real redis-server', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.stop();
  });
  tokenServiceContract('a real RedisStore', () => new RedisStore(redisConfig({ url: server.url })));
});
