import type { Logger } from 'pino';
import { ProviderError, ReauthenticationRequiredError, TokenServiceUnavailableError } from '../errors.ts';
import { securityEvent } from '../observability/index.ts';
import type { Store } from '../store/types.ts';
import type { LockLease } from './lock-lease.ts';
import type { TokenConfig } from './types.ts';

/**
 * One token-endpoint call made while holding a session's refresh lock (a refresh, a resource
 * token, a token exchange), and what its failures mean (DESIGN.md steps 4 and 5):
 * - no answer after the request was sent: the lock is parked for one lease (the provider may
 *   have redeemed a single-use refresh token), 503 with Retry-After;
 * - the grant is gone (`invalid_grant`) on a refresh-token grant: the session is destroyed, 401;
 * - `invalid_grant` on a linked provider's own grant: the caller drops the link, so nothing asks
 *   again and there is no backoff (the session's lock is released at once); 503 with the
 *   provider's error as its cause;
 * - anything else (transient, or a provider-side misconfiguration): the session stays, the lock
 *   is parked for the backoff (the provider's Retry-After, 1 s without one, at most one lease),
 *   503 with Retry-After.
 */

export interface ProviderCallDeps {
  store: Store;
  config: TokenConfig;
  logger: Logger | undefined;
  /** Short hash of a sid for log lines. */
  tag: (sid: string) => string;
}

export interface ProviderCallFacts {
  sid: string;
  providerId: string;
  /** `invalid_grant` means the login grant is gone (refresh-token grants; not a token exchange). */
  grantOf: boolean;
  /** A linked provider's grant: its `invalid_grant` drops the link (see above). */
  linked?: boolean;
}

export async function callWithLease<T>(deps: ProviderCallDeps, facts: ProviderCallFacts, lease: LockLease, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const { sid, providerId } = facts;
  try {
    return await lease.runCall(call);
  } catch (err) {
    if (!(err instanceof ProviderError)) throw err;
    if (err.outcomeUnknown) {
      // The provider may have redeemed this refresh token without us seeing the answer. Sending
      // it again now could be a reuse the provider punishes by revoking the grant.
      await lease.park();
      deps.logger?.warn({ event: 'refresh_outcome_unknown', provider: providerId, session: deps.tag(sid) }, 'a sent refresh got no answer; the refresh lock stays until its lease lapses');
      throw new TokenServiceUnavailableError(undefined, { cause: err, retryAfter: seconds(deps.config.lockLease), outcome: 'transient' });
    }
    if (err.grantRevoked && facts.grantOf) {
      await deps.store.destroySession(sid);
      if (deps.logger) securityEvent(deps.logger, 'session_destroyed_invalid_grant', { provider: providerId, session: deps.tag(sid), oauthError: err.oauthError });
      throw new ReauthenticationRequiredError(undefined, { cause: err, outcome: 'invalid_grant' });
    }
    if (err.grantRevoked && facts.linked) {
      deps.logger?.warn({ event: 'refresh_failed', provider: providerId, session: deps.tag(sid), transient: false, httpStatus: err.httpStatus, oauthError: err.oauthError }, 'a linked provider ended its grant');
      throw new TokenServiceUnavailableError(undefined, { cause: err, retryAfter: 1, outcome: 'transient' });
    }
    // Transient (network, timeout, 5xx, 429) or a provider-side misconfiguration: the grant may
    // still be good, so the session stays (invariant 5). Back off across replicas: the lock stays
    // for the provider's Retry-After (1 s without one, at most one lease), so a busy session does
    // not send one refresh per request to a failing provider.
    const level = err.transient ? 'warn' : 'error';
    deps.logger?.[level]({ event: 'refresh_failed', provider: providerId, session: deps.tag(sid), transient: err.transient, httpStatus: err.httpStatus, oauthError: err.oauthError }, 'token refresh failed');
    const backoffMs = Math.min((err.retryAfter ?? 1) * 1000, deps.config.lockLease);
    await lease.park(backoffMs);
    throw new TokenServiceUnavailableError(undefined, { cause: err, retryAfter: seconds(backoffMs), outcome: 'transient' });
  }
}

/** Whole seconds for Retry-After, at least 1. */
export function seconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
