import { afterEach, describe, expect, it } from 'vitest';
import { CachedStore, createStore, MemoryStore, RedisStore, type Store } from '../../src/store/index.ts';
import { freePort } from '../support/ports.ts';
import { makeSession, makeTokens } from './contract-fixtures.ts';
import { redisConfig } from './redis-config.ts';

describe('createStore', () => {
  const stores: Store[] = [];
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
  });

  it('builds the memory store for type memory, on the clock it is given', async () => {
    let now = 1_000_000;
    const store = createStore({ type: 'memory' }, { now: () => now });
    stores.push(store);
    expect(store).toBeInstanceOf(MemoryStore);
    expect(store.kind).toBe('memory');
    const session = makeSession(now);
    await store.createSession(session, makeTokens('f', now), 1000);
    now += 1500;
    expect(await store.getSession(session.sid)).toBeNull();
  });

  it('builds the Redis store behind a near cache for type redis', async () => {
    const store = createStore({ type: 'redis', redis: redisConfig({ url: `redis://127.0.0.1:${await freePort()}`, commandTimeout: 200 }) });
    stores.push(store);
    expect(store).toBeInstanceOf(CachedStore);
    expect(store.kind).toBe('redis');
    await expect(store.ping()).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
  });

  it('builds the bare Redis store when the near cache is off', async () => {
    const store = createStore({ type: 'redis', redis: redisConfig({ url: `redis://127.0.0.1:${await freePort()}`, commandTimeout: 200, nearCache: { enabled: false, maxEntries: 1 } }) });
    stores.push(store);
    expect(store).toBeInstanceOf(RedisStore);
    expect(store.kind).toBe('redis');
    await expect(store.ping()).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
  });
});
