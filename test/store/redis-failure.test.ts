import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../src/errors.ts';
import { RedisStore } from '../../src/store/redis.ts';
import type { Store } from '../../src/store/types.ts';
import { skipRedisSuite, startRedisServer, type RedisServer } from '../support/redis-server.ts';
import { freePort } from '../support/ports.ts';
import { waitFor } from '../support/wait.ts';
import { makeSession, makeTokens } from './contract-fixtures.ts';
import { redisConfig, sleep } from './redis-config.ts';

/**
 * Redis goes away mid-suite (SIGKILL) and comes back on the same port with its data (AOF in a
 * temp dir). While it is gone every store call rejects with STORE_UNAVAILABLE within the
 * command timeout (1 s); nothing hangs, nothing crashes, nothing reads as "no session".
 */

const skip = skipRedisSuite('RedisStore failure tests', 'redis-server');

/** Every Store method once, against a session that existed before the outage. */
function everyCall(store: Store, sid: string): Record<string, () => Promise<unknown>> {
  const now = Date.now();
  return {
    createSession: () => store.createSession(makeSession(now), makeTokens('c', now), 10_000),
    loadSession: () => store.loadSession(sid, 10_000),
    getSession: () => store.getSession(sid),
    destroySession: () => store.destroySession(sid),
    getTokens: () => store.getTokens(sid),
    compareAndSetTokens: () => store.compareAndSetTokens(sid, 2, makeTokens('x', now)),
    deleteTokens: () => store.deleteTokens(sid, 2),
    acquireLock: () => store.acquireLock(sid, 'a', 1000),
    renewLock: () => store.renewLock(sid, 'a', 1000),
    releaseLock: () => store.releaseLock(sid, 'a'),
    listUserSessions: () => store.listUserSessions('op', 'someone'),
    destroyUserSessions: () => store.destroyUserSessions('op', 'someone'),
    findByProviderSid: () => store.findByProviderSid('op', 'ps'),
    putEphemeral: () => store.putEphemeral('login', 'st', 'v', 1000),
    takeEphemeral: () => store.takeEphemeral('login', 'st'),
    markOnce: () => store.markOnce('jti', 'j', 1000),
    ping: () => store.ping(),
  };
}

async function timedFailure(call: () => Promise<unknown>): Promise<{ error: unknown; elapsed: number }> {
  const started = performance.now();
  const error = await call().then(
    () => undefined,
    (err: unknown) => err,
  );
  return { error, elapsed: performance.now() - started };
}

describe.skipIf(skip)('RedisStore when Redis goes away', () => {
  let server: RedisServer;
  let store: RedisStore;
  const connectionErrors: Error[] = [];
  const unhandled: unknown[] = [];
  const onUnhandled = (err: unknown) => unhandled.push(err);
  const session = makeSession(Date.now(), { providerSid: 'op-session' });
  const rotated = makeTokens('rotated', Date.now());

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    process.on('uncaughtException', onUnhandled);
    server = await startRedisServer({ persist: true });
    store = new RedisStore(redisConfig({ url: server.url }), { onConnectionError: (err) => connectionErrors.push(err) });
  });

  afterAll(async () => {
    await store?.close();
    await server?.stop();
    process.off('unhandledRejection', onUnhandled);
    process.off('uncaughtException', onUnhandled);
  });

  it('works before the outage', async () => {
    await store.createSession(session, makeTokens('first', Date.now()), 60_000);
    expect(await store.compareAndSetTokens(session.sid, 1, rotated)).toEqual({ ok: true, ver: 2 });
    await store.putEphemeral('login', 'state-1', 'transaction', 60_000);
  });

  it('rejects every call with STORE_UNAVAILABLE within the command timeout once Redis is killed', async () => {
    await server.kill();
    const calls = everyCall(store, session.sid);
    const outcomes = await Promise.all(Object.values(calls).map(timedFailure));
    Object.keys(calls).forEach((name, index) => {
      const { error, elapsed } = outcomes[index]!;
      expect(error, name).toBeInstanceOf(StoreUnavailableError);
      expect((error as StoreUnavailableError).code, name).toBe('STORE_UNAVAILABLE');
      expect((error as Error).cause, name).toBeInstanceOf(Error);
      expect(elapsed, name).toBeLessThan(1500);
    });
  });

  it('once Redis has been down longer than the command timeout, calls fail at once', async () => {
    await sleep(1100);
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const { error, elapsed } = await timedFailure(() => store.loadSession(session.sid, 10_000));
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect(elapsed).toBeLessThan(250); // at once, next to the 1 s command timeout
    }
  });

  it('reads the same data again after Redis restarts on the same port', async () => {
    await server.restart();
    await waitFor('the store to reconnect', async () => {
      await store.ping();
      return true;
    });
    const bundle = await store.loadSession(session.sid, 60_000);
    expect(bundle).toEqual({ session, tokens: { ...rotated, ver: 2 } });
    expect(await store.findByProviderSid('op', 'op-session')).toEqual([session.sid]);
    expect(await store.takeEphemeral('login', 'state-1')).toBe('transaction');
  });

  it('reported the outage through the error listener, and nothing went unhandled', () => {
    expect(connectionErrors.length).toBeGreaterThan(0);
    expect(unhandled).toEqual([]);
  });
});

describe.skipIf(skip)('RedisStore with nothing listening', () => {
  const stores: RedisStore[] = [];
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
  });

  it('rejects within the command timeout when Redis was never reachable', async () => {
    const port = await freePort();
    const store = new RedisStore(redisConfig({ url: `redis://127.0.0.1:${port}`, commandTimeout: 300 }));
    stores.push(store);
    const { error, elapsed } = await timedFailure(() => store.loadSession('sid-1', 1000));
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(elapsed).toBeLessThan(800);
  });

  it('fails at once past maxOfflineQueue waiting calls instead of queueing without bound', async () => {
    const port = await freePort();
    const store = new RedisStore(redisConfig({ url: `redis://127.0.0.1:${port}`, commandTimeout: 600, maxOfflineQueue: 2 }));
    stores.push(store);
    const outcomes = await Promise.all(Array.from({ length: 6 }, () => timedFailure(() => store.getSession('sid-1'))));
    for (const { error } of outcomes) expect(error).toBeInstanceOf(StoreUnavailableError);
    const immediate = outcomes.filter(({ elapsed }) => elapsed < 100);
    expect(immediate.length).toBeGreaterThanOrEqual(4);
  });

  it('with maxOfflineQueue 0 never queues: every call fails at once', async () => {
    const port = await freePort();
    const store = new RedisStore(redisConfig({ url: `redis://127.0.0.1:${port}`, maxOfflineQueue: 0 }));
    stores.push(store);
    const { error, elapsed } = await timedFailure(() => store.getSession('sid-1'));
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(elapsed).toBeLessThan(250); // at once, next to the 1 s command timeout
  });
});
