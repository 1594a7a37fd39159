/**
 * The Store contract. Only `src/store/` knows key names and Redis; everything else sees this
 * interface. Every method either completes or rejects with StoreUnavailableError within the
 * configured command timeout: it never hangs.
 *
 * Token sets hold only sealed values (see src/crypto). Tokens are written only through
 * `compareAndSetTokens` (or together with a brand-new session in `createSession`), never by
 * writing back a record that was read earlier.
 */

/** The session record: who is logged in. Never holds a token. */
export interface SessionRecord {
  sid: string;
  /** Provider id from config. */
  provider: string;
  /** Subject at the provider. */
  sub: string;
  /** Display claims only. */
  claims: { name?: string; email?: string; picture?: string };
  /** The provider's own session id (OIDC `sid` claim), for back-channel logout. */
  providerSid?: string;
  /** Epoch ms. */
  createdAt: number;
  /** Epoch ms; the session never outlives this, however active. */
  absoluteExpiresAt: number;
  /** Device label from the login's User-Agent ("Firefox on Linux"), never the raw header. */
  device?: string;
}

/** A session of a user as the store sees it: the record and how long its keys still live. */
export interface SessionEntry {
  session: SessionRecord;
  /** The session key's remaining TTL, ms (the idle timeout slid at its last load). */
  ttlMs: number;
}

/** At most `limit` live sessions of one user, in no particular order. */
export interface UserSessionsPage {
  sessions: SessionEntry[];
  /** True when the user has more live sessions than were returned. */
  truncated: boolean;
}

/** A token set as stored: every token field is sealed (`v1.<kid>.<iv>.<ct>`). */
export interface StoredTokenSet {
  /** Incremented by every successful write. A new session starts at 1. */
  ver: number;
  accessToken: string;
  refreshToken?: string;
  idToken?: string;
  /** Access-token expiry, epoch ms. Absent: the token does not expire (GitHub OAuth Apps). */
  expiresAt?: number;
  /** When the access token was obtained, epoch ms (for the lifetime/2 rule). */
  obtainedAt: number;
  scope?: string;
  tokenType: string;
  /**
   * When the last refresh forced by an upstream 401 wrote a token set (epoch ms); kept across
   * later refreshes. Within `tokens.forcedRefreshCooldown` of it a 401 forces no new refresh.
   */
  forcedAt?: number;
  /**
   * The session's per-route access tokens (RFC 8707 resource indicators, RFC 8693 token
   * exchange, a linked provider), by token key (`resource:<uri>`, `exchange:<audience> <scope>`,
   * `linked:<provider id>`). They share this record's `ver`, lock and compare-and-set; resource
   * tokens also the login grant's refresh token, a linked provider has its own.
   */
  resources?: Record<string, StoredRouteToken>;
  /**
   * The `ver` of the write that stored the login's access token, when later writes (a per-route
   * token, a re-seal) left that token as it was; absent: `ver` itself. How a waiter tells that the
   * login token was renewed (see `loginVer`).
   */
  accessVer?: number;
  /**
   * The session's DPoP private key (RFC 9449; providers with `dpop: true`): its JWK sealed under
   * `<sid>|dpop`. Written with the first token set and carried over by every later write.
   */
  dpopKey?: string;
  /**
   * RFC 8707: the resource indicators the login's authorization request named, so the only ones
   * its grant covers (absent: not known, sessions from before it was recorded or from providers
   * without resource indicators). A route token for any other resource is not asked for: the
   * provider would refuse it (`invalid_target`), and a provider may spend the refresh token first.
   * Written with the first token set and carried over by every later write.
   */
  grantResources?: string[];
}

/** One per-route access token of a token set (see `StoredTokenSet.resources`). */
export interface StoredRouteToken {
  /** Sealed, associated data `<sid>|access@<token key>`. */
  accessToken: string;
  /** The record `ver` that wrote this token: how a waiter tells that this token was renewed. */
  ver: number;
  /** Epoch ms; absent when the token does not expire. */
  expiresAt?: number;
  /** Epoch ms. */
  obtainedAt: number;
  scope?: string;
  tokenType: string;
  /** When an upstream 401 last forced this token's renewal (epoch ms); the cooldown is per token. */
  forcedAt?: number;
  /** A linked provider's token (`linked:<provider id>`): that provider's id. */
  provider?: string;
  /** A linked provider's own refresh token, sealed, associated data `<sid>|refresh@<token key>`. */
  refreshToken?: string;
  /**
   * A linked provider's: the linked user's id (`sub`) there. Linking the same account again may
   * reuse its grant (GitHub's is one per app and user), so the replaced tokens are not revoked.
   */
  account?: string;
}

export interface SessionBundle {
  session: SessionRecord;
  tokens: StoredTokenSet | null;
}

/** Whether a new pending login may start; when not, which limit and when the oldest one it counts ends. */
export type PendingLoginAdmission = { admitted: true } | { admitted: false; limit: 'address' | 'total'; retryAfterMs: number };

export interface PendingLoginLimits {
  perAddress: number;
  total: number;
}

/**
 * `unconfirmed`: written, but the store's replicas did not confirm it in time (Redis
 * `replicationWait`): a failover may still lose it. The caller keeps the refresh lock for one
 * more lease rather than releasing it.
 */
export type CompareAndSetResult = { ok: true; ver: number; unconfirmed?: boolean } | { ok: false; current: StoredTokenSet | null };

/**
 * A token write the Redis store's replicas did not confirm (`unconfirmed`), one made on a master
 * with no replica connected (`no_replica`: not waited for, and not at risk from a failover), or
 * an unconfirmed write that a failover lost and the store wrote again (`restored`). `acked`:
 * replicas that acknowledged, undefined when the wait was skipped or failed.
 */
export interface UnreplicatedWrite {
  outcome: 'unconfirmed' | 'no_replica' | 'restored';
  op: 'createSession' | 'compareAndSetTokens';
  wanted: number;
  acked: number | undefined;
}

export interface Store {
  readonly kind: 'memory' | 'redis';

  /**
   * Creates a session and its first token set (ver 1), indexes it by user and provider sid.
   * The TTL is capped at `absoluteExpiresAt`; a session already past it is a RangeError.
   * A sid is 1-128 characters of [A-Za-z0-9_-] (every method: TypeError otherwise).
   */
  createSession(session: SessionRecord, tokens: Omit<StoredTokenSet, 'ver'>, ttlMs: number): Promise<void>;
  /**
   * Reads the session and its token set and slides both TTLs to `min(idleTtlMs, absolute
   * expiry - now)`, in one round trip. Null when there is no such session.
   */
  loadSession(sid: string, idleTtlMs: number): Promise<SessionBundle | null>;
  getSession(sid: string): Promise<SessionRecord | null>;
  /** Removes the session, its tokens, its lock and its index entries. Returns what was there. */
  destroySession(sid: string): Promise<SessionRecord | null>;

  getTokens(sid: string): Promise<StoredTokenSet | null>;
  /**
   * Atomically: if the stored `ver` equals `expectedVer`, writes `next` with `ver =
   * expectedVer + 1`, keeping the key's TTL. Otherwise writes nothing and returns what is
   * stored (null when the token set is gone, e.g. the session was destroyed meanwhile).
   */
  compareAndSetTokens(sid: string, expectedVer: number, next: Omit<StoredTokenSet, 'ver'>): Promise<CompareAndSetResult>;
  /** Deletes the token set only if its `ver` is still `expectedVer` (reuse incident handling). */
  deleteTokens(sid: string, expectedVer?: number): Promise<boolean>;

  /** Takes the refresh lock if free. Not re-entrant: false while anyone holds it, `owner` too. */
  acquireLock(sid: string, owner: string, leaseMs: number): Promise<boolean>;
  /** Extends the lease only if `owner` still holds it. */
  renewLock(sid: string, owner: string, leaseMs: number): Promise<boolean>;
  /** Releases only if `owner` still holds it. */
  releaseLock(sid: string, owner: string): Promise<boolean>;

  listUserSessions(provider: string, sub: string): Promise<string[]>;
  /**
   * Reads, never writes (besides dropping stale index entries): up to `limit` live sessions of
   * the user with their records and remaining TTLs. A corrupt record is left out.
   */
  describeUserSessions(provider: string, sub: string, limit: number): Promise<UserSessionsPage>;
  /** Destroys every session of the user; returns the sids ended. */
  destroyUserSessions(provider: string, sub: string): Promise<string[]>;
  /** The Tokengate sids bound to a provider session id (back-channel logout by `sid`). */
  findByProviderSid(provider: string, providerSid: string): Promise<string[]>;

  /** Short-lived one-use records (login transactions). `take` reads and deletes atomically. */
  putEphemeral(namespace: string, id: string, value: string, ttlMs: number): Promise<void>;
  takeEphemeral(namespace: string, id: string): Promise<string | null>;
  /**
   * Counts login `id` as pending for `address` (any text: an IP address) for `ttlMs`, unless
   * `limits.perAddress` logins are already pending for that address or `limits.total` in all;
   * atomic, and shared by every replica on the same store.
   */
  admitPendingLogin(id: string, address: string, limits: PendingLoginLimits, ttlMs: number): Promise<PendingLoginAdmission>;
  /** The login finished (or was never stored): it stops counting. */
  releasePendingLogin(id: string, address: string): Promise<void>;
  /** True the first time a key is marked within ttl (replay guard, e.g. logout_token `jti`). */
  markOnce(namespace: string, id: string, ttlMs: number): Promise<boolean>;
  /** True while a key marked by markOnce lives; marks nothing (check first, mark after success). */
  isMarked(namespace: string, id: string): Promise<boolean>;

  /** Round trip to the backend; rejects with StoreUnavailableError when it does not answer. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
