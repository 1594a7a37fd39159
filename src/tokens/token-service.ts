import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Keyring } from '../crypto/keyring.ts';
import type { DpopKey } from '../dpop/key.ts';
import { DpopKeys } from '../dpop/sealed-key.ts';
import { DecryptionFailedError, ReauthenticationRequiredError, TokenServiceUnavailableError } from '../errors.ts';
import { sessionTag } from '../observability/index.ts';
import type { ProviderTokens } from '../providers/types.ts';
import type { SessionRecord, Store, StoredTokenSet } from '../store/types.ts';
import { BearerToken } from './bearer-token.ts';
import { type Clock, backgroundClock } from '../clock.ts';
import { endCorruptSession } from './corrupt-token-set.ts';
import { Refresher, type RefreshResult } from './refresher.ts';
import { withinRefreshWait } from './refresh-wait.ts';
import { Resealer } from './resealer.ts';
import type { LinkedTokens, RouteTokenTarget } from './route-token.ts';
import { RouteTokens } from './route-tokens.ts';
import { isExpired, isRefreshDue, mustWaitForRefresh } from './refresh-window.ts';
import { type Flight, SingleFlight } from './single-flight.ts';
import { SEAL_FIELDS, loginVer } from './token-set.ts';
import type { TokenConfig, TokenServiceOptions } from './types.ts';

/**
 * The only code that refreshes tokens, and that writes every token set after the first (login
 * writes that one with the new session). DESIGN.md steps 3 to 6.
 *
 * `getAccessToken` answers the access token for a session. Inside the refresh window
 * (`now >= exp - min(buffer, lifetime / 2)`) it starts a refresh; while the current token has
 * more than `expiryMargin` left it answers that token at once and the refresh goes on in the
 * background (stale-while-revalidate). Only an expired token, or one within the margin, waits
 * for the refresh, and for at most `refreshWait`. `forceRefresh` is the upstream-401 path: it
 * refreshes even a token that is not due, unless the store already holds a newer one, or a
 * forced refresh of this session happened less than `forcedRefreshCooldown` ago.
 * Refreshes are single-flight: one per session in this process (a promise per sid), then one
 * across replicas (the store lock, see Refresher).
 *
 * Failures: grant revoked → session destroyed, 401 REAUTHENTICATION_REQUIRED; transient → the
 * current token while it has not expired, else 503 TOKEN_SERVICE_UNAVAILABLE with Retry-After;
 * reuse → token set cleared, 401; a token set that cannot be opened → session destroyed, 401;
 * store down → 503 STORE_UNAVAILABLE, session untouched.
 */

/** Imported DPoP keys kept in memory when TokenServiceOptions does not say. */
const DEFAULT_DPOP_KEYS = 10_000;

/** What the request already loaded (session middleware), so the common path costs no extra round trip. */
export interface LoadedSession {
  session?: SessionRecord | undefined;
  tokens?: StoredTokenSet | null | undefined;
}

export class TokenService {
  readonly #store: Store;
  readonly #keyring: Keyring;
  readonly #config: TokenConfig;
  readonly #now: () => number;
  readonly #clock: Clock;
  readonly #logger: Logger | undefined;
  readonly #refresher: Refresher;
  readonly #resealer: Resealer;
  readonly #dpopKeys: DpopKeys;
  readonly #flights = new SingleFlight<RefreshResult>();
  readonly #routeTokens: RouteTokens;

  constructor(options: TokenServiceOptions) {
    this.#store = options.store;
    this.#keyring = options.keyring;
    this.#config = options.config;
    this.#now = options.now ?? Date.now;
    this.#clock = options.clock ?? backgroundClock;
    this.#logger = options.logger;
    const instanceId = options.instanceId ?? randomUUID().slice(0, 8);
    this.#dpopKeys = new DpopKeys(options.keyring, options.dpopKeyCacheSize ?? DEFAULT_DPOP_KEYS);
    this.#resealer = new Resealer({ store: options.store, keyring: options.keyring, logger: options.logger, tag: sessionTag, instanceId, leaseMs: options.config.lockLease });
    const parts = { store: options.store, providers: options.providers, keyring: options.keyring, config: options.config, now: this.#now, clock: this.#clock, instanceId, logger: options.logger, metrics: options.metrics, tag: sessionTag, dpopKeys: this.#dpopKeys };
    this.#refresher = new Refresher(parts);
    this.#routeTokens = new RouteTokens({ ...parts, loginToken: (sid, session) => this.getAccessToken(sid, { session }), renewLoginToken: (sid, session, staleVer) => this.forceRefresh(sid, staleVer, { session }) });
  }

  /**
   * The session's DPoP key (RFC 9449) when it has one: the key every proof of its requests is
   * signed with, whichever of its tokens is sent. Undefined for sessions without DPoP. A key that
   * cannot be opened ends the session as any corrupt token set does.
   */
  async dpopKey(sid: string, stored: StoredTokenSet | null | undefined, session?: SessionRecord): Promise<DpopKey | undefined> {
    const sealed = stored?.dpopKey;
    if (sealed === undefined) return undefined;
    return this.#unlessCorrupt(sid, session, () => this.#dpopKeys.forSession(sid, sealed));
  }

  /** The access token to send upstream for this session, refreshed first when it must be. */
  async getAccessToken(sid: string, loaded: LoadedSession = {}): Promise<BearerToken> {
    const stored = loaded.tokens !== undefined ? loaded.tokens : await this.#store.getTokens(sid);
    if (stored === null) throw new ReauthenticationRequiredError(undefined, { outcome: 'no_token_set' });
    return this.#unlessCorrupt(sid, loaded.session, () => this.#currentToken(sid, loaded.session, stored));
  }

  async #currentToken(sid: string, session: SessionRecord | undefined, stored: StoredTokenSet): Promise<BearerToken> {
    const now = this.#now();
    // Not due, or nothing can renew it: used until it expires, then the user must log in again.
    if (!isRefreshDue(stored, now, this.#config.refreshBuffer) || (stored.refreshToken === undefined && !isExpired(stored, now))) {
      const bearer = this.#bearer(sid, stored, 'none');
      // Opened fine: if an older key sealed it, seal it again under the current one (a refresh does that itself).
      this.#resealer.resealIfOld(sid, stored);
      return bearer;
    }
    if (stored.refreshToken === undefined) throw new ReauthenticationRequiredError(undefined, { outcome: 'no_refresh_token' });
    const bearer = this.#bearer(sid, stored, 'background');
    const flight = this.#startRefresh(sid, session, loginVer(stored), false);
    if (!mustWaitForRefresh(stored, now, this.#config.expiryMargin)) return bearer;
    try {
      return await this.#awaitFlight(flight);
    } catch (err) {
      if (err instanceof TokenServiceUnavailableError && !isExpired(stored, this.#now())) {
        return new BearerToken({ accessToken: bearer.accessToken, ver: bearer.ver, expiresAt: bearer.expiresAt, outcome: 'transient' });
      }
      throw err;
    }
  }

  /**
   * The access token of a route that has its own (`resource`, `exchange`; see route-tokens.ts),
   * obtained on first use and renewed like the login's.
   */
  async getRouteToken(sid: string, target: RouteTokenTarget, loaded: LoadedSession = {}): Promise<BearerToken> {
    const stored = loaded.tokens !== undefined ? loaded.tokens : await this.#store.getTokens(sid);
    const session = loaded.session ?? (await this.#store.getSession(sid));
    if (stored === null || session === null) throw new ReauthenticationRequiredError(undefined, { outcome: 'no_token_set' });
    return this.#unlessCorrupt(sid, session, async () => {
      const bearer = await this.#routeTokens.get(sid, session, stored, target);
      if (bearer.outcome === 'none') this.#resealer.resealIfOld(sid, stored);
      return bearer;
    });
  }

  /** Stores the tokens of a provider linked to the session (`/auth/link`) for the user `account` there; see RouteTokens.link. */
  linkProvider(sid: string, providerId: string, tokens: ProviderTokens, account: string): Promise<LinkedTokens | undefined> {
    return this.#routeTokens.link(sid, providerId, tokens, account);
  }

  /** `forceRefresh` for a route's own token: `staleVer` is the rejected token's stamp (`BearerToken.ver`). */
  async forceRouteRefresh(sid: string, target: RouteTokenTarget, staleVer: number, loaded: Pick<LoadedSession, 'session'> = {}): Promise<BearerToken | undefined> {
    const session = loaded.session ?? (await this.#store.getSession(sid));
    if (session === null) throw new ReauthenticationRequiredError(undefined, { outcome: 'no_token_set' });
    return this.#unlessCorrupt(sid, session, () => this.#routeTokens.forceRefresh(sid, session, target, staleVer));
  }

  /**
   * The upstream rejected the token of `staleVer`. Answers a newer token: the one already in the
   * store when its `ver` moved past `staleVer`, otherwise a fresh one from a (single-flight)
   * refresh. Undefined when the rejected token is still the current one and a forced refresh of
   * this session happened less than `forcedRefreshCooldown` ago: no new refresh, the caller
   * answers the upstream's 401. There is no fallback to the rejected token: transient failures
   * answer 503.
   */
  async forceRefresh(sid: string, staleVer: number, loaded: Pick<LoadedSession, 'session'> = {}): Promise<BearerToken | undefined> {
    const stored = await this.#store.getTokens(sid);
    if (stored === null) throw new ReauthenticationRequiredError(undefined, { outcome: 'no_token_set' });
    return this.#unlessCorrupt(sid, loaded.session, async () => {
      if (loginVer(stored) > staleVer) return this.#bearer(sid, stored, 'coalesced');
      if (stored.refreshToken === undefined) throw new ReauthenticationRequiredError(undefined, { outcome: 'no_refresh_token' });
      if (this.#coolingDown(stored)) return undefined;
      const bearer = await this.#awaitFlight(this.#startRefresh(sid, loaded.session, loginVer(stored), true));
      // A flight that began before the rejected token was written can end on that very token.
      if (bearer.ver > staleVer) return bearer;
      return this.#awaitFlight(this.#startRefresh(sid, loaded.session, bearer.ver, true));
    });
  }

  /** Resolves once no refresh is in flight in this process (shutdown waits on it). Never rejects. */
  async idle(): Promise<void> {
    await Promise.all([this.#flights.idle(), this.#resealer.idle(), this.#routeTokens.idle()]);
  }

  /**
   * Shutdown, after the grace period: releases the refresh locks of refreshes still running, so
   * other replicas need not wait for the lease to lapse; a refresh whose provider call is under
   * way is aborted and its lock parked for one lease instead (its refresh token may have been
   * redeemed). Resolves with how many locks were released.
   */
  async releaseLocks(): Promise<number> {
    const [login, routes] = await Promise.all([this.#refresher.releaseHeldLocks(), this.#routeTokens.releaseHeldLocks()]);
    return login + routes;
  }

  #coolingDown(stored: StoredTokenSet): boolean {
    return stored.forcedAt !== undefined && this.#now() - stored.forcedAt < this.#config.forcedRefreshCooldown;
  }

  /** Starts (or joins) this session's refresh; it runs on whether or not anyone waits for it. */
  #startRefresh(sid: string, session: SessionRecord | undefined, knownVer: number, forced: boolean): Flight<RefreshResult> {
    return this.#flights.start(sid, async () => {
      const providerId = session?.provider ?? (await this.#store.getSession(sid))?.provider;
      if (providerId === undefined) throw new ReauthenticationRequiredError(undefined, { outcome: 'no_token_set' });
      return this.#refresher.refresh(sid, providerId, knownVer, { forced });
    });
  }

  /** Waits for a refresh for at most `refreshWait`; past that, 503 (the refresh goes on). */
  async #awaitFlight(flight: Flight<RefreshResult>): Promise<BearerToken> {
    const value = await withinRefreshWait(flight.promise, this.#config.refreshWait, this.#clock);
    return new BearerToken({
      accessToken: value.tokens.accessToken,
      ver: value.tokens.ver,
      expiresAt: value.tokens.expiresAt,
      outcome: flight.joined ? 'coalesced' : value.outcome,
    });
  }

  /** A stored token set that cannot be opened ends the session: 401 instead of 500 forever. */
  async #unlessCorrupt<T>(sid: string, session: SessionRecord | undefined, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      if (!(err instanceof DecryptionFailedError)) throw err;
      throw await endCorruptSession({ store: this.#store, logger: this.#logger, tag: sessionTag }, sid, session?.provider);
    }
  }

  #bearer(sid: string, stored: StoredTokenSet, outcome: 'none' | 'background' | 'transient' | 'coalesced'): BearerToken {
    return new BearerToken({
      accessToken: this.#keyring.open(stored.accessToken, sid, SEAL_FIELDS.access),
      ver: loginVer(stored),
      expiresAt: stored.expiresAt,
      outcome,
    });
  }
}
