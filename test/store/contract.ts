import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Store, StoredTokenSet } from '../../src/store/types.ts';
import { ephemeralContract } from './contract-ephemeral.ts';
import { indexContract } from './contract-indexes.ts';
import { lifetimeContract } from './contract-lifetimes.ts';
import { makeSession, makeTokens, newSid, scaled, type ContractContext, type MakeStore, type StoreContractOptions } from './contract-fixtures.ts';

export type { MakeStore, StoreContractOptions } from './contract-fixtures.ts';

/**
 * The one Store contract, run against every implementation (memory, Redis, Redis Cluster).
 * Time goes through `fastForward`: a fake clock for the memory store, a real sleep for Redis,
 * so every duration here is short (hundreds of ms) with at least 100 ms between a deadline
 * and the check on either side of it.
 */

export function runStoreContract(name: string, makeStore: MakeStore, options: StoreContractOptions): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store | undefined;
    const context: ContractContext = {
      store: () => {
        if (!store) throw new Error('store not created');
        return store;
      },
      options,
    };

    beforeEach(async () => {
      store = await makeStore();
    });

    afterEach(async () => {
      await store?.close();
      store = undefined;
    });

    sessionContract(context);
    tokenContract(context);
    lifetimeContract(context);
    lockContract(context);
    indexContract(context);
    ephemeralContract(context);
    lifecycleContract(context);
  });
}

function sessionContract({ store, options }: ContractContext): void {
  describe('sessions', () => {
    it('a created session loads with its token set at ver 1', async () => {
      const session = makeSession(options.now(), { providerSid: 'op-session-1' });
      const tokens = makeTokens('a', options.now());
      await store().createSession(session, tokens, 10_000);
      const bundle = await store().loadSession(session.sid, 10_000);
      expect(bundle).toEqual({ session, tokens: { ...tokens, ver: 1 } });
      expect(await store().getSession(session.sid)).toEqual(session);
      expect(await store().getTokens(session.sid)).toEqual({ ...tokens, ver: 1 });
    });

    it('an unknown sid is null everywhere, never an error', async () => {
      const sid = newSid();
      expect(await store().loadSession(sid, 10_000)).toBeNull();
      expect(await store().getSession(sid)).toBeNull();
      expect(await store().getTokens(sid)).toBeNull();
      expect(await store().destroySession(sid)).toBeNull();
    });

    it('a record read back is a copy: changing it does not change the store', async () => {
      const session = makeSession(options.now());
      await store().createSession(session, makeTokens('copy', options.now()), 10_000);
      const read = await store().getSession(session.sid);
      read!.claims.name = 'Mallory';
      const bundle = await store().loadSession(session.sid, 10_000);
      bundle!.tokens!.accessToken = 'changed';
      expect((await store().getSession(session.sid))!.claims.name).toBe('Ada');
      expect((await store().getTokens(session.sid))!.accessToken).toBe('v1.k.iv.access-copy');
    });

    it('destroySession returns the record and removes session, tokens, lock and index entries', async () => {
      const session = makeSession(options.now(), { providerSid: 'op-session-destroy' });
      await store().createSession(session, makeTokens('d', options.now()), 10_000);
      expect(await store().acquireLock(session.sid, 'replica-a', 10_000)).toBe(true);
      expect(await store().destroySession(session.sid)).toEqual(session);
      expect(await store().loadSession(session.sid, 10_000)).toBeNull();
      expect(await store().getTokens(session.sid)).toBeNull();
      expect(await store().acquireLock(session.sid, 'replica-b', 10_000)).toBe(true);
      expect(await store().listUserSessions(session.provider, session.sub)).toEqual([]);
      expect(await store().findByProviderSid(session.provider, 'op-session-destroy')).toEqual([]);
      expect(await store().destroySession(session.sid)).toBeNull();
    });

    it('rejects a sid that could break the key layout, and a non-positive TTL', async () => {
      const now = options.now();
      await expect(store().getSession('a}b')).rejects.toThrow(TypeError);
      await expect(store().loadSession('', 1000)).rejects.toThrow(TypeError);
      await expect(store().createSession(makeSession(now, { sid: 'x{y' }), makeTokens('x', now), 1000)).rejects.toThrow(TypeError);
      await expect(store().createSession(makeSession(now), makeTokens('x', now), 0)).rejects.toThrow(RangeError);
      await expect(store().createSession(makeSession(now, { absoluteExpiresAt: now - 1 }), makeTokens('x', now), 1000)).rejects.toThrow(RangeError);
    });
  });
}

function tokenContract({ store, options }: ContractContext): void {
  describe('token compare-and-set', () => {
    it('succeeds on the current ver, increments it and stores the new set', async () => {
      const session = makeSession(options.now());
      await store().createSession(session, makeTokens('v1', options.now()), 10_000);
      const next = makeTokens('v2', options.now());
      expect(await store().compareAndSetTokens(session.sid, 1, next)).toEqual({ ok: true, ver: 2 });
      expect(await store().getTokens(session.sid)).toEqual({ ...next, ver: 2 });
      expect(await store().compareAndSetTokens(session.sid, 2, makeTokens('v3', options.now()))).toEqual({ ok: true, ver: 3 });
    });

    it('fails on a stale ver, writes nothing and returns what is stored', async () => {
      const session = makeSession(options.now());
      await store().createSession(session, makeTokens('v1', options.now()), 10_000);
      const winner = makeTokens('winner', options.now());
      await store().compareAndSetTokens(session.sid, 1, winner);
      const result = await store().compareAndSetTokens(session.sid, 1, makeTokens('loser', options.now()));
      expect(result).toEqual({ ok: false, current: { ...winner, ver: 2 } });
      expect(await store().getTokens(session.sid)).toEqual({ ...winner, ver: 2 });
    });

    it('a ver inside the new token set is ignored: only the store assigns versions', async () => {
      const session = makeSession(options.now());
      await store().createSession(session, { ...makeTokens('v1', options.now()), ver: 41 } as StoredTokenSet, 10_000);
      const next = { ...makeTokens('v2', options.now()), ver: 99 } as StoredTokenSet;
      expect(await store().compareAndSetTokens(session.sid, 1, next)).toEqual({ ok: true, ver: 2 });
      expect((await store().getTokens(session.sid))?.ver).toBe(2);
    });

    it('returns null as current when the session was destroyed or never existed', async () => {
      const session = makeSession(options.now());
      await store().createSession(session, makeTokens('v1', options.now()), 10_000);
      await store().destroySession(session.sid);
      expect(await store().compareAndSetTokens(session.sid, 1, makeTokens('v2', options.now()))).toEqual({ ok: false, current: null });
      expect(await store().getTokens(session.sid)).toBeNull();
      expect(await store().compareAndSetTokens(newSid(), 1, makeTokens('v2', options.now()))).toEqual({ ok: false, current: null });
    });

    it('of many concurrent writers on one ver, exactly one wins', async () => {
      const session = makeSession(options.now());
      await store().createSession(session, makeTokens('v1', options.now()), 10_000);
      const writers = Array.from({ length: 25 }, (_, index) => makeTokens(`writer-${index}`, options.now()));
      const results = await Promise.all(writers.map((tokens) => store().compareAndSetTokens(session.sid, 1, tokens)));
      const winners = results.flatMap((result, index) => (result.ok ? [index] : []));
      expect(winners).toHaveLength(1);
      const stored = await store().getTokens(session.sid);
      expect(stored).toEqual({ ...writers[winners[0]!], ver: 2 });
      for (const result of results) {
        if (!result.ok) expect(result.current).toEqual(stored);
      }
    });

    it('deleteTokens removes the set only on a matching ver (or unconditionally); the session stays', async () => {
      const session = makeSession(options.now());
      await store().createSession(session, makeTokens('v1', options.now()), 10_000);
      expect(await store().deleteTokens(session.sid, 7)).toBe(false);
      expect(await store().getTokens(session.sid)).not.toBeNull();
      expect(await store().deleteTokens(session.sid, 1)).toBe(true);
      expect(await store().loadSession(session.sid, 10_000)).toEqual({ session, tokens: null });
      expect(await store().deleteTokens(session.sid)).toBe(false);

      const other = makeSession(options.now());
      await store().createSession(other, makeTokens('o', options.now()), 10_000);
      expect(await store().deleteTokens(other.sid)).toBe(true);
      expect(await store().getTokens(other.sid)).toBeNull();
    });
  });
}

function lockContract({ store, options }: ContractContext): void {
  const t = (ms: number) => scaled(options, ms);
  describe('refresh locks', () => {
    it('only one owner holds the lock; a second acquire fails, even by the holder', async () => {
      const sid = newSid();
      expect(await store().acquireLock(sid, 'a', 10_000)).toBe(true);
      expect(await store().acquireLock(sid, 'b', 10_000)).toBe(false);
      expect(await store().acquireLock(sid, 'a', 10_000)).toBe(false);
    });

    it('of many concurrent acquirers, exactly one gets the lock', async () => {
      const sid = newSid();
      const results = await Promise.all(Array.from({ length: 20 }, (_, index) => store().acquireLock(sid, `owner-${index}`, 10_000)));
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    it('only the owner releases it', async () => {
      const sid = newSid();
      await store().acquireLock(sid, 'a', 10_000);
      expect(await store().releaseLock(sid, 'b')).toBe(false);
      expect(await store().acquireLock(sid, 'b', 10_000)).toBe(false);
      expect(await store().releaseLock(sid, 'a')).toBe(true);
      expect(await store().releaseLock(sid, 'a')).toBe(false);
      expect(await store().acquireLock(sid, 'b', 10_000)).toBe(true);
    });

    it('only the owner renews it, and renewing extends the lease', async () => {
      const sid = newSid();
      await store().acquireLock(sid, 'a', t(300));
      expect(await store().renewLock(sid, 'b', t(300))).toBe(false);
      await options.fastForward(t(150));
      expect(await store().renewLock(sid, 'a', t(300))).toBe(true);
      await options.fastForward(t(200));
      expect(await store().acquireLock(sid, 'b', t(300))).toBe(false);
      await options.fastForward(t(200));
      expect(await store().acquireLock(sid, 'b', t(300))).toBe(true);
    });

    it('an expired lease frees the lock; the old owner can neither renew nor release it', async () => {
      const sid = newSid();
      await store().acquireLock(sid, 'a', t(200));
      await options.fastForward(t(300));
      expect(await store().renewLock(sid, 'a', t(200))).toBe(false);
      expect(await store().acquireLock(sid, 'b', 10_000)).toBe(true);
      expect(await store().releaseLock(sid, 'a')).toBe(false);
      expect(await store().renewLock(sid, 'a', t(200))).toBe(false);
    });
  });
}

function lifecycleContract({ store }: ContractContext): void {
  describe('lifecycle', () => {
    it('ping answers while open; after close every call rejects with STORE_UNAVAILABLE', async () => {
      await expect(store().ping()).resolves.toBeUndefined();
      await store().close();
      await expect(store().ping()).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE', status: 503 });
      await expect(store().loadSession(newSid(), 1000)).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
      await expect(store().markOnce('jti', 'x', 1000)).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
      await store().close();
    });
  });
}
