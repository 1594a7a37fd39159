import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/wait.ts';
import { RedisStore } from '../../src/store/redis.ts';
import { SKIP_AFTER_SHORTFALL_MS } from '../../src/store/replicated-writes.ts';
import type { UnreplicatedWrite } from '../../src/store/types.ts';
import { startRedisCluster, type RedisClusterHandle } from '../support/redis-cluster.ts';
import { holdBack, rawCommand, skipRedisSuite, startMasterWithReplica, startRedisServer, type RedisServer } from '../support/redis-server.ts';
import { runStoreContract } from './contract.ts';
import { makeSession, makeTokens } from './contract-fixtures.ts';
import { redisConfig, sleep } from './redis-config.ts';

/**
 * Token writes wait for the replicas (store.redis.replicationWait): a master with one replica,
 * real redis-server processes. A replica is held back by holdBack (SIGSTOP: it neither applies
 * nor acknowledges the replication stream meanwhile).
 */

const skip = skipRedisSuite('RedisStore replication wait', 'redis-server');

async function timed<T>(call: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await call();
  return { value, ms: performance.now() - started };
}

describe.skipIf(skip)('RedisStore: token writes wait for the replica', () => {
  let master: RedisServer;
  let replica: RedisServer;
  let admin: Redis;
  let onReplica: Redis;

  beforeAll(async () => {
    ({ master, replica } = await startMasterWithReplica());
    admin = new Redis(master.url);
    onReplica = new Redis(replica.url);
  }, 30_000);

  afterAll(async () => {
    admin?.disconnect();
    onReplica?.disconnect();
    await replica?.stop();
    await master?.stop();
  });

  function open(events: UnreplicatedWrite[] = [], timeout = 500): RedisStore {
    return new RedisStore(redisConfig({ url: master.url, commandTimeout: 2000, replicationWait: { replicas: 1, timeout } }), {
      onUnreplicatedWrite: (event) => events.push(event),
    });
  }

  /** A session whose second token set (ver 2) was written while the replica was held back for `seconds`. */
  async function unconfirmedWrite(store: RedisStore, seconds: number) {
    const session = makeSession(Date.now());
    const key = `tg:tok:{${session.sid}}`;
    await store.createSession(session, makeTokens('a', Date.now()), 60_000);
    const before = (await admin.get(key))!;
    const { resumed } = await holdBack(replica, seconds);
    const next = makeTokens('b', Date.now());
    const written = await store.compareAndSetTokens(session.sid, 1, next);
    await resumed;
    return { sid: session.sid, key, before, next, written };
  }

  it('reports a compare-and-set done only once the replica has it', async () => {
    const events: UnreplicatedWrite[] = [];
    const store = open(events, 1500);
    try {
      const session = makeSession(Date.now());
      await store.createSession(session, makeTokens('a', Date.now()), 60_000);
      const { resumed } = await holdBack(replica, 0.4);
      const { value: written, ms } = await timed(() => store.compareAndSetTokens(session.sid, 1, makeTokens('b', Date.now())));
      // The moment the write counts as done, the replica holds it.
      const onReplicaNow = JSON.parse((await onReplica.get(`tg:tok:{${session.sid}}`)) ?? '{}') as { ver?: number };
      expect(written).toEqual({ ok: true, ver: 2 });
      expect(ms).toBeGreaterThan(250);
      expect(onReplicaNow.ver).toBe(2);
      expect(events).toEqual([]);
      await resumed;
    } finally {
      await store.close();
    }
  });

  it('gives up after the timeout: the write stands, reported unconfirmed, and is counted', async () => {
    const events: UnreplicatedWrite[] = [];
    const store = open(events, 300);
    try {
      const session = makeSession(Date.now());
      await store.createSession(session, makeTokens('a', Date.now()), 60_000);
      const { resumed } = await holdBack(replica, 1.2);
      const { value: written, ms } = await timed(() => store.compareAndSetTokens(session.sid, 1, makeTokens('b', Date.now())));
      expect(written).toEqual({ ok: true, ver: 2, unconfirmed: true });
      expect(ms).toBeGreaterThanOrEqual(280);
      expect(ms).toBeLessThan(1000);
      expect(events).toEqual([{ outcome: 'unconfirmed', op: 'compareAndSetTokens', wanted: 1, acked: 0 }]);
      expect((await store.getTokens(session.sid))?.ver).toBe(2);
      await resumed;
    } finally {
      await store.close();
    }
  });

  it('does not report a write failed because its confirmation took the wait’s time', async () => {
    // The write waits 300 ms behind a pause, then its confirmation the whole 500 ms timeout:
    // past the 600 ms command timeout, within the command timeout plus the wait.
    const events: UnreplicatedWrite[] = [];
    const store = new RedisStore(redisConfig({ url: master.url, commandTimeout: 600, replicationWait: { replicas: 1, timeout: 500 } }), {
      onUnreplicatedWrite: (event) => events.push(event),
    });
    try {
      const session = makeSession(Date.now());
      await store.createSession(session, makeTokens('a', Date.now()), 60_000);
      const { resumed } = await holdBack(replica, 2);
      await admin.call('CLIENT', 'PAUSE', '300', 'WRITE');
      const { value: written, ms } = await timed(() => store.compareAndSetTokens(session.sid, 1, makeTokens('b', Date.now())));
      expect(written).toEqual({ ok: true, ver: 2, unconfirmed: true });
      expect(ms).toBeGreaterThan(600);
      expect(events).toEqual([{ outcome: 'unconfirmed', op: 'compareAndSetTokens', wanted: 1, acked: 0 }]);
      await resumed;
    } finally {
      await store.close();
    }
  });

  it('writes an unconfirmed token set again when Redis comes back with exactly the set it replaced', async () => {
    const events: UnreplicatedWrite[] = [];
    const store = open(events, 500);
    try {
      const { sid, key, before, next, written } = await unconfirmedWrite(store, 1.2);
      expect(written).toEqual({ ok: true, ver: 2, unconfirmed: true });
      // Past the pause after a shortfall, so that the restore below is confirmed.
      await sleep(SKIP_AFTER_SHORTFALL_MS);
      // What a failover to a replica that never got the write shows: the old set, byte for byte.
      await admin.set(key, before, 'KEEPTTL');
      const read = await store.getTokens(sid);
      expect(read).toMatchObject({ ver: 2, accessToken: next.accessToken, refreshToken: next.refreshToken });
      expect(JSON.parse((await admin.get(key))!)).toMatchObject({ ver: 2, refreshToken: next.refreshToken });
      expect(events.map((event) => event.outcome)).toEqual(['unconfirmed', 'restored']);
      // Once restored (and confirmed), it is forgotten: a later return to ver 1 is left alone.
      await admin.set(key, before, 'KEEPTTL');
      expect((await store.getTokens(sid))?.ver).toBe(1);
    } finally {
      await store.close();
    }
  });

  it('never writes back over a different token set, even one with the replaced ver', async () => {
    const events: UnreplicatedWrite[] = [];
    const store = open(events, 200);
    try {
      const { sid, key, written } = await unconfirmedWrite(store, 0.6);
      expect(written).toEqual({ ok: true, ver: 2, unconfirmed: true });
      const other = { ...makeTokens('c', Date.now()), ver: 1 };
      await admin.set(key, JSON.stringify(other), 'KEEPTTL');
      expect(await store.getTokens(sid)).toMatchObject({ ver: 1, refreshToken: other.refreshToken });
      expect(JSON.parse((await admin.get(key))!)).toMatchObject({ refreshToken: other.refreshToken });
      expect(events.map((event) => event.outcome)).toEqual(['unconfirmed']);
    } finally {
      await store.close();
    }
  });

  it('stops waiting for a replica that fell short, then waits again', async () => {
    const events: UnreplicatedWrite[] = [];
    const store = open(events, 300);
    try {
      const sessions = [makeSession(Date.now()), makeSession(Date.now()), makeSession(Date.now())];
      for (const session of sessions) await store.createSession(session, makeTokens('a', Date.now()), 60_000);
      const { resumed } = await holdBack(replica, 0.8);
      const first = await timed(() => store.compareAndSetTokens(sessions[0]!.sid, 1, makeTokens('b', Date.now())));
      const second = await timed(() => store.compareAndSetTokens(sessions[1]!.sid, 1, makeTokens('b', Date.now())));
      expect(first.ms).toBeGreaterThanOrEqual(280);
      expect(second.ms).toBeLessThan(150);
      expect(second.value).toMatchObject({ ok: true, unconfirmed: true });
      expect(events.map((event) => event.acked)).toEqual([0, undefined]);
      await resumed;
      await sleep(SKIP_AFTER_SHORTFALL_MS + 100);
      expect(await store.compareAndSetTokens(sessions[2]!.sid, 1, makeTokens('b', Date.now()))).toEqual({ ok: true, ver: 2 });
      expect(events).toHaveLength(2);
    } finally {
      await store.close();
    }
  });

  it('does not wait for replicas on a master that has none connected', async () => {
    const alone = await startRedisServer();
    const events: UnreplicatedWrite[] = [];
    const store = new RedisStore(redisConfig({ url: alone.url, commandTimeout: 2000, replicationWait: { replicas: 1, timeout: 300 } }), {
      onUnreplicatedWrite: (event) => events.push(event),
    });
    try {
      const session = makeSession(Date.now());
      await store.createSession(session, makeTokens('a', Date.now()), 60_000);
      const { value: written, ms } = await timed(() => store.compareAndSetTokens(session.sid, 1, makeTokens('b', Date.now())));
      expect(written).toEqual({ ok: true, ver: 2 });
      expect(ms).toBeLessThan(150);
      expect(events.map((event) => [event.outcome, event.op])).toEqual([
        ['no_replica', 'createSession'],
        ['no_replica', 'compareAndSetTokens'],
      ]);
    } finally {
      await store.close();
      await alone.stop();
    }
  });

  runStoreContract('redis (one replica, replicationWait on)', () => new RedisStore(redisConfig({ url: master.url, replicationWait: { replicas: 1, timeout: 500 } })), {
    now: Date.now,
    fastForward: sleep,
    timeScale: 3,
  });
});

describe.skipIf(skip)('RedisStore on Redis Cluster: WAIT runs on the master of the key', () => {
  let cluster: RedisClusterHandle | undefined;
  let inspector: Cluster;

  beforeAll(async () => {
    cluster = await startRedisCluster({ replicas: 1 });
    inspector = new Cluster([...cluster.nodes]);
    await inspector.ping();
    // Every replica linked to its master and done with its first sync: a WAIT before that may
    // fall short on a loaded machine, and the test below counts every shortfall.
    for (const server of cluster.servers) {
      await waitFor(`the replica on port ${server.port} in sync`, async () => {
        const info = await rawCommand(server.port, ['INFO', 'replication']);
        return !info.includes('role:slave') || (info.includes('master_link_status:up') && info.includes('master_sync_in_progress:0'));
      }, 60_000);
    }
  }, 90_000);

  afterAll(async () => {
    inspector?.disconnect();
    await cluster?.stop();
  });

  /** The replica server of the master that holds `key`. */
  async function replicaOf(key: string): Promise<RedisServer> {
    const slot = Number(await inspector.call('CLUSTER', ['KEYSLOT', key]));
    const shards = (await inspector.call('CLUSTER', ['SLOTS'])) as [number, number, [string, number, ...unknown[]]][];
    const masterPort = shards.find(([from, to]) => slot >= from && slot <= to)![2][1];
    for (const server of cluster!.servers) {
      const info = await rawCommand(server.port, ['INFO', 'replication']);
      if (info.includes(`master_port:${masterPort}\r\n`)) return server;
    }
    throw new Error(`no replica of the master on port ${masterPort}`);
  }

  it('holds back the write whose master’s replica lags, not the others', async () => {
    const events: UnreplicatedWrite[] = [];
    const store = new RedisStore(redisConfig({ cluster: { nodes: [...cluster!.nodes] }, commandTimeout: 3000, replicationWait: { timeout: 1000 } }), {
      onUnreplicatedWrite: (event) => events.push(event),
    });
    try {
      const sessions = Array.from({ length: 12 }, () => makeSession(Date.now()));
      for (const session of sessions) await store.createSession(session, makeTokens('a', Date.now()), 60_000);
      expect(events).toEqual([]);
      const lagging = await replicaOf(`tg:tok:{${sessions[0]!.sid}}`);
      const others = [];
      for (const session of sessions.slice(1)) if ((await replicaOf(`tg:tok:{${session.sid}}`)) !== lagging) others.push(session);
      expect(others.length).toBeGreaterThan(0);
      const { resumed } = await holdBack(lagging, 1.5);
      const [held, ...free] = await Promise.all([sessions[0]!, ...others].map((session) => timed(() => store.compareAndSetTokens(session.sid, 1, makeTokens('b', Date.now())))));
      expect(held!.value).toEqual({ ok: true, ver: 2, unconfirmed: true });
      expect(held!.ms).toBeGreaterThanOrEqual(950);
      for (const write of free) expect(write.value).toEqual({ ok: true, ver: 2 });
      expect(events).toEqual([{ outcome: 'unconfirmed', op: 'compareAndSetTokens', wanted: 1, acked: 0 }]);
      await resumed;
    } finally {
      await store.close();
    }
  });
});
