import type { SessionRecord } from '../store/types.ts';

/**
 * Session lifetimes. The idle timeout slides with every request (the store resets the TTL in
 * `loadSession`); the absolute expiry is fixed at login and is never later than:
 * - the configured absolute timeout;
 * - the refresh token's own lifetime, when the provider says it (`refresh_token_expires_in`):
 *   after that the session could not get a new access token anyway;
 * - the access token's lifetime, when there is no refresh token and the access token expires
 *   (e.g. Google without consent): nothing could renew it.
 */

export interface LifetimeInput {
  now: number;
  absoluteTimeoutMs: number;
  /** Seconds, from the token response. */
  refreshTokenExpiresIn?: number | undefined;
  hasRefreshToken: boolean;
  /** Seconds, from the token response. */
  accessTokenExpiresIn?: number | undefined;
}

export function absoluteExpiry(input: LifetimeInput): number {
  const limits = [input.absoluteTimeoutMs];
  if (input.hasRefreshToken && isPositive(input.refreshTokenExpiresIn)) limits.push(input.refreshTokenExpiresIn * 1000);
  if (!input.hasRefreshToken && isPositive(input.accessTokenExpiresIn)) limits.push(input.accessTokenExpiresIn * 1000);
  return input.now + Math.min(...limits);
}

/** Time to live of the session's store keys: the idle timeout, capped by the absolute expiry. */
export function sessionTtl(session: Pick<SessionRecord, 'absoluteExpiresAt'>, now: number, idleTimeoutMs: number): number {
  return Math.max(0, Math.min(idleTimeoutMs, session.absoluteExpiresAt - now));
}

/** When the session ends if it stays idle from now on. */
export function idleExpiry(session: Pick<SessionRecord, 'absoluteExpiresAt'>, now: number, idleTimeoutMs: number): number {
  return now + sessionTtl(session, now, idleTimeoutMs);
}

function isPositive(value: number | undefined): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0;
}
