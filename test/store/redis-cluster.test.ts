import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStore } from '../../src/store/redis.ts';
import { startRedisCluster, type RedisClusterHandle } from '../support/redis-cluster.ts';
import { skipRedisSuite } from '../support/redis-server.ts';
import { runStoreContract } from './contract.ts';
import { makeSession, makeTokens } from './contract-fixtures.ts';
import { redisConfig, sleep } from './redis-config.ts';

/** The Store contract against a real three-master Redis Cluster. */

const skip = skipRedisSuite('RedisStore (cluster) tests', 'redis-server');

describe.skipIf(skip)('RedisStore on Redis Cluster', () => {
  let cluster: RedisClusterHandle | undefined;

  beforeAll(async () => {
    cluster = await startRedisCluster();
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  const config = () => redisConfig({ cluster: { nodes: [...cluster!.nodes] } });

  runStoreContract('redis (cluster)', () => new RedisStore(config()), { now: Date.now, fastForward: sleep, timeScale: 3 });

  describe('key placement', () => {
    it('keeps a session’s keys on one slot and spreads sessions and indexes over the nodes', async () => {
      const store = new RedisStore(config());
      const inspector = new Cluster([...cluster!.nodes]);
      try {
        const sessions = Array.from({ length: 12 }, () => makeSession(Date.now(), { providerSid: 'ps' }));
        for (const session of sessions) await store.createSession(session, makeTokens('slot', Date.now()), 30_000);
        const slotOf = async (key: string) => Number(await inspector.call('CLUSTER', ['KEYSLOT', key]));
        const sessionSlots = new Set<number>();
        for (const { sid } of sessions) {
          const slots = await Promise.all([`tg:sess:{${sid}}`, `tg:tok:{${sid}}`, `tg:lock:{${sid}}`].map(slotOf));
          expect(new Set(slots).size).toBe(1);
          expect(await inspector.exists(`tg:sess:{${sid}}`, `tg:tok:{${sid}}`)).toBe(2);
          sessionSlots.add(slots[0]!);
        }
        expect(sessionSlots.size).toBeGreaterThan(1);
        const counts = await Promise.all(inspector.nodes('master').map((node) => node.dbsize()));
        expect(counts.filter((count) => count > 0).length).toBeGreaterThan(1);
      } finally {
        await store.close();
        await inspector.quit();
      }
    });
  });
});
