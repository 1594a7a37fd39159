import { Cluster } from 'ioredis';
import type { RedisConfig } from '../config/schema.ts';
import { StoreUnavailableError } from '../errors.ts';
import { assertLimit, assertTtl, decodeSession, decodeTokens, encodeTokens, readableSession, withVersion } from './codec.ts';
import { sanitizedCause, toStoreError, withDeadline } from './failure.ts';
import { keyLayout, type KeyLayout } from './keys.ts';
import { newSessionWrite } from './new-session.ts';
import { describeIndexedSessions } from './redis-describe.ts';
import { createRedisClient, type RedisClient } from './redis-client.ts';
import * as scripts from './redis-scripts.ts';
import { runScript, type RedisCommands } from './redis-scripts.ts';
import { TokenWrites } from './token-writes.ts';
import type { CompareAndSetResult, PendingLoginAdmission, PendingLoginLimits, SessionBundle, SessionRecord, Store, StoredTokenSet, UnreplicatedWrite, UserSessionsPage } from './types.ts';

/**
 * The Redis store (standalone, Sentinel or Cluster), key layout in keys.ts, read-modify-writes
 * in redis-scripts.ts. A request's session and token set come back in one script call, which
 * also slides both TTLs.
 *
 * Every call settles within `commandTimeout`: it resolves, or rejects with
 * StoreUnavailableError carrying a sanitized cause. While Redis is unreachable at most
 * `maxOfflineQueue` calls wait for it; the rest fail at once. Once the connection has been
 * down for longer than `commandTimeout`, calls fail at once instead of each waiting out the
 * timeout, until the client is ready again.
 *
 * Token writes (createSession, compareAndSetTokens) wait for the replicas when
 * `replicationWait` says so, and a token set a failover lost is written again: token-writes.ts.
 */

export interface RedisStoreOptions {
  /** Epoch ms; the clock that absolute session expiry is measured against. */
  now?: () => number;
  /** Connection-level errors (refused, reset, auth). Called on every failed reconnect attempt. */
  onConnectionError?: ((err: Error) => void) | undefined;
  /**
   * Where every change or deletion of a session's keys is PUBLISHed (the sid, atomically with
   * the write), for the near caches of all replicas. Unset: nothing is published.
   */
  invalidationChannel?: string | undefined;
  /** A token write the replicas did not confirm, or one written again after a failover lost it. */
  onUnreplicatedWrite?: ((event: UnreplicatedWrite) => void) | undefined;
  /** How long an unconfirmed compare-and-set is remembered for a restore (one refresh-lock lease; default 10 s). */
  rememberUnconfirmedMs?: number;
}

const DEFAULT_REMEMBER_UNCONFIRMED_MS = 10_000;

type SlideReply = [sess: string, tok: string | null] | null;

export class RedisStore implements Store {
  readonly kind = 'redis';
  readonly #client: RedisClient;
  readonly #redis: RedisCommands;
  readonly #keys: KeyLayout;
  readonly #now: () => number;
  readonly #timeoutMs: number;
  readonly #maxOfflineQueue: number;
  readonly #channel: string;
  readonly #tokenWrites: TokenWrites;
  #offlinePending = 0;
  /** performance.now() when the connection was last lost; undefined while ready. */
  #downSince: number | undefined;
  #closed = false;

  constructor(config: RedisConfig, options: RedisStoreOptions = {}) {
    this.#keys = keyLayout(config.keyPrefix);
    this.#now = options.now ?? Date.now;
    this.#timeoutMs = config.commandTimeout;
    this.#maxOfflineQueue = config.maxOfflineQueue;
    this.#channel = options.invalidationChannel ?? '';
    this.#client = createRedisClient(config);
    this.#redis = this.#client;
    this.#downSince = performance.now();
    const report = (err: unknown) => options.onConnectionError?.(sanitizedCause(err));
    this.#client.on('error', report);
    if (this.#client instanceof Cluster) this.#client.on('node error', report);
    this.#tokenWrites = new TokenWrites(this.#client, config, {
      report,
      onUnreplicatedWrite: options.onUnreplicatedWrite,
      rememberMs: options.rememberUnconfirmedMs ?? DEFAULT_REMEMBER_UNCONFIRMED_MS,
    });
    this.#client.on('ready', () => {
      this.#downSince = undefined;
    });
    this.#client.on('close', () => {
      this.#downSince ??= performance.now();
    });
  }

  async createSession(session: SessionRecord, tokens: Omit<StoredTokenSet, 'ver'>, ttlMs: number): Promise<void> {
    const write = newSessionWrite(this.#keys, session, tokens, ttlMs, this.#now());
    // Session first, index second: an index entry never names a session that was not written.
    return this.#call(async () => {
      await this.#tokenWrites.createSession([write.keys.sess, write.keys.tok], [write.session, write.tokens, write.ttl]);
      await Promise.all(write.indexKeys.map((key) => runScript(this.#redis, scripts.addToIndex, [key], [session.sid, write.indexTtl])));
    }, this.#tokenWrites.deadlineMs);
  }

  async loadSession(sid: string, idleTtlMs: number): Promise<SessionBundle | null> {
    assertTtl(idleTtlMs, 'idleTtlMs');
    const keys = this.#keys.session(sid);
    const now = this.#now();
    return this.#call(async () => {
      const reply = (await runScript(this.#redis, scripts.slideSession, [keys.sess, keys.tok, keys.lock], [idleTtlMs, now, this.#channel, sid])) as SlideReply;
      if (!reply) return null;
      const session = decodeSession(reply[0]);
      return { session, tokens: await this.#tokenWrites.restoreIfLost(sid, keys.tok, this.#channel, reply[1] ? decodeTokens(reply[1]) : null) };
    });
  }

  async getSession(sid: string): Promise<SessionRecord | null> {
    const key = this.#keys.session(sid).sess;
    return this.#call(async () => {
      const value = await this.#redis.get(key);
      return value === null ? null : decodeSession(value);
    });
  }

  async destroySession(sid: string): Promise<SessionRecord | null> {
    this.#keys.session(sid);
    return this.#call(() => this.#destroy(sid));
  }

  async getTokens(sid: string): Promise<StoredTokenSet | null> {
    const key = this.#keys.session(sid).tok;
    return this.#call(async () => {
      const value = await this.#redis.get(key);
      return this.#tokenWrites.restoreIfLost(sid, key, this.#channel, value === null ? null : decodeTokens(value));
    });
  }

  async compareAndSetTokens(sid: string, expectedVer: number, next: Omit<StoredTokenSet, 'ver'>): Promise<CompareAndSetResult> {
    if (!Number.isSafeInteger(expectedVer)) throw new TypeError('expectedVer must be an integer');
    const key = this.#keys.session(sid).tok;
    const value = encodeTokens(withVersion(next, expectedVer + 1));
    return this.#call(() => this.#tokenWrites.compareAndSet(sid, key, expectedVer, value, this.#channel), this.#tokenWrites.deadlineMs);
  }

  async deleteTokens(sid: string, expectedVer?: number): Promise<boolean> {
    if (expectedVer !== undefined && !Number.isSafeInteger(expectedVer)) throw new TypeError('expectedVer must be an integer');
    const key = this.#keys.session(sid).tok;
    return this.#call(async () => (await runScript(this.#redis, scripts.deleteTokens, [key], [expectedVer ?? '', this.#channel, sid])) === 1);
  }

  async acquireLock(sid: string, owner: string, leaseMs: number): Promise<boolean> {
    assertTtl(leaseMs, 'leaseMs');
    const key = this.#keys.session(sid).lock;
    return this.#call(async () => (await this.#redis.set(key, owner, 'PX', Math.ceil(leaseMs), 'NX')) === 'OK');
  }

  async renewLock(sid: string, owner: string, leaseMs: number): Promise<boolean> {
    assertTtl(leaseMs, 'leaseMs');
    const key = this.#keys.session(sid).lock;
    return this.#call(async () => (await runScript(this.#redis, scripts.renewLock, [key], [owner, Math.ceil(leaseMs)])) === 1);
  }

  async releaseLock(sid: string, owner: string): Promise<boolean> {
    const key = this.#keys.session(sid).lock;
    return this.#call(async () => (await runScript(this.#redis, scripts.releaseLock, [key], [owner])) === 1);
  }

  async listUserSessions(provider: string, sub: string): Promise<string[]> {
    const key = this.#keys.user(provider, sub);
    return this.#call(() => this.#liveMembers(key));
  }

  async describeUserSessions(provider: string, sub: string, limit: number): Promise<UserSessionsPage> {
    assertLimit(limit);
    const key = this.#keys.user(provider, sub);
    return this.#call(() => describeIndexedSessions(this.#redis, this.#keys, key, limit));
  }

  async destroyUserSessions(provider: string, sub: string): Promise<string[]> {
    const key = this.#keys.user(provider, sub);
    return this.#call(async () => {
      const sids = await this.#redis.smembers(key);
      const records = await Promise.all(sids.map((sid) => this.#destroy(sid)));
      const stale = sids.filter((_, index) => records[index] === null);
      if (stale.length > 0) await this.#redis.srem(key, ...stale);
      return sids.filter((_, index) => records[index] !== null);
    });
  }

  async findByProviderSid(provider: string, providerSid: string): Promise<string[]> {
    const key = this.#keys.providerSid(provider, providerSid);
    return this.#call(() => this.#liveMembers(key));
  }

  async putEphemeral(namespace: string, id: string, value: string, ttlMs: number): Promise<void> {
    assertTtl(ttlMs);
    const key = this.#keys.ephemeral(namespace, id);
    return this.#call(async () => {
      await this.#redis.set(key, value, 'PX', Math.ceil(ttlMs));
    });
  }

  async takeEphemeral(namespace: string, id: string): Promise<string | null> {
    const key = this.#keys.ephemeral(namespace, id);
    return this.#call(() => this.#redis.getdel(key));
  }

  async admitPendingLogin(id: string, address: string, limits: PendingLoginLimits, ttlMs: number): Promise<PendingLoginAdmission> {
    assertTtl(ttlMs);
    const keys = this.#keys.pendingLogins(address);
    return this.#call(async () => {
      const reply = (await runScript(this.#redis, scripts.admitPendingLogin, [keys.address, keys.all], [id, this.#now(), Math.ceil(ttlMs), limits.perAddress, limits.total])) as
        | [1]
        | [0, 'address' | 'total', number];
      if (reply[0] === 1) return { admitted: true };
      return { admitted: false, limit: reply[1], retryAfterMs: Number(reply[2]) };
    });
  }

  async releasePendingLogin(id: string, address: string): Promise<void> {
    const keys = this.#keys.pendingLogins(address);
    await this.#call(async () => {
      await Promise.all([this.#redis.zrem(keys.address, id), this.#redis.zrem(keys.all, id)]);
    });
  }

  async markOnce(namespace: string, id: string, ttlMs: number): Promise<boolean> {
    assertTtl(ttlMs);
    const key = this.#keys.once(namespace, id);
    return this.#call(async () => (await this.#redis.set(key, '1', 'PX', Math.ceil(ttlMs), 'NX')) === 'OK');
  }

  async isMarked(namespace: string, id: string): Promise<boolean> {
    const key = this.#keys.once(namespace, id);
    return this.#call(async () => (await this.#redis.exists(key)) === 1);
  }

  async ping(): Promise<void> {
    return this.#call(async () => {
      await this.#redis.ping();
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#client.status === 'ready') {
      try {
        await withDeadline(this.#client.quit(), this.#timeoutMs);
      } catch {
        // Closing regardless: disconnect below drops the connection either way.
      }
    }
    this.#client.disconnect();
    this.#tokenWrites.close();
  }

  /**
   * Runs one store call under the deadline (`commandTimeout`, or `deadlineMs`) and the
   * offline-queue bound; every failure becomes StoreUnavailableError. Arguments are validated by
   * the caller before this, so a programming error (TypeError, RangeError) is never disguised as
   * an outage.
   */
  async #call<T>(operation: () => Promise<T>, deadlineMs = this.#timeoutMs): Promise<T> {
    if (this.#closed) throw new StoreUnavailableError('The session store is closed');
    const offline = this.#client.status !== 'ready';
    if (offline) {
      if (this.#downSince !== undefined && performance.now() - this.#downSince > this.#timeoutMs) {
        throw new StoreUnavailableError(undefined, { cause: new Error(`Redis has been unreachable for over ${this.#timeoutMs} ms`) });
      }
      if (this.#offlinePending >= this.#maxOfflineQueue) {
        throw new StoreUnavailableError(undefined, { cause: new Error(`Redis is not connected and ${this.#offlinePending} calls are already waiting`) });
      }
      this.#offlinePending += 1;
    }
    try {
      return await withDeadline(operation(), deadlineMs);
    } catch (err) {
      throw toStoreError(err);
    } finally {
      if (offline) this.#offlinePending -= 1;
    }
  }

  async #destroy(sid: string): Promise<SessionRecord | null> {
    const keys = this.#keys.session(sid);
    const value = (await runScript(this.#redis, scripts.destroySession, [keys.sess, keys.tok, keys.lock], [this.#channel, sid])) as string | null;
    if (value === null) return null;
    const session = readableSession(value);
    // A corrupt record names no index entries to remove; stale ones are dropped on read.
    if (session === null) return null;
    // Index keys live on other slots (Cluster): one command each.
    await Promise.all(this.#keys.indexes(session).map((key) => this.#redis.srem(key, sid)));
    return session;
  }

  /** The index set's sids whose session still exists; stale ones are removed from the set. */
  async #liveMembers(key: string): Promise<string[]> {
    const sids = await this.#redis.smembers(key);
    if (sids.length === 0) return [];
    const exists = await Promise.all(sids.map((sid) => this.#redis.exists(this.#keys.session(sid).sess)));
    const stale = sids.filter((_, index) => exists[index] === 0);
    if (stale.length > 0) await this.#redis.srem(key, ...stale);
    return sids.filter((_, index) => exists[index] !== 0);
  }
}
