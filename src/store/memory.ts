import { StoreUnavailableError } from '../errors.ts';
import { assertLimit, assertTtl, cappedTtl, decodeSession, decodeTokens, encodeTokens, readableSession, withVersion } from './codec.ts';
import { ExpiringMaps } from './expiring-maps.ts';
import { newSessionWrite } from './new-session.ts';
import { keyLayout, type KeyLayout } from './keys.ts';
import { PendingLogins } from './pending-logins.ts';
import type { CompareAndSetResult, PendingLoginAdmission, PendingLoginLimits, SessionBundle, SessionEntry, SessionRecord, Store, StoredTokenSet, UserSessionsPage } from './types.ts';

/**
 * The embedded store for development and single-process use: the same key layout and encoding
 * as Redis, held in ExpiringMaps. Expired entries are dropped when read, and an unref'd timer
 * sweeps every expired entry in time order (O(expired), however fast entries arrive). A session
 * that expires takes its user and provider-sid index entries with it. Every method runs to completion without
 * awaiting, so compare-and-set, take and markOnce are atomic within the process.
 */

export interface MemoryStoreOptions {
  /** Epoch ms; inject a fake clock to fast-forward TTLs in tests. */
  now?: () => number;
  /** How often the sweep runs. Default 10 s. */
  sweepIntervalMs?: number;
}

export class MemoryStore implements Store {
  readonly kind = 'memory';
  readonly #now: () => number;
  readonly #keys: KeyLayout = keyLayout('');
  /** `sess:` : what every session record's key starts with. */
  readonly #sessionKeyPrefix = this.#keys.session('x').sess.split('{')[0]!;
  readonly #data: ExpiringMaps;
  readonly #pending: PendingLogins;
  readonly #timer: NodeJS.Timeout;
  #closed = false;

  constructor(options: MemoryStoreOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#data = new ExpiringMaps(this.#now, { onExpired: (key, value) => this.#expired(key, value) });
    this.#pending = new PendingLogins(this.#now);
    this.#timer = setInterval(() => this.sweep(), options.sweepIntervalMs ?? 10_000);
    this.#timer.unref();
  }

  /** Drops every expired entry; returns how many it dropped. */
  sweep(): number {
    return this.#data.sweep();
  }

  /** Entries held (live, or expired and not yet swept): what the store costs in memory. */
  get size(): number {
    return this.#data.size;
  }

  async createSession(session: SessionRecord, tokens: Omit<StoredTokenSet, 'ver'>, ttlMs: number): Promise<void> {
    this.#assertOpen();
    const write = newSessionWrite(this.#keys, session, tokens, ttlMs, this.#now());
    this.#data.set(write.keys.sess, write.session, write.ttl);
    this.#data.set(write.keys.tok, write.tokens, write.ttl);
    for (const key of write.indexKeys) this.#data.addMember(key, session.sid, write.indexTtl);
  }

  async loadSession(sid: string, idleTtlMs: number): Promise<SessionBundle | null> {
    this.#assertOpen();
    assertTtl(idleTtlMs, 'idleTtlMs');
    return this.#slide(sid, idleTtlMs);
  }

  async getSession(sid: string): Promise<SessionRecord | null> {
    this.#assertOpen();
    const entry = this.#data.get(this.#keys.session(sid).sess);
    return entry ? decodeSession(entry.value) : null;
  }

  async destroySession(sid: string): Promise<SessionRecord | null> {
    this.#assertOpen();
    const entry = this.#data.get(this.#keys.session(sid).sess);
    this.#deleteSessionKeys(sid);
    if (!entry) return null;
    const session = readableSession(entry.value);
    // A corrupt record names no index entries to remove; stale ones are dropped on read.
    if (session === null) return null;
    this.#unindex(session);
    return session;
  }

  async getTokens(sid: string): Promise<StoredTokenSet | null> {
    this.#assertOpen();
    const entry = this.#data.get(this.#keys.session(sid).tok);
    return entry ? decodeTokens(entry.value) : null;
  }

  async compareAndSetTokens(sid: string, expectedVer: number, next: Omit<StoredTokenSet, 'ver'>): Promise<CompareAndSetResult> {
    this.#assertOpen();
    if (!Number.isSafeInteger(expectedVer)) throw new TypeError('expectedVer must be an integer');
    const entry = this.#data.get(this.#keys.session(sid).tok);
    if (!entry) return { ok: false, current: null };
    const current = decodeTokens(entry.value);
    if (current.ver !== expectedVer) return { ok: false, current };
    entry.value = encodeTokens(withVersion(next, expectedVer + 1));
    return { ok: true, ver: expectedVer + 1 };
  }

  async deleteTokens(sid: string, expectedVer?: number): Promise<boolean> {
    this.#assertOpen();
    if (expectedVer !== undefined && !Number.isSafeInteger(expectedVer)) throw new TypeError('expectedVer must be an integer');
    const key = this.#keys.session(sid).tok;
    const entry = this.#data.get(key);
    if (!entry) return false;
    if (expectedVer !== undefined && decodeTokens(entry.value).ver !== expectedVer) return false;
    this.#data.delete(key);
    return true;
  }

  async acquireLock(sid: string, owner: string, leaseMs: number): Promise<boolean> {
    this.#assertOpen();
    assertTtl(leaseMs, 'leaseMs');
    const key = this.#keys.session(sid).lock;
    if (this.#data.get(key)) return false;
    this.#data.set(key, owner, leaseMs);
    return true;
  }

  async renewLock(sid: string, owner: string, leaseMs: number): Promise<boolean> {
    this.#assertOpen();
    assertTtl(leaseMs, 'leaseMs');
    const entry = this.#data.get(this.#keys.session(sid).lock);
    if (entry?.value !== owner) return false;
    entry.expiresAt = this.#now() + leaseMs;
    return true;
  }

  async releaseLock(sid: string, owner: string): Promise<boolean> {
    this.#assertOpen();
    const key = this.#keys.session(sid).lock;
    if (this.#data.get(key)?.value !== owner) return false;
    this.#data.delete(key);
    return true;
  }

  async listUserSessions(provider: string, sub: string): Promise<string[]> {
    this.#assertOpen();
    return this.#liveMembers(this.#keys.user(provider, sub));
  }

  async describeUserSessions(provider: string, sub: string, limit: number): Promise<UserSessionsPage> {
    this.#assertOpen();
    assertLimit(limit);
    const now = this.#now();
    const sessions: SessionEntry[] = [];
    for (const sid of this.#liveMembers(this.#keys.user(provider, sub))) {
      const entry = this.#data.get(this.#keys.session(sid).sess);
      const session = entry ? readableSession(entry.value) : null;
      if (entry === undefined || session === null) continue;
      if (sessions.length === limit) return { sessions, truncated: true };
      sessions.push({ session, ttlMs: entry.expiresAt - now });
    }
    return { sessions, truncated: false };
  }

  async destroyUserSessions(provider: string, sub: string): Promise<string[]> {
    this.#assertOpen();
    const ended: string[] = [];
    for (const sid of this.#liveMembers(this.#keys.user(provider, sub))) {
      if (await this.destroySession(sid)) ended.push(sid);
    }
    return ended;
  }

  async findByProviderSid(provider: string, providerSid: string): Promise<string[]> {
    this.#assertOpen();
    return this.#liveMembers(this.#keys.providerSid(provider, providerSid));
  }

  async putEphemeral(namespace: string, id: string, value: string, ttlMs: number): Promise<void> {
    this.#assertOpen();
    assertTtl(ttlMs);
    this.#data.set(this.#keys.ephemeral(namespace, id), value, ttlMs);
  }

  async takeEphemeral(namespace: string, id: string): Promise<string | null> {
    this.#assertOpen();
    const key = this.#keys.ephemeral(namespace, id);
    const entry = this.#data.get(key);
    if (!entry) return null;
    this.#data.delete(key);
    return entry.value;
  }

  async admitPendingLogin(id: string, address: string, limits: PendingLoginLimits, ttlMs: number): Promise<PendingLoginAdmission> {
    this.#assertOpen();
    assertTtl(ttlMs);
    return this.#pending.admit(id, address, limits, ttlMs);
  }

  async releasePendingLogin(id: string, address: string): Promise<void> {
    this.#assertOpen();
    this.#pending.release(id, address);
  }

  async markOnce(namespace: string, id: string, ttlMs: number): Promise<boolean> {
    this.#assertOpen();
    assertTtl(ttlMs);
    const key = this.#keys.once(namespace, id);
    if (this.#data.get(key)) return false;
    this.#data.set(key, '1', ttlMs);
    return true;
  }

  async isMarked(namespace: string, id: string): Promise<boolean> {
    this.#assertOpen();
    return this.#data.get(this.#keys.once(namespace, id)) !== undefined;
  }

  async ping(): Promise<void> {
    this.#assertOpen();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#data.clear();
    this.#pending.clear();
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreUnavailableError('The session store is closed');
  }

  /** loadSession: slides both TTLs to min(ttl, absolute expiry - now). */
  #slide(sid: string, ttlMs: number): SessionBundle | null {
    const keys = this.#keys.session(sid);
    const sessEntry = this.#data.get(keys.sess);
    if (!sessEntry) return null;
    const session = decodeSession(sessEntry.value);
    const now = this.#now();
    const ttl = cappedTtl(ttlMs, session.absoluteExpiresAt, now);
    if (ttl <= 0) {
      this.#deleteSessionKeys(sid);
      this.#unindex(session);
      return null;
    }
    sessEntry.expiresAt = now + ttl;
    const tokEntry = this.#data.get(keys.tok);
    if (tokEntry) tokEntry.expiresAt = now + ttl;
    return { session, tokens: tokEntry ? decodeTokens(tokEntry.value) : null };
  }

  #unindex(session: SessionRecord): void {
    for (const key of this.#keys.indexes(session)) this.#data.removeMember(key, session.sid);
  }

  /** A session record that expired: its index entries go too (they would otherwise stay until the absolute timeout). */
  #expired(key: string, value: string): void {
    if (!key.startsWith(this.#sessionKeyPrefix)) return;
    // A corrupt record names no index entries; stale ones are dropped on read.
    const session = readableSession(value);
    if (session !== null) this.#unindex(session);
  }

  #deleteSessionKeys(sid: string): void {
    const keys = this.#keys.session(sid);
    this.#data.delete(keys.sess, keys.tok, keys.lock);
  }

  /** Members whose session still exists; stale ones are dropped from the set. */
  #liveMembers(key: string): string[] {
    const live: string[] = [];
    for (const sid of this.#data.members(key)) {
      if (this.#data.get(this.#keys.session(sid).sess)) live.push(sid);
      else this.#data.removeMember(key, sid);
    }
    return live;
  }
}
