import { randomUUID } from 'node:crypto';
import type { Keyring } from '../crypto/keyring.ts';
import { ReauthenticationRequiredError, TokenServiceUnavailableError } from '../errors.ts';
import { sessionTag } from '../observability/index.ts';
import type { SessionRecord, Store, StoredTokenSet } from '../store/types.ts';
import { BearerToken } from './bearer-token.ts';
import { Refresher, type RefreshResult } from './refresher.ts';
import { isExpired, isRefreshDue } from './refresh-window.ts';
import { SingleFlight } from './single-flight.ts';
import { SEAL_FIELDS } from './token-set.ts';
import type { TokenConfig, TokenServiceOptions } from './types.ts';

/**
 * The only code that refreshes or writes tokens (DESIGN.md steps 3 to 6).
 *
 * `getAccessToken` answers the access token for a session, refreshing first when it is due
 * (`now >= exp - min(buffer, lifetime / 2)`). `forceRefresh` is the upstream-401 path: it
 * refreshes even a token that is not due, unless the store already holds a newer one.
 * Refreshes are single-flight: one per session in this process (a promise per sid), then one
 * across replicas (the store lock, see Refresher).
 *
 * Failures: grant revoked → session destroyed, 401 REAUTHENTICATION_REQUIRED; transient → the
 * current token while it has not expired, else 503 TOKEN_SERVICE_UNAVAILABLE with Retry-After;
 * reuse → token set cleared, 401; store down → 503 STORE_UNAVAILABLE, session untouched.
 */

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
  readonly #refresher: Refresher;
  readonly #flights = new SingleFlight<RefreshResult>();

  constructor(options: TokenServiceOptions) {
    this.#store = options.store;
    this.#keyring = options.keyring;
    this.#config = options.config;
    this.#now = options.now ?? Date.now;
    this.#refresher = new Refresher({
      store: options.store,
      providers: options.providers,
      keyring: options.keyring,
      config: options.config,
      now: this.#now,
      instanceId: options.instanceId ?? randomUUID().slice(0, 8),
      logger: options.logger,
      metrics: options.metrics,
      tag: sessionTag,
    });
  }

  /** The access token to send upstream for this session, refreshed first when due. */
  async getAccessToken(sid: string, loaded: LoadedSession = {}): Promise<BearerToken> {
    const stored = loaded.tokens !== undefined ? loaded.tokens : await this.#store.getTokens(sid);
    if (stored === null) throw new ReauthenticationRequiredError();
    const now = this.#now();
    if (!isRefreshDue(stored, now, this.#config.refreshBuffer)) return this.#bearer(sid, stored, 'none');
    if (stored.refreshToken === undefined) {
      // Nothing can renew this token: use it until it expires, then the user must log in again.
      if (!isExpired(stored, now)) return this.#bearer(sid, stored, 'none');
      throw new ReauthenticationRequiredError();
    }
    try {
      return await this.#refresh(sid, loaded.session, stored.ver);
    } catch (err) {
      if (err instanceof TokenServiceUnavailableError && !isExpired(stored, this.#now())) {
        return this.#bearer(sid, stored, 'transient');
      }
      throw err;
    }
  }

  /**
   * The upstream rejected the token of `staleVer`. Answers a newer token: the one already in the
   * store when its `ver` moved past `staleVer`, otherwise a fresh one from a (single-flight)
   * refresh. There is no fallback to the rejected token: transient failures answer 503.
   */
  async forceRefresh(sid: string, staleVer: number, loaded: Pick<LoadedSession, 'session'> = {}): Promise<BearerToken> {
    const stored = await this.#store.getTokens(sid);
    if (stored === null) throw new ReauthenticationRequiredError();
    if (stored.ver > staleVer) return this.#bearer(sid, stored, 'coalesced');
    if (stored.refreshToken === undefined) throw new ReauthenticationRequiredError();
    const bearer = await this.#refresh(sid, loaded.session, stored.ver);
    // A flight that began before the rejected token was written can end on that very token.
    if (bearer.ver > staleVer) return bearer;
    return this.#refresh(sid, loaded.session, bearer.ver);
  }

  /** Resolves once no refresh is in flight in this process (shutdown waits on it). Never rejects. */
  idle(): Promise<void> {
    return this.#flights.idle();
  }

  /**
   * Shutdown, after the grace period: releases the refresh locks of refreshes still running, so
   * other replicas need not wait for the lease to lapse. Resolves with how many were released.
   */
  releaseLocks(): Promise<number> {
    return this.#refresher.releaseHeldLocks();
  }

  /** True when the stored token set is due for a refresh at the current time. */
  refreshDue(tokens: StoredTokenSet): boolean {
    return isRefreshDue(tokens, this.#now(), this.#config.refreshBuffer);
  }

  async #refresh(sid: string, session: SessionRecord | undefined, knownVer: number): Promise<BearerToken> {
    const providerId = session?.provider ?? (await this.#store.getSession(sid))?.provider;
    if (providerId === undefined) throw new ReauthenticationRequiredError();
    const { value, joined } = await this.#flights.run(sid, () => this.#refresher.refresh(sid, providerId, knownVer));
    return new BearerToken({
      accessToken: value.tokens.accessToken,
      ver: value.tokens.ver,
      expiresAt: value.tokens.expiresAt,
      outcome: joined ? 'coalesced' : value.outcome,
    });
  }

  #bearer(sid: string, stored: StoredTokenSet, outcome: 'none' | 'transient' | 'coalesced'): BearerToken {
    return new BearerToken({
      accessToken: this.#keyring.open(stored.accessToken, sid, SEAL_FIELDS.access),
      ver: stored.ver,
      expiresAt: stored.expiresAt,
      outcome,
    });
  }
}
