import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Keyring } from '../crypto/keyring.ts';
import type { DpopKey } from '../dpop/key.ts';
import type { DpopKeys } from '../dpop/sealed-key.ts';
import { DecryptionFailedError, ReauthenticationRequiredError, RefreshTokenReuseError, TokenServiceUnavailableError } from '../errors.ts';
import type { Provider } from '../providers/types.ts';
import type { Store } from '../store/types.ts';
import { type Clock, sleep } from '../clock.ts';
import { endCorruptSession } from './corrupt-token-set.ts';
import { LockLease, releaseOrPark } from './lock-lease.ts';
import { refreshOutcomeOf } from './outcome.ts';
import { callWithLease, seconds } from './provider-call.ts';
import { resolveWriteConflict } from './write-conflict.ts';
import { type OpenTokenSet, loginVer, openRefreshToken, openTokenSet, sealRefreshed } from './token-set.ts';
import type { RefreshOutcome, TokenConfig, TokenMetrics } from './types.ts';

/**
 * The cross-replica half of a refresh (DESIGN.md step 4). One call per session per process at a
 * time (TokenService puts a SingleFlight in front):
 *
 * 1. take the store lock (lease `lockLease`, renewed while the provider call runs);
 * 2. re-read the token set: if the login token's version (`loginVer`) moved past what the
 *    caller saw, use it, do not refresh;
 * 3. call the provider's token endpoint with the refresh token;
 * 4. write with compare-and-set on the `ver` read in 2 (rotation: keep the old refresh token
 *    when no new one arrives).
 *
 * When another replica holds the lock, poll the token set with a short backoff until its `ver`
 * moves (use the winner's tokens), the lock frees (take it), or `refreshWait` runs out (503).
 *
 * A refresh token is never sent while an earlier send of it has an unknown outcome (DESIGN.md
 * step 4): the provider call is not abandoned after the provider timeout but waits for the
 * answer up to `refreshTimeout`, holding (renewing) the lock all along; callers stop waiting
 * long before that (TokenService). When the call still ends without an answer after it was sent
 * (or is aborted at shutdown), the lock is parked: it stays for one more lease and lapses by
 * itself, so no replica sends the same refresh token again before then.
 */

const FIRST_POLL_MS = 10;
const MAX_POLL_MS = 100;

export interface RefreshResult {
  tokens: OpenTokenSet;
  outcome: Extract<RefreshOutcome, 'success' | 'coalesced'>;
}

export interface RefresherOptions {
  store: Store;
  providers: ReadonlyMap<string, Provider>;
  keyring: Keyring;
  config: TokenConfig;
  /** Epoch ms, for the dates in the token set. */
  now: () => number;
  /** Deadlines, poll pauses and lease renewals. */
  clock: Clock;
  instanceId: string;
  logger: Logger | undefined;
  metrics: TokenMetrics | undefined;
  /** Short hash of a sid for log lines. */
  tag: (sid: string) => string;
  /** The sessions' DPoP keys: a refresh of a DPoP session carries a proof. */
  dpopKeys: DpopKeys;
}

export class Refresher {
  readonly #o: RefresherOptions;
  /** Refresh locks this process holds right now. */
  readonly #held = new Set<LockLease>();

  constructor(options: RefresherOptions) {
    this.#o = options;
  }

  /**
   * Refreshes the session's token set unless its `ver` has already moved past `knownVer`.
   * `forced`: an upstream 401 asked for it (stamps `forcedAt`). Counts one
   * `refresh_total{outcome}` per call, whatever happens. A stored token set that cannot be opened
   * ends the session (see corrupt-token-set.ts) and is 401.
   */
  async refresh(sid: string, providerId: string, knownVer: number, options: { forced?: boolean } = {}): Promise<RefreshResult> {
    try {
      const result = await this.#refreshOrWait(sid, providerId, knownVer, options.forced ?? false);
      this.#o.metrics?.countRefresh?.(result.outcome);
      return result;
    } catch (err) {
      this.#o.metrics?.countRefresh?.(refreshOutcomeOf(err));
      if (err instanceof DecryptionFailedError) throw await endCorruptSession(this.#o, sid, providerId);
      throw err;
    }
  }

  async #refreshOrWait(sid: string, providerId: string, knownVer: number, forced: boolean): Promise<RefreshResult> {
    const { store, config, keyring } = this.#o;
    const owner = `${this.#o.instanceId}:${randomUUID()}`;
    const { clock } = this.#o;
    const started = clock.now();
    const deadline = started + config.refreshWait;
    let pause = FIRST_POLL_MS;
    for (;;) {
      const lease = await LockLease.acquire(store, sid, owner, config.lockLease, { logger: this.#o.logger, clock });
      if (lease !== undefined) {
        this.#lockWaited(started);
        this.#held.add(lease);
        try {
          return await this.#refreshHolding(sid, providerId, knownVer, lease, forced);
        } finally {
          this.#held.delete(lease);
          await lease.release();
        }
      }
      const remaining = deadline - clock.now();
      if (remaining <= 0) {
        this.#lockWaited(started);
        throw new TokenServiceUnavailableError('Another refresh of this session is taking too long; try again shortly', { retryAfter: seconds(config.refreshWait), outcome: 'transient' });
      }
      // Unref'd timers: a background refresh polling here does not hold the process at shutdown.
      await sleep(clock, Math.min(pause, remaining));
      pause = Math.min(pause * 2, MAX_POLL_MS);
      const current = await store.getTokens(sid);
      if (current === null) throw new ReauthenticationRequiredError(undefined, { outcome: 'no_token_set' });
      if (loginVer(current) > knownVer) {
        this.#lockWaited(started);
        return { tokens: openTokenSet(keyring, sid, current), outcome: 'coalesced' };
      }
    }
  }

  async #refreshHolding(sid: string, providerId: string, knownVer: number, lease: LockLease, forced: boolean): Promise<RefreshResult> {
    const { store, keyring } = this.#o;
    const current = await store.getTokens(sid);
    if (current === null) throw new ReauthenticationRequiredError(undefined, { outcome: 'no_token_set' });
    if (loginVer(current) !== knownVer) return { tokens: openTokenSet(keyring, sid, current), outcome: 'coalesced' };
    const presented = openRefreshToken(keyring, sid, current);
    if (presented === undefined) throw new ReauthenticationRequiredError(undefined, { outcome: 'no_refresh_token' });

    const dpop = current.dpopKey === undefined ? undefined : await this.#o.dpopKeys.forSession(sid, current.dpopKey);
    const fresh = await this.#callProvider(sid, providerId, presented, lease, dpop);
    const next = sealRefreshed(keyring, sid, current, fresh, this.#o.now(), { forced });
    const written = await store.compareAndSetTokens(sid, current.ver, next).catch(async (err: unknown) => {
      // The provider redeemed the refresh token; whether the store has the new one is unknown
      // (the write may have landed). Nobody may refresh from the old one for a lease.
      await lease.park();
      throw err;
    });
    if (written.ok) {
      // Not confirmed by the store's replicas: a failover may bring back the refresh token just
      // redeemed. The lock stays for one lease, so no replica refreshes from it meanwhile.
      if (written.unconfirmed === true) await lease.park();
      return { tokens: openTokenSet(keyring, sid, { ...next, ver: written.ver }), outcome: 'success' };
    }
    const resolved = await resolveWriteConflict(
      { store, keyring, logger: this.#o.logger, tag: this.#o.tag },
      { sid, providerId, presented, issued: fresh.refreshToken, current: written.current, lockLost: lease.lost },
    );
    if (resolved.outcome === 'reuse_detected') throw new RefreshTokenReuseError(undefined, { outcome: 'reuse_detected' });
    return { tokens: resolved.tokens, outcome: 'coalesced' };
  }

  async #callProvider(sid: string, providerId: string, refreshToken: string, lease: LockLease, dpop: DpopKey | undefined) {
    const provider = this.#o.providers.get(providerId);
    if (provider === undefined) throw new Error(`session provider "${providerId}" is not configured`);
    const answerTimeoutMs = this.#o.config.refreshTimeout;
    return callWithLease(this.#o, { sid, providerId, grantOf: true }, lease, (signal) => provider.refresh(refreshToken, { answerTimeoutMs, signal, dpop }));
  }

  /**
   * Shutdown: releases every refresh lock this process still holds (their refreshes ran past the
   * grace period), so another replica can refresh those sessions without waiting out the lease,
   * except those whose provider call was under way: that call is aborted and its lock parked.
   * Resolves with how many locks were released. Never throws.
   */
  async releaseHeldLocks(): Promise<number> {
    const leases = [...this.#held];
    this.#held.clear();
    // A provider call already on its way may still be redeemed by the provider: abort it and
    // park its lock (one more lease) instead of freeing it for another replica to send the same
    // refresh token at once.
    const { released, parked } = await releaseOrPark(leases);
    if (parked > 0) this.#o.logger?.warn({ event: 'refresh_lock_parked', locks: parked }, 'refresh calls cut off at shutdown: their locks lapse after one lease');
    return released;
  }

  #lockWaited(started: number): void {
    this.#o.metrics?.observeLockWait?.((this.#o.clock.now() - started) / 1000);
  }
}
