import { assertTtl, cappedTtl } from './codec.ts';
import type { InvalidationListener } from './invalidation.ts';
import { assertSid } from './keys.ts';
import { bundleOf, NearCache } from './near-cache.ts';
import type { CompareAndSetResult, PendingLoginAdmission, PendingLoginLimits, SessionBundle, SessionRecord, Store, StoredTokenSet, UserSessionsPage } from './types.ts';

/**
 * The Redis store with a near cache in front of `loadSession`, the one store call of a
 * steady-state request: a replica that served a session recently answers it from process memory
 * (the record and the sealed token set, never an opened token), so the steady state makes no
 * Redis round trip.
 *
 * When the cache may answer (otherwise the call goes to Redis):
 * - only while the invalidation subscription is live (invalidation.ts): a replica that lost it
 *   has flushed and reads through until it has subscribed again;
 * - only before the Redis keys' known expiry (the TTL this replica last slid them to) and the
 *   session's absolute expiry, so the cache never outlives what Redis would answer;
 * - only until idleTimeout/10 after this replica last slid the TTL: then one `loadSession`
 *   goes through, slides the TTL in Redis and refills the entry. A session therefore idles out
 *   between 0.9 and 1.0 idle timeouts after its last request, never later.
 *
 * Every write (compare-and-set, token delete, destroy, logout everywhere)
 * goes to Redis, drops the local entry before and after, and is PUBLISHed by the Redis script
 * itself to every other replica. A failed read caches nothing and drops the entry. Refresh
 * locks, `getTokens` and `getSession` always go to Redis: the refresh path wants the truth.
 */

export interface CachedStoreOptions {
  maxEntries: number;
  listener: InvalidationListener;
  now: () => number;
}

/** The fraction of the idle timeout after which a cached session's TTL is slid in Redis again. */
const SLIDE_FRACTION = 10;

export class CachedStore implements Store {
  readonly kind = 'redis';
  readonly #inner: Store;
  readonly #cache: NearCache;
  readonly #listener: InvalidationListener;
  readonly #now: () => number;

  constructor(inner: Store, options: CachedStoreOptions) {
    this.#inner = inner;
    this.#cache = new NearCache(options.maxEntries);
    this.#listener = options.listener;
    this.#now = options.now;
  }

  /** The near cache (for the invalidation listener's callbacks and tests). */
  get cache(): NearCache {
    return this.#cache;
  }

  get listener(): InvalidationListener {
    return this.#listener;
  }

  async loadSession(sid: string, idleTtlMs: number): Promise<SessionBundle | null> {
    assertSid(sid);
    assertTtl(idleTtlMs, 'idleTtlMs');
    if (!this.#listener.live) return this.#inner.loadSession(sid, idleTtlMs);
    const now = this.#now();
    const entry = this.#cache.get(sid);
    if (entry !== undefined) {
      const fresh = entry.idleTtlMs === idleTtlMs && now - entry.slidAt < idleTtlMs / SLIDE_FRACTION;
      if (fresh && now < entry.keyExpiresAt && now < entry.session.absoluteExpiresAt) return bundleOf(entry);
    }
    const ticket = this.#cache.begin(sid);
    let bundle: SessionBundle | null;
    try {
      bundle = await this.#inner.loadSession(sid, idleTtlMs);
    } catch (err) {
      this.#cache.abandon(ticket);
      throw err;
    }
    if (bundle === null) {
      this.#cache.settle(ticket, null);
      return null;
    }
    const ttl = cappedTtl(idleTtlMs, bundle.session.absoluteExpiresAt, now);
    // Stored only while the subscription is still live: a read that straddled a reconnect is spoiled anyway.
    if (ttl > 0 && this.#listener.live) {
      this.#cache.settle(ticket, { ...bundleOf(bundle), slidAt: now, keyExpiresAt: now + ttl, idleTtlMs });
    } else {
      this.#cache.abandon(ticket);
    }
    return bundle;
  }

  async createSession(session: SessionRecord, tokens: Omit<StoredTokenSet, 'ver'>, ttlMs: number): Promise<void> {
    return this.#writing(session.sid, () => this.#inner.createSession(session, tokens, ttlMs));
  }

  getSession(sid: string): Promise<SessionRecord | null> {
    return this.#inner.getSession(sid);
  }

  async destroySession(sid: string): Promise<SessionRecord | null> {
    return this.#writing(sid, () => this.#inner.destroySession(sid));
  }

  async getTokens(sid: string): Promise<StoredTokenSet | null> {
    const tokens = await this.#inner.getTokens(sid);
    if (tokens === null) this.#cache.invalidate(sid);
    return tokens;
  }

  async compareAndSetTokens(sid: string, expectedVer: number, next: Omit<StoredTokenSet, 'ver'>): Promise<CompareAndSetResult> {
    // Success or not, the local entry is dropped: a failed CAS means it was stale.
    return this.#writing(sid, () => this.#inner.compareAndSetTokens(sid, expectedVer, next));
  }

  async deleteTokens(sid: string, expectedVer?: number): Promise<boolean> {
    return this.#writing(sid, () => this.#inner.deleteTokens(sid, expectedVer));
  }

  acquireLock(sid: string, owner: string, leaseMs: number): Promise<boolean> {
    return this.#inner.acquireLock(sid, owner, leaseMs);
  }

  renewLock(sid: string, owner: string, leaseMs: number): Promise<boolean> {
    return this.#inner.renewLock(sid, owner, leaseMs);
  }

  releaseLock(sid: string, owner: string): Promise<boolean> {
    return this.#inner.releaseLock(sid, owner);
  }

  listUserSessions(provider: string, sub: string): Promise<string[]> {
    return this.#inner.listUserSessions(provider, sub);
  }

  async destroyUserSessions(provider: string, sub: string): Promise<string[]> {
    this.#cache.invalidateUser(provider, sub);
    try {
      const ended = await this.#inner.destroyUserSessions(provider, sub);
      for (const sid of ended) this.#cache.invalidate(sid);
      return ended;
    } finally {
      this.#cache.invalidateUser(provider, sub);
    }
  }

  findByProviderSid(provider: string, providerSid: string): Promise<string[]> {
    return this.#inner.findByProviderSid(provider, providerSid);
  }

  putEphemeral(namespace: string, id: string, value: string, ttlMs: number): Promise<void> {
    return this.#inner.putEphemeral(namespace, id, value, ttlMs);
  }

  takeEphemeral(namespace: string, id: string): Promise<string | null> {
    return this.#inner.takeEphemeral(namespace, id);
  }

  markOnce(namespace: string, id: string, ttlMs: number): Promise<boolean> {
    return this.#inner.markOnce(namespace, id, ttlMs);
  }

  isMarked(namespace: string, id: string): Promise<boolean> {
    return this.#inner.isMarked(namespace, id);
  }

  /**
   * Read through to Redis. With the near cache the idle TTL there is slid at most every
   * idleTimeout/10, so a last use derived from it is that precise (it is never later than the truth).
   */
  describeUserSessions(provider: string, sub: string, limit: number): Promise<UserSessionsPage> {
    return this.#inner.describeUserSessions(provider, sub, limit);
  }

  admitPendingLogin(id: string, address: string, limits: PendingLoginLimits, ttlMs: number): Promise<PendingLoginAdmission> {
    return this.#inner.admitPendingLogin(id, address, limits, ttlMs);
  }

  releasePendingLogin(id: string, address: string): Promise<void> {
    return this.#inner.releasePendingLogin(id, address);
  }

  ping(): Promise<void> {
    return this.#inner.ping();
  }

  async close(): Promise<void> {
    this.#listener.close();
    this.#cache.clear();
    await this.#inner.close();
  }

  /**
   * A write of sid's keys: the entry is dropped before (reads in flight are spoiled) and after
   * (a read that began meanwhile is spoiled too), whether the write succeeded or not.
   */
  async #writing<T>(sid: string, write: () => Promise<T>): Promise<T> {
    this.#cache.invalidate(sid);
    try {
      return await write();
    } finally {
      this.#cache.invalidate(sid);
    }
  }
}
