import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStore } from '../../src/store/redis.ts';
import { TokenService } from '../../src/tokens/token-service.ts';
import type { TokenConfig } from '../../src/tokens/types.ts';
import { holdBack, skipRedisSuite, startRedisServer, waitForReplicasInSync, type RedisServer } from '../support/redis-server.ts';
import { redisConfig } from '../store/redis-config.ts';
import { captureLogs, manualClock, startTokenFixture, type TokenFixture } from './fixture.ts';

/**
 * A refresh on a Redis master with one replica (store.redis.replicationWait on): when the replica
 * does not confirm the rotated token set in time, the caller still gets the new tokens, and the
 * refresh lock stays parked for one lease instead of being released.
 */

const skip = skipRedisSuite('refresh with a replicated Redis', 'redis-server');
const ACCESS_TTL_S = 600;
const LEASE_MS = 2_000;

describe.skipIf(skip)('a refresh whose write the replica has not confirmed', () => {
  let master: RedisServer;
  let replica: RedisServer;
  let store: RedisStore;
  let fixture: TokenFixture;
  const config: TokenConfig = { refreshBuffer: 300_000, lockLease: LEASE_MS, refreshWait: 2_000, expiryMargin: 10_000, refreshTimeout: 30_000, forcedRefreshCooldown: 30_000 };

  beforeAll(async () => {
    master = await startRedisServer({ args: ['--repl-diskless-sync-delay', '0'] });
    replica = await startRedisServer({ args: ['--replicaof', '127.0.0.1', String(master.port)] });
    await waitForReplicasInSync([replica], 1, 15_000);
    store = new RedisStore(redisConfig({ url: master.url, commandTimeout: 2000, replicationWait: { replicas: 1, timeout: 300 } }));
    fixture = await startTokenFixture({ accessTokenTtl: ACCESS_TTL_S });
  }, 30_000);

  afterAll(async () => {
    await store?.close();
    await fixture?.close();
    await replica?.stop();
    await master?.stop();
  });

  /** Whether someone holds the session's refresh lock (probed by taking it for a moment). */
  const lockHeld = async (sid: string) => {
    if (!(await store.acquireLock(sid, 'probe', 50))) return true;
    await store.releaseLock(sid, 'probe');
    return false;
  };

  async function refreshOnce(replicaHeldBack: boolean) {
    const clock = manualClock();
    const { sid, issued } = await fixture.login(store, clock.now());
    clock.advance(ACCESS_TTL_S * 1000 - 5_000);
    const service = new TokenService({ store, providers: fixture.providers, keyring: fixture.keyring, config, now: clock.now, logger: captureLogs().logger, instanceId: 'a' });
    const held = replicaHeldBack ? await holdBack(replica, 1) : undefined;
    const bearer = await service.getAccessToken(sid);
    const locked = await lockHeld(sid);
    await held?.resumed;
    return { sid, issued, bearer, locked };
  }

  it('uses the new tokens and keeps the lock for one lease', async () => {
    const { sid, issued, bearer, locked } = await refreshOnce(true);
    expect(bearer.outcome).toBe('success');
    expect(bearer.accessToken).not.toBe(issued.accessToken);
    expect(bearer.ver).toBe(2);
    expect(locked).toBe(true);
    await expect.poll(() => lockHeld(sid), { timeout: LEASE_MS + 1_000, interval: 100 }).toBe(false);
  });

  it('releases the lock at once when the replica confirmed the write', async () => {
    const { bearer, locked } = await refreshOnce(false);
    expect(bearer.outcome).toBe('success');
    expect(locked).toBe(false);
  });
});
