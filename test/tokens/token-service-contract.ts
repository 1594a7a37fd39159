import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ReauthenticationRequiredError, RefreshTokenReuseError, TokenServiceUnavailableError } from '../../src/errors.ts';
import { createMetrics, type Metrics } from '../../src/observability/index.ts';
import type { Store } from '../../src/store/types.ts';
import { TokenService } from '../../src/tokens/token-service.ts';
import { openTokenSet } from '../../src/tokens/token-set.ts';
import type { Clock } from '../../src/clock.ts';
import type { TokenConfig } from '../../src/tokens/types.ts';
import { FakeClock } from '../support/fake-clock.ts';
import { captureLogs, manualClock, startTokenFixture, type CapturedLogs, type TokenFixture } from './fixture.ts';

/**
 * TokenService against the real demo OpenID Provider (10-minute access tokens, rotation on) and a
 * given Store. Time inside the token service is a manual clock, so "near expiry" and "expired"
 * need no sleeping, and where a test waits on the refresh's own timers (lock polling, refreshWait)
 * those run on a FakeClock; the provider and the store's lock leases keep real time.
 */

const MINUTE = 60_000;
const ACCESS_TTL_S = 600;

export function tokenServiceContract(name: string, makeStore: () => Promise<Store> | Store): void {
  describe(`TokenService with ${name}`, () => {
    let fixture: TokenFixture;
    let store: Store;
    let logs: CapturedLogs;
    const config: TokenConfig = { refreshBuffer: 5 * MINUTE, lockLease: 2_000, refreshWait: 2_000, expiryMargin: 10_000, refreshTimeout: 30_000, forcedRefreshCooldown: 30_000 };

    const service = (clock: { now: () => number }, overrides: Partial<TokenConfig> = {}, instanceId = 'replica-a', metrics?: Metrics, timers?: Clock) =>
      new TokenService({ store, providers: fixture.providers, keyring: fixture.keyring, config: { ...config, ...overrides }, now: clock.now, logger: logs.logger, instanceId, metrics, ...(timers ? { clock: timers } : {}) });

    /** Whether someone holds the session's refresh lock (probed by taking it for a moment). */
    const lockHeld = async (sid: string) => {
      if (!(await store.acquireLock(sid, 'probe', 50))) return true;
      await store.releaseLock(sid, 'probe');
      return false;
    };

    /** Every token the provider handed out in a test must stay out of the logs. */
    const expectNoTokenInLogs = (...tokens: Array<string | undefined>) => {
      const text = logs.lines.join('\n');
      for (const token of tokens) if (token !== undefined) expect(text.includes(token)).toBe(false);
    };

    beforeAll(async () => {
      fixture = await startTokenFixture({ accessTokenTtl: ACCESS_TTL_S });
      store = await makeStore();
    });

    afterAll(async () => {
      await store?.close();
      await fixture?.close();
    });

    beforeEach(() => {
      logs = captureLogs();
      fixture.op.resetStats();
      fixture.op.setTokenEndpointDelay(0);
    });

    afterEach(async () => {
      await fixture.op.start();
    });

    describe('when to refresh', () => {
      it('before the window the stored token is used and the provider sees no refresh', async () => {
        const clock = manualClock();
        const { sid, issued } = await fixture.login(store, clock.now());
        clock.advance(5 * MINUTE - 1_000);
        const bearer = await service(clock).getAccessToken(sid);
        expect(bearer.accessToken).toBe(issued.accessToken);
        expect(bearer.outcome).toBe('none');
        expect(bearer.ver).toBe(1);
        expect(fixture.op.stats.refreshGrants).toBe(0);
      });

      it('inside the window with time left, callers get the current token at once and one background refresh writes the new one', async () => {
        const clock = manualClock();
        const { sid, issued } = await fixture.login(store, clock.now());
        clock.advance(5 * MINUTE);
        fixture.op.setTokenEndpointDelay(300);
        const tokens = service(clock);
        const started = performance.now();
        const bearers = await Promise.all(Array.from({ length: 20 }, () => tokens.getAccessToken(sid)));
        expect(performance.now() - started).toBeLessThan(250);
        expect(bearers.map((b) => [b.accessToken === issued.accessToken, b.ver, b.outcome])).toEqual(Array(20).fill([true, 1, 'background']));
        await expect.poll(async () => (await store.getTokens(sid))?.ver, { timeout: 5_000 }).toBe(2);
        expect(fixture.op.stats.refreshGrants).toBe(1);
        await tokens.idle();
        const next = await tokens.getAccessToken(sid);
        expect(next.outcome).toBe('none');
        expect(next.accessToken).not.toBe(issued.accessToken);
        expect((await fixture.op.introspect(next.accessToken)).active).toBe(true);
      });

      it('within the expiry margin concurrent callers wait for exactly one refresh, and all get the new, active token', async () => {
        const clock = manualClock();
        const { sid, issued } = await fixture.login(store, clock.now());
        clock.advance(10 * MINUTE - 5_000);
        const tokens = service(clock);
        const bearers = await Promise.all(Array.from({ length: 20 }, () => tokens.getAccessToken(sid)));
        expect(fixture.op.stats.refreshGrants).toBe(1);
        expect(new Set(bearers.map((b) => b.accessToken)).size).toBe(1);
        expect(bearers[0]!.accessToken).not.toBe(issued.accessToken);
        expect(bearers.map((b) => b.ver)).toEqual(Array(20).fill(2));
        expect(bearers.filter((b) => b.outcome === 'success')).toHaveLength(1);
        expect((await fixture.op.introspect(bearers[0]!.accessToken)).active).toBe(true);
        // Rotation: the stored refresh token is the new one.
        const stored = openTokenSet(fixture.keyring, sid, (await store.getTokens(sid))!);
        expect(stored.refreshToken).toBeDefined();
        expect(stored.refreshToken).not.toBe(issued.refreshToken);
        expect(stored.obtainedAt).toBe(clock.now());
        expect(stored.expiresAt).toBe(clock.now() + ACCESS_TTL_S * 1000);
        expectNoTokenInLogs(issued.accessToken, issued.refreshToken, bearers[0]!.accessToken, stored.refreshToken);
      });

      it('two replicas sharing the store refresh once between them, with no reuse at the provider', async () => {
        const clock = manualClock();
        const { sid } = await fixture.login(store, clock.now());
        clock.advance(10 * MINUTE - 5_000);
        fixture.op.setTokenEndpointDelay(150);
        const metrics = createMetrics({ defaultMetrics: false });
        const a = service(clock, {}, 'replica-a', metrics);
        const b = service(clock, {}, 'replica-b', metrics);
        const bearers = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 === 0 ? a : b).getAccessToken(sid)));
        expect(fixture.op.stats.refreshGrants).toBe(1);
        expect(fixture.op.stats.refreshReuse).toBe(0);
        expect(new Set(bearers.map((x) => x.accessToken)).size).toBe(1);
        expect(new Set(bearers.map((x) => x.outcome))).toEqual(new Set(['success', 'coalesced']));
        // One flight per replica: one refreshed, the other waited on the store for its result.
        const counted = Object.fromEntries((await metrics.refreshes.get()).values.map((v) => [v.labels.outcome, v.value]));
        expect(counted).toEqual({ success: 1, coalesced: 1 });
        expect((await metrics.lockWait.get()).values.find((v) => v.metricName?.endsWith('_count'))?.value).toBe(2);
      });

      it('a token without an expiry is never refreshed', async () => {
        const clock = manualClock();
        const { sid, issued } = await fixture.login(store, clock.now());
        const stored = (await store.getTokens(sid))!;
        const { expiresAt: _dropped, ver: _ver, ...noExpiry } = stored;
        expect((await store.compareAndSetTokens(sid, 1, noExpiry)).ok).toBe(true);
        clock.advance(365 * 24 * 60 * MINUTE);
        const bearer = await service(clock).getAccessToken(sid);
        expect(bearer.accessToken).toBe(issued.accessToken);
        expect(bearer.outcome).toBe('none');
        expect(fixture.op.stats.refreshGrants).toBe(0);
      });
    });

    describe('stale readers', () => {
      it('a caller holding a token set read before a refresh does not refresh again or bring back the old refresh token', async () => {
        const clock = manualClock();
        const { sid } = await fixture.login(store, clock.now());
        const before = (await store.getTokens(sid))!;
        clock.advance(11 * MINUTE);
        const tokens = service(clock);
        const fresh = await tokens.getAccessToken(sid);
        const afterFirst = (await store.getTokens(sid))!;
        const late = await tokens.getAccessToken(sid, { tokens: before });
        expect(late.outcome).toBe('coalesced');
        expect(late.accessToken).toBe(fresh.accessToken);
        expect(fixture.op.stats.refreshGrants).toBe(1);
        expect(await store.getTokens(sid)).toEqual(afterFirst);
      });
    });

    describe('forceRefresh (upstream 401)', () => {
      it('uses the newer token already in the store without refreshing', async () => {
        const clock = manualClock();
        const { sid } = await fixture.login(store, clock.now());
        clock.advance(11 * MINUTE);
        const tokens = service(clock);
        const refreshed = await tokens.getAccessToken(sid);
        const forced = (await tokens.forceRefresh(sid, 1))!;
        expect(forced.accessToken).toBe(refreshed.accessToken);
        expect(forced.outcome).toBe('coalesced');
        expect(fixture.op.stats.refreshGrants).toBe(1);
      });

      it('refreshes a token that is not due when the store has nothing newer', async () => {
        const clock = manualClock();
        const { sid, issued } = await fixture.login(store, clock.now());
        await fixture.op.revokeAccessToken(issued.accessToken);
        const forced = (await service(clock).forceRefresh(sid, 1))!;
        expect(forced.ver).toBe(2);
        expect(forced.outcome).toBe('success');
        expect((await fixture.op.introspect(forced.accessToken)).active).toBe(true);
        expect(fixture.op.stats.refreshGrants).toBe(1);
      });

      it('within the cooldown after a forced refresh, a 401 on the current token forces none; after it, one more', async () => {
        const clock = manualClock();
        const { sid } = await fixture.login(store, clock.now());
        const tokens = service(clock, { forcedRefreshCooldown: 30_000 });
        const first = (await tokens.forceRefresh(sid, 1))!;
        expect(first.ver).toBe(2);
        for (let i = 0; i < 5; i++) expect(await tokens.forceRefresh(sid, 2)).toBeUndefined();
        // A 401 on an older token still gets the newer one from the store.
        expect((await tokens.forceRefresh(sid, 1))?.ver).toBe(2);
        expect(fixture.op.stats.refreshGrants).toBe(1);
        // Another replica sees the same stamp in the store.
        expect(await service(clock, { forcedRefreshCooldown: 30_000 }, 'replica-b').forceRefresh(sid, 2)).toBeUndefined();
        clock.advance(30_001);
        expect((await tokens.forceRefresh(sid, 2))?.ver).toBe(3);
        expect(fixture.op.stats.refreshGrants).toBe(2);
      });
    });

    describe('failure classes', () => {
      it('a revoked grant ends the session: 401 REAUTHENTICATION_REQUIRED, session and tokens gone', async () => {
        const clock = manualClock();
        const { sid, issued } = await fixture.login(store, clock.now());
        expect(await fixture.op.revokeGrantOf(issued.refreshToken!)).toBe(true);
        clock.advance(11 * MINUTE);
        const outcome = await service(clock).getAccessToken(sid).catch((err: unknown) => err);
        expect(outcome).toBeInstanceOf(ReauthenticationRequiredError);
        expect(await store.getSession(sid)).toBeNull();
        expect(await store.getTokens(sid)).toBeNull();
        expect(logs.records().filter((record) => record.event === 'session_destroyed_invalid_grant')).toHaveLength(1);
        expectNoTokenInLogs(issued.accessToken, issued.refreshToken, sid);
      });

      it('provider unreachable: a still-valid token is used, an expired one is 503 with Retry-After, the session stays, and it recovers', async () => {
        const clock = manualClock();
        const { sid, issued } = await fixture.login(store, clock.now());
        await fixture.op.stop();
        clock.advance(10 * MINUTE - 5_000);
        const tokens = service(clock);
        const fallback = await tokens.getAccessToken(sid);
        expect(fallback.accessToken).toBe(issued.accessToken);
        expect(fallback.outcome).toBe('transient');

        clock.advance(5 * MINUTE);
        const expired = await tokens.getAccessToken(sid).catch((err: unknown) => err);
        expect(expired).toBeInstanceOf(TokenServiceUnavailableError);
        expect((expired as TokenServiceUnavailableError).retryAfter).toBeGreaterThan(0);
        expect(await store.getSession(sid)).not.toBeNull();
        expect((await store.getTokens(sid))?.ver).toBe(1);

        await fixture.op.start();
        const recovered = await tokens.getAccessToken(sid);
        expect(recovered.outcome).toBe('success');
        expect((await fixture.op.introspect(recovered.accessToken)).active).toBe(true);
      });

      it('provider 5xx and 429 are transient too', async () => {
        const clock = manualClock();
        const { sid } = await fixture.login(store, clock.now());
        clock.advance(11 * MINUTE);
        const tokens = service(clock);
        for (const status of [503, 429]) {
          fixture.op.failTokenRequests(1, status);
          await expect(tokens.getAccessToken(sid)).rejects.toBeInstanceOf(TokenServiceUnavailableError);
        }
        expect(await store.getSession(sid)).not.toBeNull();
        expect((await tokens.getAccessToken(sid)).outcome).toBe('success');
      });

      it('after a transient failure every replica backs off for the provider’s Retry-After before the next attempt', async () => {
        const clock = manualClock();
        const { sid } = await fixture.login(store, clock.now());
        clock.advance(11 * MINUTE);
        fixture.op.failTokenRequests(1, 503);
        const first = await service(clock).getAccessToken(sid).catch((err: unknown) => err);
        expect(first).toBeInstanceOf(TokenServiceUnavailableError);
        expect((first as TokenServiceUnavailableError).retryAfter).toBe(1);
        // The provider would answer now, but within the backoff nobody asks it: replica-b polls the
        // parked lock for its whole refreshWait (on its own clock) and gives up.
        const timers = new FakeClock();
        const waiting = service(clock, { refreshWait: 200 }, 'replica-b', undefined, timers);
        const second = await timers.run(waiting.getAccessToken(sid).catch((err: unknown) => err));
        expect(second).toBeInstanceOf(TokenServiceUnavailableError);
        expect(timers.now()).toBe(200);
        await timers.run(waiting.idle());
        expect(fixture.op.stats.refreshGrants).toBe(0);
        const third = await service(clock, { refreshWait: 3_000 }, 'replica-b').getAccessToken(sid);
        expect(third.outcome).toBe('success');
        expect(fixture.op.stats.refreshGrants).toBe(1);
      });

      it('a refresh token this replica never wrote, met at compare-and-set, is a reuse incident: tokens cleared, security event, 401', async () => {
        const clock = manualClock();
        const { sid } = await fixture.login(store, clock.now());
        clock.advance(11 * MINUTE);
        fixture.op.setTokenEndpointDelay(300);
        const inFlight = service(clock).getAccessToken(sid).catch((err: unknown) => err);
        // Once the refresh holds the lock it has read the token set and sent the refresh token.
        await expect.poll(() => lockHeld(sid), { timeout: 5_000, interval: 5 }).toBe(true);
        // A writer that ignores the lock (a stolen refresh token redeemed elsewhere) gets in first.
        const stolen = { ...(await store.getTokens(sid))! };
        const { ver: _ver, ...rest } = stolen;
        rest.refreshToken = fixture.keyring.seal('refresh-token-from-elsewhere', sid, 'refresh');
        expect((await store.compareAndSetTokens(sid, 1, rest)).ok).toBe(true);

        const outcome = await inFlight;
        expect(outcome).toBeInstanceOf(RefreshTokenReuseError);
        expect((outcome as RefreshTokenReuseError).code).toBe('REAUTHENTICATION_REQUIRED');
        expect(await store.getTokens(sid)).toBeNull();
        const events = logs.records().filter((record) => record.event === 'refresh_token_reuse');
        expect(events).toHaveLength(1);
        expect(events[0]).toMatchObject({ security: true, provider: 'op', storedVer: 2 });
        expect(events[0]!.session).toMatch(/^[0-9a-f]{12}$/);
        expectNoTokenInLogs('refresh-token-from-elsewhere', sid);
      });

      it('another replica holding the lock too long: wait at most refreshWait, then the still-valid token; expired → 503', async () => {
        const clock = manualClock();
        const { sid, issued } = await fixture.login(store, clock.now());
        expect(await store.acquireLock(sid, 'stuck-replica', 5_000)).toBe(true);
        clock.advance(10 * MINUTE - 5_000);
        const timers = new FakeClock();
        const tokens = service(clock, { refreshWait: 300 }, 'replica-a', undefined, timers);
        const bearer = await timers.run(tokens.getAccessToken(sid));
        expect(timers.now()).toBe(300);
        expect(bearer.accessToken).toBe(issued.accessToken);
        expect(bearer.outcome).toBe('transient');
        // The background refresh may poll on past the answer (time moves while it waits on Redis):
        // each request's own wait is what is bounded.
        await timers.run(tokens.idle());
        clock.advance(5 * MINUTE);
        const expiredAskedAt = timers.now();
        await expect(timers.run(tokens.getAccessToken(sid))).rejects.toBeInstanceOf(TokenServiceUnavailableError);
        expect(timers.now() - expiredAskedAt).toBe(300);
        await timers.run(tokens.idle());
        expect(fixture.op.stats.refreshGrants).toBe(0);
        await store.releaseLock(sid, 'stuck-replica');
      });

      it('a sent refresh that gets no answer within refreshTimeout is 503 and parks the lock: the refresh token is not sent again within the lease', async () => {
        const clock = manualClock();
        const { sid } = await fixture.login(store, clock.now());
        clock.advance(11 * MINUTE);
        fixture.op.setTokenEndpointDelay(1_000);
        const tokens = service(clock, { refreshTimeout: 300, refreshWait: 2_000, lockLease: 2_000 });
        const first = await tokens.getAccessToken(sid).catch((err: unknown) => err);
        expect(first).toBeInstanceOf(TokenServiceUnavailableError);
        expect((first as TokenServiceUnavailableError).retryAfter).toBe(2);
        expect(logs.records().filter((record) => record.event === 'refresh_outcome_unknown')).toHaveLength(1);
        // The lock is parked: nobody (this replica or another) may take it before the lease ends.
        expect(await store.acquireLock(sid, 'other-replica', 1_000)).toBe(false);
        const second = await service(clock, { refreshWait: 300 }, 'replica-b').getAccessToken(sid).catch((err: unknown) => err);
        expect(second).toBeInstanceOf(TokenServiceUnavailableError);
        // Until the parked lease lapses, the provider got that one request and nothing else.
        await expect.poll(async () => store.acquireLock(sid, 'after-the-lease', 1_000), { timeout: 5_000, interval: 100 }).toBe(true);
        await store.releaseLock(sid, 'after-the-lease');
        expect(fixture.op.stats.refreshGrants + fixture.op.stats.refreshErrors).toBeLessThanOrEqual(1);
        expect(fixture.op.stats.refreshReuse).toBe(0);
        expect(await store.getSession(sid)).not.toBeNull();
      });

      it('a token set gone by the time the refresh reads it is no_token_set (not invalid_grant): 401, counted, nothing sent', async () => {
        const clock = manualClock();
        const { sid, session } = await fixture.login(store, clock.now());
        const loaded = await store.getTokens(sid);
        expect(await store.deleteTokens(sid)).toBe(true);
        clock.advance(11 * MINUTE);
        const metrics = createMetrics({ defaultMetrics: false });
        const failure = await service(clock, {}, 'replica-a', metrics).getAccessToken(sid, { session, tokens: loaded }).catch((err: unknown) => err);
        expect(failure).toBeInstanceOf(ReauthenticationRequiredError);
        expect((failure as ReauthenticationRequiredError).outcome).toBe('no_token_set');
        const { body } = await metrics.render();
        expect(body).toContain('tokengate_refresh_total{outcome="no_token_set"} 1');
        expect(body).not.toContain('outcome="invalid_grant"');
        expect(fixture.op.stats.refreshGrants + fixture.op.stats.refreshErrors).toBe(0);
      });

      it('a lock freed without a new token set is taken over and the refresh happens', async () => {
        const clock = manualClock();
        const { sid } = await fixture.login(store, clock.now());
        expect(await store.acquireLock(sid, 'crashed-replica', 200)).toBe(true);
        clock.advance(11 * MINUTE);
        const bearer = await service(clock).getAccessToken(sid);
        expect(bearer.outcome).toBe('success');
        expect(fixture.op.stats.refreshGrants).toBe(1);
      });
    });
  });
}
