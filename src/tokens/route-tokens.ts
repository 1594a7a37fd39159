import { randomUUID } from 'node:crypto';
import { ProviderNotLinkedError, ReauthenticationRequiredError, RefreshTokenReuseError, TokenServiceUnavailableError } from '../errors.ts';
import type { Provider, ProviderTokens } from '../providers/types.ts';
import type { SessionRecord, StoredRouteToken, StoredTokenSet } from '../store/types.ts';
import { BearerToken } from './bearer-token.ts';
import { sleep } from '../clock.ts';
import { LockLease, releaseOrPark } from './lock-lease.ts';
import { seconds } from './provider-call.ts';
import { refreshOutcomeOf } from './outcome.ts';
import type { RefresherOptions } from './refresher.ts';
import { withinRefreshWait } from './refresh-wait.ts';
import { isExpired, isRefreshDue, mustWaitForRefresh } from './refresh-window.ts';
import { type LinkedTokens, linkedTarget, openLinkedTokens, openRouteToken, routeTokenOf, sealLinkedToken, type RouteTokenTarget } from './route-token.ts';
import { type Flight, SingleFlight } from './single-flight.ts';
import { SEAL_FIELDS, loginVer } from './token-set.ts';
import type { RefreshOutcome } from './types.ts';
import { resolveWriteConflict } from './write-conflict.ts';
import { grantRouteToken, SubjectRefused } from './route-token-grants.ts';

/**
 * Per-route access tokens (a token per API), with the guarantees of the login token:
 * obtained on first use of the route and renewed inside the same refresh window
 * (stale-while-revalidate within `expiryMargin`, waits of at most `refreshWait`), one flight per
 * (session, token key) in this process and one per session across replicas (the session's
 * refresh lock, shared with the login refresh), forced renewal after an upstream 401 with a
 * per-token cooldown, and every write a compare-and-set on the session's one token set.
 *
 * - `resource`: a refresh-token grant with `resource=<uri>` (RFC 8707). The refresh token is the
 *   login grant's, single-use under rotation: the call is made under the session's lock, and a
 *   rotated refresh token is stored as the login grant's new one.
 * - `exchange`: an RFC 8693 token exchange with the login's access token as the subject token
 *   (refreshed first when due); renewed by exchanging again.
 *
 * Coalescing compares the entry's own `ver` stamp (the record version that wrote it), not the
 * record's: a login refresh moves the record's `ver` without renewing any route token.
 */

const FIRST_POLL_MS = 10;
const MAX_POLL_MS = 100;

export interface RouteTokensOptions extends RefresherOptions {
  /** The login's access token, refreshed first when it must be (the subject of a token exchange). */
  loginToken(sid: string, session: SessionRecord): Promise<BearerToken>;
  /** A forced renewal of the login's access token stamped `staleVer` (TokenService.forceRefresh): undefined within its cooldown. */
  renewLoginToken(sid: string, session: SessionRecord, staleVer: number): Promise<BearerToken | undefined>;
}

type Obtained = { entry: StoredRouteToken; outcome: Extract<RefreshOutcome, 'success' | 'coalesced'> };

export class RouteTokens {
  readonly #o: RouteTokensOptions;
  readonly #flights = new SingleFlight<Obtained>();
  readonly #held = new Set<LockLease>();

  constructor(options: RouteTokensOptions) {
    this.#o = options;
  }

  /** The route's token for this session: the stored one, renewed first when it must be. */
  async get(sid: string, session: SessionRecord, stored: StoredTokenSet, target: RouteTokenTarget): Promise<BearerToken> {
    const { config } = this.#o;
    const entry = routeTokenOf(stored, target.key);
    // A linked provider's token comes only from /auth/link.
    if (entry === undefined && target.kind === 'linked') throw new ProviderNotLinkedError(target.provider);
    const now = this.#o.now();
    if (entry !== undefined && !isRefreshDue(entry, now, config.refreshBuffer)) return this.#bearer(sid, target, entry, 'none');
    const flight = this.#start(sid, session, target, entry?.ver, false);
    if (entry !== undefined && !mustWaitForRefresh(entry, now, config.expiryMargin)) return this.#bearer(sid, target, entry, 'background');
    try {
      return await this.#await(sid, target, flight);
    } catch (err) {
      if (err instanceof TokenServiceUnavailableError && entry !== undefined && !isExpired(entry, this.#o.now())) return this.#bearer(sid, target, entry, 'transient');
      throw err;
    }
  }

  /**
   * The upstream rejected the route token stamped `staleVer`: a newer one (already stored, or
   * renewed now), or undefined within the token's forced-renewal cooldown.
   */
  async forceRefresh(sid: string, session: SessionRecord, target: RouteTokenTarget, staleVer: number): Promise<BearerToken | undefined> {
    const stored = await this.#o.store.getTokens(sid);
    if (stored === null) throw new ReauthenticationRequiredError(undefined, { outcome: 'no_token_set' });
    const entry = routeTokenOf(stored, target.key);
    if (entry !== undefined && entry.ver > staleVer) return this.#bearer(sid, target, entry, 'coalesced');
    if (entry?.forcedAt !== undefined && this.#o.now() - entry.forcedAt < this.#o.config.forcedRefreshCooldown) return undefined;
    const bearer = await this.#await(sid, target, this.#start(sid, session, target, staleVer, true));
    if (bearer.ver > staleVer) return bearer;
    return this.#await(sid, target, this.#start(sid, session, target, bearer.ver, true));
  }

  /** Resolves once no route token is being obtained in this process. Never rejects. */
  idle(): Promise<void> {
    return this.#flights.idle();
  }

  /** Shutdown: releases the locks still held (a provider call under way is aborted, its lock parked). */
  async releaseHeldLocks(): Promise<number> {
    const leases = [...this.#held];
    this.#held.clear();
    const { released, parked } = await releaseOrPark(leases);
    if (parked > 0) this.#o.logger?.warn({ event: 'refresh_lock_parked', locks: parked }, 'API token calls cut off at shutdown: their locks lapse after one lease');
    return released;
  }

  #start(sid: string, session: SessionRecord, target: RouteTokenTarget, knownVer: number | undefined, forced: boolean): Flight<Obtained> {
    return this.#flights.start(`${sid}\n${target.key}`, async () => {
      try {
        const obtained = await this.#obtainOrWait(sid, session, target, knownVer ?? -1, forced);
        this.#o.metrics?.countRefresh?.(obtained.outcome);
        return obtained;
      } catch (err) {
        this.#o.metrics?.countRefresh?.(refreshOutcomeOf(err));
        throw err;
      }
    });
  }

  async #await(sid: string, target: RouteTokenTarget, flight: Flight<Obtained>): Promise<BearerToken> {
    const value = await withinRefreshWait(flight.promise, this.#o.config.refreshWait, this.#o.clock);
    return this.#bearer(sid, target, value.entry, flight.joined ? 'coalesced' : value.outcome);
  }

  /** Takes the session's lock, or waits for another holder to renew this token (its stamp moves). */
  async #obtainOrWait(sid: string, session: SessionRecord, target: RouteTokenTarget, knownVer: number, forced: boolean): Promise<Obtained> {
    const provider = this.#providerFor(session, target);
    const obtain = () =>
      this.#holdingLock<Obtained>(
        sid,
        (current) => {
          const entry = routeTokenOf(current, target.key);
          return entry !== undefined && entry.ver > knownVer ? { entry, outcome: 'coalesced' as const } : undefined;
        },
        (lease) => this.#obtainHolding(sid, provider, target, knownVer, forced, lease),
      );
    if (target.kind !== 'exchange') return obtain();
    // The subject token of an exchange is the login's, refreshed first when due (that refresh takes the lock itself).
    await this.#o.loginToken(sid, session);
    try {
      return await obtain();
    } catch (err) {
      if (!(err instanceof SubjectRefused)) throw err;
      // Refused before its expiry (revoked at the provider, say): renewed once, outside the lock, then exchanged again.
      const renewed = await this.#o.renewLoginToken(sid, session, err.loginVer);
      if (renewed === undefined) throw err.error;
      try {
        return await obtain();
      } catch (again) {
        throw again instanceof SubjectRefused ? again.error : again;
      }
    }
  }

  /**
   * Runs `work` holding the session's refresh lock (renewed while it runs). While another party
   * holds it, polls the token set with a short backoff: `settled` may end the wait with what that
   * party wrote; past `refreshWait`, 503.
   */
  async #holdingLock<T>(sid: string, settled: (current: StoredTokenSet) => T | undefined, work: (lease: LockLease) => Promise<T>): Promise<T> {
    const { store, config, clock } = this.#o;
    const owner = `${this.#o.instanceId}:${randomUUID()}`;
    const deadline = clock.now() + config.refreshWait;
    let pause = FIRST_POLL_MS;
    for (;;) {
      const lease = await LockLease.acquire(store, sid, owner, config.lockLease, { logger: this.#o.logger, clock });
      if (lease !== undefined) {
        this.#held.add(lease);
        try {
          return await work(lease);
        } finally {
          this.#held.delete(lease);
          await lease.release();
        }
      }
      const remaining = deadline - clock.now();
      if (remaining <= 0) throw new TokenServiceUnavailableError('Another refresh of this session is taking too long; try again shortly', { retryAfter: seconds(config.refreshWait), outcome: 'transient' });
      // Unref'd timers: a background renewal polling here does not hold the process at shutdown.
      await sleep(clock, Math.min(pause, remaining));
      pause = Math.min(pause * 2, MAX_POLL_MS);
      const current = await store.getTokens(sid);
      if (current === null) throw new ReauthenticationRequiredError(undefined, { outcome: 'no_token_set' });
      const done = settled(current);
      if (done !== undefined) return done;
    }
  }

  /**
   * Stores the tokens of a provider linked to the session (`/auth/link`) for the user `account`
   * there, replacing an earlier link of that provider: under the session's lock, a
   * compare-and-set like every other write. Resolves with the replaced link's tokens, opened (the
   * caller revokes them), if there was one of another account: revoking the same account's may
   * end its grant, which the new tokens share at providers like GitHub (one grant per app and user).
   */
  async link(sid: string, providerId: string, fresh: ProviderTokens, account: string): Promise<LinkedTokens | undefined> {
    const target = linkedTarget(providerId);
    return this.#holdingLock<LinkedTokens | undefined>(sid, () => undefined, async () => {
      const current = await this.#o.store.getTokens(sid);
      if (current === null) throw new ReauthenticationRequiredError(undefined, { outcome: 'no_token_set' });
      const entry = sealLinkedToken(this.#o.keyring, sid, target, fresh, { now: this.#o.now(), ver: current.ver + 1, forcedAt: undefined, account });
      const written = await this.#o.store.compareAndSetTokens(sid, current.ver, withRouteToken(current, target.key, entry));
      if (!written.ok) throw written.current === null ? new ReauthenticationRequiredError(undefined, { outcome: 'no_token_set' }) : new TokenServiceUnavailableError('The session changed while linking; try again shortly', { retryAfter: 1, outcome: 'transient' });
      const replaced = routeTokenOf(current, target.key);
      return replaced === undefined || replaced.account === account ? undefined : openLinkedTokens(this.#o.keyring, sid, target.key, replaced);
    });
  }

  async #obtainHolding(sid: string, provider: Provider, target: RouteTokenTarget, knownVer: number, forced: boolean, lease: LockLease): Promise<Obtained> {
    const { store, keyring } = this.#o;
    const current = await store.getTokens(sid);
    if (current === null) throw new ReauthenticationRequiredError(undefined, { outcome: 'no_token_set' });
    const existing = routeTokenOf(current, target.key);
    if (existing !== undefined && existing.ver > knownVer) return { entry: existing, outcome: 'coalesced' };
    // A DPoP session's API tokens are bound to its key like its login token (the proxy proves it on every request).
    const dpop = target.kind === 'linked' || current.dpopKey === undefined ? undefined : await this.#o.dpopKeys.forSession(sid, current.dpopKey);
    const { entry, fresh, presented } = await grantRouteToken(this.#o, { sid, provider, target, current, existing, forced, lease, dpop });
    const next = withRouteToken(current, target.key, entry);
    // A rotated refresh token of the login grant is the login grant's new one.
    if (target.kind === 'resource' && fresh.refreshToken) next.refreshToken = keyring.seal(fresh.refreshToken, sid, SEAL_FIELDS.refresh);
    // A refresh token was redeemed (the login grant's for a resource, a linked provider's own):
    // while the store may not hold its successor, nobody may refresh from the old one (one lease).
    const redeemedRefreshToken = target.kind !== 'exchange';
    const written = await store.compareAndSetTokens(sid, current.ver, next).catch(async (err: unknown) => {
      if (redeemedRefreshToken) await lease.park();
      throw err;
    });
    if (written.ok) {
      // Not confirmed by the store's replicas: a failover may bring back the redeemed refresh token.
      if (written.unconfirmed === true && redeemedRefreshToken) await lease.park();
      return { entry: { ...entry, ver: written.ver }, outcome: 'success' };
    }
    if (presented !== undefined) {
      const resolved = await resolveWriteConflict(
        { store, keyring, logger: this.#o.logger, tag: this.#o.tag },
        { sid, providerId: provider.id, presented, issued: fresh.refreshToken, current: written.current, lockLost: lease.lost },
      );
      if (resolved.outcome === 'reuse_detected') throw new RefreshTokenReuseError(undefined, { outcome: 'reuse_detected' });
    }
    if (written.current === null) throw new ReauthenticationRequiredError(undefined, { outcome: 'no_token_set' });
    const stored = routeTokenOf(written.current, target.key);
    if (stored !== undefined && stored.ver > knownVer) return { entry: stored, outcome: 'coalesced' };
    throw new TokenServiceUnavailableError('The session changed while its API token was renewed; try again shortly', { retryAfter: 1, outcome: 'transient' });
  }

  /** The session's provider, if it can issue this kind of token; else the user must log in with one that can. */
  #providerFor(session: SessionRecord, target: RouteTokenTarget): Provider {
    const providerId = target.kind === 'linked' ? target.provider : session.provider;
    const provider = this.#o.providers.get(providerId);
    if (provider === undefined) throw new Error(`provider "${providerId}" is not configured`);
    if (target.kind === 'linked') return provider;
    const able = target.kind === 'resource' ? provider.resourceIndicators === true : provider.exchangeToken !== undefined;
    if (!able) throw new ReauthenticationRequiredError('This API needs a login with a provider that issues a token for it', { outcome: 'provider_mismatch' });
    return provider;
  }

  #bearer(sid: string, target: RouteTokenTarget, entry: StoredRouteToken, outcome: RefreshOutcome): BearerToken {
    return new BearerToken({ accessToken: openRouteToken(this.#o.keyring, sid, target.key, entry), ver: entry.ver, expiresAt: entry.expiresAt, outcome });
  }
}

/** The token set with `entry` under `key`, every other field carried over; the login token keeps its version. */
function withRouteToken(current: StoredTokenSet, key: string, entry: StoredRouteToken): Omit<StoredTokenSet, 'ver'> {
  const { ver: _ver, ...fields } = current;
  return { ...fields, resources: { ...current.resources, [key]: entry }, accessVer: loginVer(current) };
}
